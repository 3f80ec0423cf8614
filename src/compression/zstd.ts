/**
 * zstd (attributes codec 4), level 3 (Kafka's default): the runtime's own library where it has one
 * (node:zlib in Node ≥ 22.15, Bun and Deno; zstd-node.ts, registered by their entries), else the
 * reference C library compiled to WebAssembly (the build shipped by @bokuweb/zstd-wasm, 246 KiB),
 * loaded only when a zstd batch is produced or read. Why not an AssemblyScript zstd: a conformant
 * zstd encoder (FSE/Huffman entropy stages, repeat offsets) is weeks of work to reach the
 * reference's ratio; the reference build gives the ratio and speed users expect from zstd and
 * decodes every valid frame.
 */
import { loadZstd } from "../../bindings/compression.ts";
import type { CompressionCodec } from "./codec.ts";
import { nativeZstd } from "./native.ts";

/** Loads the zstd implementation (once) and returns the codec; its methods are synchronous. */
export async function loadZstdCodec(level = 3): Promise<CompressionCodec> {
  const native = await nativeZstd();
  if (native) {
    return {
      name: "zstd",
      attribute: 4,
      native: true,
      compress: (data, headroom = 0) => native.compress(data, level, headroom),
      decompress: (data, maxOutputBytes) => native.decompress(data, maxOutputBytes),
    };
  }
  const wasm = await loadZstd();
  return {
    name: "zstd",
    attribute: 4,
    compress: (data, headroom) => wasm.compress(data, level, headroom),
    decompress: (data, maxOutputBytes) => wasm.decompress(data, maxOutputBytes),
  };
}
