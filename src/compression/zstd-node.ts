/**
 * zstd through node:zlib, which links the reference C library natively in Node ≥ 22.15 (and 23.8),
 * Bun and Deno: several times the speed of the WebAssembly build, off the V8 heap. Registered by
 * those runtimes' entries; where node:zlib has no zstd (Node 20) the WebAssembly build is used.
 */
import { ClientError } from "../errors.ts";
import type { NativeZstd } from "./native.ts";

interface ZlibZstd {
  zstdCompressSync(data: Uint8Array, options: object): Uint8Array;
  zstdDecompressSync(data: Uint8Array, options: object): Uint8Array;
  constants: Record<string, number>;
}

/** ZSTD_compressBound: the most a frame of `n` bytes can take, so compression fills one output chunk. */
const bound = (n: number) => n + (n >>> 8) + (n < 131072 ? (131072 - n) >>> 11 : 0);

const exceeds = (max: number) => new ClientError("COMPRESSION_ERROR", `Cannot decompress zstd data: the output would exceed maxOutputBytes ${max}`);
const malformed = (why: string) => new ClientError("COMPRESSION_ERROR", `Cannot decompress zstd data: ${why}`);

/**
 * The zstd frames `data` holds, delimited by their headers and block headers (RFC 8878 §3.1)
 * without decoding them; skippable frames are left out. Throws unless the frames fill `data` exactly.
 */
export function zstdFrames(data: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const u32 = (at: number) => (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
  let at = 0;
  do {
    if (data.length - at < 4) throw malformed(at === 0 ? "not a zstd frame" : `${data.length - at} bytes after the last frame`);
    const magic = u32(at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (data.length - at < 8 || u32(at + 4) > data.length - at - 8) throw malformed("a skippable frame runs past the end");
      at += 8 + u32(at + 4);
      continue;
    }
    if (magic !== 0xfd2fb528) throw malformed(at === 0 ? "not a zstd frame" : `bytes after frame ${frames.length} are not a zstd frame`);
    const start = at;
    const fhd = data[at + 4];
    if (fhd === undefined) throw malformed("the frame header is cut off");
    const single = (fhd & 0x20) !== 0;
    at += 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    for (let last = false; !last;) {
      if (at + 3 > data.length) throw malformed("the frame is cut off");
      const h = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
      last = (h & 1) === 1;
      const type = (h >> 1) & 3;
      if (type === 3) throw malformed("a reserved block type");
      at += 3 + (type === 1 ? 1 : h >>> 3);
    }
    if (fhd & 4) at += 4; // content checksum
    if (at > data.length) throw malformed("the frame is cut off");
    frames.push(data.subarray(start, at));
  } while (at < data.length);
  return frames;
}

/** The runtime's zstd through node:zlib, or null where it has none. */
export async function nodeZstd(): Promise<NativeZstd | null> {
  const z = await import("node:zlib" as string).catch(() => null) as ZlibZstd | null;
  if (typeof z?.zstdCompressSync !== "function" || typeof z.zstdDecompressSync !== "function") return null;
  const levelParam = z.constants.ZSTD_c_compressionLevel!;
  return {
    compress(data, level, headroom) {
      // The content size goes in the frame header, as ZSTD_compress (the WebAssembly path) writes it.
      const out = z.zstdCompressSync(data, { params: { [levelParam]: level }, pledgedSrcSize: data.length, chunkSize: Math.max(64, bound(data.length) + 64) });
      // A copy of our own: zlib may hand back a view of a pooled buffer, which callers transfer.
      const r = new Uint8Array(headroom + out.length);
      r.set(out, headroom);
      return r;
    },
    decompress(data, maxOutputBytes) {
      if (!(maxOutputBytes >= 0) || !Number.isSafeInteger(maxOutputBytes)) {
        throw new ClientError("COMPRESSION_ERROR", `Cannot decompress zstd data: maxOutputBytes ${maxOutputBytes} is not a non-negative integer`);
      }
      // node:zlib answers a truncated frame with what it decoded so far and reads only the first of
      // several frames: so the frames are delimited here, and each must end where its blocks say.
      const frames = zstdFrames(data);
      const parts: Uint8Array[] = [];
      let total = 0;
      for (const frame of frames) {
        const left = maxOutputBytes - total;
        let out: Uint8Array;
        try {
          // zlib stops (and throws) once the output passes the cap, so memory stays bounded whatever the frame claims.
          out = z.zstdDecompressSync(frame, { maxOutputLength: Math.max(1, Math.min(left, 0x7fffffff)), chunkSize: Math.max(64, Math.min(left, Math.max(64 * 1024, frame.length * 4))) });
        } catch (e) {
          if ((e as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE") throw exceeds(maxOutputBytes);
          throw new ClientError("COMPRESSION_ERROR", `Cannot decompress zstd data: ${(e as Error)?.message ?? String(e)}`, { cause: e });
        }
        if (out.length > left) throw exceeds(maxOutputBytes);
        total += out.length;
        parts.push(out);
      }
      if (parts.length === 1) return parts[0]!;
      const all = new Uint8Array(total);
      let o = 0;
      for (const p of parts) { all.set(p, o); o += p.length; }
      return all;
    },
  };
}
