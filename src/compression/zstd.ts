/**
 * zstd (attributes codec 4): the reference C library compiled to WebAssembly (the build shipped by
 * @bokuweb/zstd-wasm, 246 KiB), loaded only when a zstd batch is produced or read. Level 3, Kafka's
 * default. Why not an AssemblyScript zstd: a conformant zstd encoder (FSE/Huffman entropy stages,
 * repeat offsets) is weeks of work to reach the reference's ratio; the reference build gives the
 * ratio and speed users expect from zstd and decodes every valid frame.
 */
import { loadZstd } from "../../bindings/compression.ts";
import type { CompressionCodec } from "./codec.ts";

/** Loads the zstd module (once) and returns the codec; its methods are synchronous. */
export async function loadZstdCodec(level = 3): Promise<CompressionCodec> {
  const wasm = await loadZstd();
  return {
    name: "zstd",
    attribute: 4,
    compress: (data, headroom) => wasm.compress(data, level, headroom),
    decompress: (data, maxOutputBytes) => wasm.decompress(data, maxOutputBytes),
  };
}
