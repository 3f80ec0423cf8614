/**
 * zstd (attributes codec 4), level 3 (Kafka's default): the reference C library compiled to
 * WebAssembly (the build shipped by @bokuweb/zstd-wasm, 246 KiB), loaded only when a zstd batch is
 * produced or read; batches of NATIVE_MIN_BYTES and more are compressed by the runtime's own
 * library where it has one (node:zlib in Node ≥ 22.15, Bun and Deno; zstd-node.ts). Why not an
 * AssemblyScript zstd: a conformant zstd encoder (FSE/Huffman entropy stages, repeat offsets) is
 * weeks of work to reach the reference's ratio; the reference build gives the ratio and speed users
 * expect from zstd and decodes every valid frame.
 */
import { loadZstd } from "../../bindings/compression.ts";
import type { CompressionCodec } from "./codec.ts";
import { nativeZstd } from "./native.ts";

/**
 * node:zlib sets up a zstd context per call, which the WASM build keeps: measured on telemetry in
 * Node 22, native compresses 1 MiB ~1.6 × as fast but 256 KiB only ~0.9 × and 64 KiB ~0.3 ×.
 * Decompression stays in WASM: node:zlib's was slower in Bun and Deno, and it answers a cut frame
 * with the bytes decoded so far instead of an error.
 */
export const NATIVE_MIN_BYTES = 512 * 1024;

/** Loads the zstd implementation (once) and returns the codec; its methods are synchronous. */
export async function loadZstdCodec(level = 3): Promise<CompressionCodec> {
  const [wasm, native] = await Promise.all([loadZstd(), nativeZstd()]);
  return {
    name: "zstd",
    attribute: 4,
    ...(native ? { native: true } : {}),
    compress: native
      ? (data, headroom = 0) => (data.length >= NATIVE_MIN_BYTES ? native.compress(data, level, headroom) : wasm.compress(data, level, headroom))
      : (data, headroom) => wasm.compress(data, level, headroom),
    decompress: (data, maxOutputBytes) => wasm.decompress(data, maxOutputBytes),
  };
}
