/** lz4 (attributes codec 3) in WebAssembly: LZ4 frames with independent 256 KiB blocks. */
import { loadLz4 } from "../../bindings/compression.ts";
import type { CompressionCodec } from "./codec.ts";

/** Loads the lz4 module (once) and returns the codec; its methods are synchronous. */
export async function loadLz4Codec(): Promise<CompressionCodec> {
  const wasm = await loadLz4();
  return {
    name: "lz4",
    attribute: 3,
    compress: (data, headroom) => wasm.compress(data, { headroom }),
    decompress: (data, maxOutputBytes) => wasm.decompress(data, maxOutputBytes),
  };
}
