/** snappy (attributes codec 2) in WebAssembly; writes xerial framing, reads xerial and raw blocks. */
import { loadSnappy } from "../../bindings/compression.ts";
import type { CompressionCodec } from "./codec.ts";

/** Loads the snappy module (once) and returns the codec; its methods are synchronous. */
export async function loadSnappyCodec(): Promise<CompressionCodec> {
  const wasm = await loadSnappy();
  return {
    name: "snappy",
    attribute: 2,
    compress: (data, headroom) => wasm.compress(data, { headroom }),
    decompress: (data, maxOutputBytes) => wasm.decompress(data, maxOutputBytes),
  };
}
