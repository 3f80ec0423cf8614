/**
 * zstd compression through node:zlib, which links the reference C library natively in Node ≥ 22.15
 * (and 23.8), Bun and Deno. Registered by those runtimes' entries; where node:zlib has no zstd
 * (Node 20) the WebAssembly build does everything. zstd.ts uses it for large batches only.
 */
import type { NativeZstd } from "./native.ts";

interface ZlibZstd {
  zstdCompressSync(data: Uint8Array, options: object): Uint8Array;
  constants: Record<string, number>;
}

/** ZSTD_compressBound: the most a frame of `n` bytes can take, so compression fills one output chunk. */
const bound = (n: number) => n + (n >>> 8) + (n < 131072 ? (131072 - n) >>> 11 : 0);

/** The runtime's zstd compressor through node:zlib, or null where it has none. */
export async function nodeZstd(): Promise<NativeZstd | null> {
  const z = await import("node:zlib" as string).catch(() => null) as ZlibZstd | null;
  if (typeof z?.zstdCompressSync !== "function") return null;
  const levelParam = z.constants.ZSTD_c_compressionLevel!;
  return {
    compress(data, level, headroom) {
      // The content size goes in the frame header, as ZSTD_compress (the WebAssembly path) writes it;
      // without it zlib also sizes the context for an unknown input, ~4 × slower per call.
      const out = z.zstdCompressSync(data, { params: { [levelParam]: level }, pledgedSrcSize: data.length, chunkSize: Math.max(64, bound(data.length) + 64) });
      // A copy of our own: zlib may hand back a view of a pooled buffer, which callers transfer.
      const r = new Uint8Array(headroom + out.length);
      r.set(out, headroom);
      return r;
    },
  };
}
