/**
 * WebAssembly loaders for the compression codecs (snappy and lz4 built from assembly/compression/,
 * zstd from the @bokuweb/zstd-wasm build of the reference C library). Each module is compiled once,
 * lazily, from inline base64 unless the runtime hands over a ready `WebAssembly.Module` (Cloudflare
 * Workers forbid compiling from bytes). Inputs are staged into WASM memory, outputs returned as
 * copies, and WASM status codes become `ClientError("COMPRESSION_ERROR")`.
 */
import { ClientError } from "../src/errors.ts";

export type WasmSource = WebAssembly.Module | BufferSource;

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function compile(source: WasmSource | undefined, inline: () => Promise<{ default: string }>): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  const bytes: BufferSource = source ?? (base64ToBytes((await inline()).default) as Uint8Array<ArrayBuffer>);
  return WebAssembly.compile(bytes as BufferSource);
}

function compressionError(codec: string, action: string, status: number, maxOutputBytes?: number): ClientError {
  const why: Record<number, string> = {
    [-1]: "the data is corrupt",
    [-2]: `the output would exceed maxOutputBytes ${maxOutputBytes}`,
    [-3]: "a checksum does not match",
    [-4]: "the data uses an unsupported feature (dictionary)",
    [-5]: "the data is truncated",
    [-6]: "the decoded size differs from the declared size",
    [-7]: "WebAssembly memory could not grow",
  };
  return new ClientError("COMPRESSION_ERROR", `Cannot ${action} ${codec} data: ${why[status] ?? `status ${status}`}`);
}

/** Anything but our own typed errors (e.g. a WebAssembly trap) still surfaces as COMPRESSION_ERROR. */
function guard<T>(codec: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new ClientError("COMPRESSION_ERROR", `Cannot decompress ${codec} data: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

function checkMax(codec: string, maxOutputBytes: number): void {
  if (!(maxOutputBytes >= 0) || !Number.isSafeInteger(maxOutputBytes)) {
    throw new ClientError("COMPRESSION_ERROR", `Cannot decompress ${codec} data: maxOutputBytes ${maxOutputBytes} is not a non-negative integer`);
  }
}

interface WorkspaceExports {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  workspaceBase(): number;
  reserve(bytes: number): number;
}

/** The staging region of one instance: input at `base`, output right after it (8-byte aligned). */
class Workspace<E extends WorkspaceExports> {
  readonly base: number;
  // Plain fields, not parameter properties: Node's type stripping (strip-only) rejects those.
  readonly exports: E;
  readonly codec: string;
  constructor(exports: E, codec: string) {
    this.exports = exports;
    this.codec = codec;
    exports._initialize?.();
    this.base = exports.workspaceBase();
  }
  /** Grows memory so that `bytes` fit from base. */
  reserve(bytes: number): void {
    if (bytes > 0x7fff0000 || this.exports.reserve(bytes) !== 0) {
      throw new ClientError("COMPRESSION_ERROR", `Cannot ${this.codec}: ${bytes} bytes of WebAssembly memory are not available`);
    }
  }
  /** Copies `data` to base after reserving `extra` more bytes behind it; returns where output goes (`headroom` bytes are left free before it). */
  stage(data: Uint8Array, extra: number, headroom = 0): number {
    const outPtr = this.base + align8(data.length) + headroom;
    this.reserve(outPtr - this.base + extra);
    new Uint8Array(this.exports.memory.buffer, this.base, data.length).set(data);
    return outPtr;
  }
  /** A copy of `len` bytes at `ptr`, owned by the caller. */
  copyOut(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, ptr, len).slice();
  }
}

const align8 = (n: number) => (n + 7) & ~7;

// ---- snappy -------------------------------------------------------------------------------------
interface SnappyExports extends WorkspaceExports {
  snappy_max_compressed_length(n: number): number;
  snappy_compress(inPtr: number, inLen: number, outPtr: number, xerial: number): number;
  snappy_uncompressed_length(inPtr: number, inLen: number): number;
  snappy_decompress(inPtr: number, inLen: number, outPtr: number, outCap: number): number;
}

/** Snappy in WebAssembly. Writes xerial framing by default (see assembly/compression/snappy.ts). */
export class SnappyWasm {
  readonly #ws: Workspace<SnappyExports>;
  constructor(instance: WebAssembly.Instance) {
    this.#ws = new Workspace(instance.exports as unknown as SnappyExports, "snappy");
  }
  /**
   * Compresses to the xerial framing (Java's), or to one raw block with `{ framing: "raw" }`;
   * `headroom` bytes of unspecified content precede the output (see CompressionCodec.compress).
   */
  compress(data: Uint8Array, options?: { framing?: "xerial" | "raw"; headroom?: number }): Uint8Array {
    const ws = this.#ws, x = ws.exports;
    const headroom = options?.headroom ?? 0;
    const outPtr = ws.stage(data, x.snappy_max_compressed_length(data.length), headroom);
    const n = x.snappy_compress(ws.base, data.length, outPtr, options?.framing === "raw" ? 0 : 1);
    if (n < 0) throw compressionError("snappy", "compress", n);
    return ws.copyOut(outPtr - headroom, headroom + n);
  }
  /** Decompresses xerial-framed or raw snappy, refusing more than `maxOutputBytes` of output. */
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    checkMax("snappy", maxOutputBytes);
    return guard("snappy", () => this.#decompress(data, maxOutputBytes));
  }
  #decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    const ws = this.#ws, x = ws.exports;
    ws.stage(data, 0);
    const declared = x.snappy_uncompressed_length(ws.base, data.length);
    if (declared < 0) throw compressionError("snappy", "decompress", declared, maxOutputBytes);
    if (declared > maxOutputBytes) {
      throw new ClientError("COMPRESSION_ERROR", `Cannot decompress snappy data: it declares ${declared} bytes, over maxOutputBytes ${maxOutputBytes}`);
    }
    const outPtr = ws.stage(data, declared);
    const n = x.snappy_decompress(ws.base, data.length, outPtr, declared);
    if (n < 0) throw compressionError("snappy", "decompress", n, maxOutputBytes);
    return ws.copyOut(outPtr, n);
  }
}

// ---- lz4 ----------------------------------------------------------------------------------------
interface Lz4Exports extends WorkspaceExports {
  xxh32(ptr: number, len: number, seed: number): number;
  lz4_max_compressed_length(n: number): number;
  lz4_compress(inPtr: number, inLen: number, outPtr: number, flags: number): number;
  lz4_decompressed_bound(inPtr: number, inLen: number): number;
  lz4_decompress(inPtr: number, inLen: number, outPtr: number, outCap: number): number;
}

/** LZ4 frame format in WebAssembly (independent blocks, 256 KiB by default; see assembly/compression/lz4.ts). */
export class Lz4Wasm {
  readonly #ws: Workspace<Lz4Exports>;
  constructor(instance: WebAssembly.Instance) {
    this.#ws = new Workspace(instance.exports as unknown as Lz4Exports, "lz4");
  }
  /**
   * Compresses to one LZ4 frame; `contentChecksum` appends xxh32 of the input (default false, as Java); `blockSizeId` 4-7 (default 5, 256 KiB);
   * `headroom` bytes of unspecified content precede the output (see CompressionCodec.compress).
   */
  compress(data: Uint8Array, options?: { contentChecksum?: boolean; blockSizeId?: 4 | 5 | 6 | 7; headroom?: number }): Uint8Array {
    const ws = this.#ws, x = ws.exports;
    const headroom = options?.headroom ?? 0;
    const outPtr = ws.stage(data, x.lz4_max_compressed_length(data.length), headroom);
    const n = x.lz4_compress(ws.base, data.length, outPtr, (options?.contentChecksum ? 1 : 0) | ((options?.blockSizeId ?? 5) << 4));
    if (n < 0) throw compressionError("lz4", "compress", n);
    return ws.copyOut(outPtr - headroom, headroom + n);
  }
  /** Decompresses LZ4 frame(s), verifying any checksums, refusing more than `maxOutputBytes`. */
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    checkMax("lz4", maxOutputBytes);
    return guard("lz4", () => this.#decompress(data, maxOutputBytes));
  }
  #decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    const ws = this.#ws, x = ws.exports;
    ws.stage(data, 0);
    const bound = x.lz4_decompressed_bound(ws.base, data.length);
    if (bound < 0) throw compressionError("lz4", "decompress", bound, maxOutputBytes);
    const cap = Math.min(bound, maxOutputBytes);
    const outPtr = ws.stage(data, cap);
    const n = x.lz4_decompress(ws.base, data.length, outPtr, cap);
    if (n < 0) throw compressionError("lz4", "decompress", n, maxOutputBytes);
    return ws.copyOut(outPtr, n);
  }
  /** xxHash32 (unsigned), as used by the LZ4 frame format. */
  xxh32(data: Uint8Array, seed = 0): number {
    const ws = this.#ws;
    ws.stage(data, 0);
    return ws.exports.xxh32(ws.base, data.length, seed) >>> 0;
  }
}

// ---- zstd ---------------------------------------------------------------------------------------
interface ZstdExports {
  memory: WebAssembly.Memory;
  isError(code: number): number;
  compressBound(n: number): number;
  createCCtx(): number;
  /** ZSTD_compress_usingDict with no dictionary = ZSTD_compressCCtx: reuses the context's workspace. */
  compressCCtx(cctx: number, dst: number, dstCap: number, src: number, srcLen: number, dict: number, dictLen: number, level: number): number;
  createDCtx(): number;
  getFrameContentSize(src: number, len: number): number;
  decompressDCtx(dctx: number, dst: number, dstCap: number, src: number, srcLen: number, dict: number, dictLen: number): number;
  malloc(n: number): number;
  free(p: number): void;
}

// ZSTD_CONTENTSIZE_UNKNOWN / _ERROR as returned through a 32-bit wasm export (unsigned long long
// truncated by the emscripten i64 legalization to the low word, then read as a signed int).
const ZSTD_UNKNOWN = -1, ZSTD_CONTENT_ERROR = -2;
/** ZSTD_error_dstSize_tooSmall (70) as a size_t error code: (size_t)-70. */
const ZSTD_DST_TOO_SMALL = -70;

/**
 * zstd in WebAssembly: the reference C library (zstd 1.5) as built by @bokuweb/zstd-wasm, driven
 * directly through its exports (its JS glue fetches the .wasm by URL and keeps a module singleton,
 * neither of which works in Workers).
 */
export class ZstdWasm {
  readonly #x: ZstdExports;
  // One compression and one decompression context for the instance's life: ZSTD_compress would
  // allocate and initialise a ~1 MiB context per call, which dominates small batches.
  readonly #cctx: number;
  readonly #dctx: number;
  constructor(instance: WebAssembly.Instance) {
    // Export names are minified by emscripten; mapped from the glue's table (dist/web/zstd.js).
    const e = instance.exports as Record<string, any>;
    (e.g as () => void)(); // __wasm_call_ctors
    this.#x = {
      memory: e.f, isError: e.h, compressBound: e.i, createCCtx: e.j, compressCCtx: e.l, createDCtx: e.n,
      getFrameContentSize: e.p, decompressDCtx: e.q, malloc: e.s, free: e.t,
    };
    this.#cctx = this.#x.createCCtx();
    this.#dctx = this.#x.createDCtx();
    if (this.#cctx === 0 || this.#dctx === 0) throw new ClientError("COMPRESSION_ERROR", "Cannot create zstd contexts: WebAssembly memory is not available");
  }
  #heap(): Uint8Array { return new Uint8Array(this.#x.memory.buffer); }
  #alloc(n: number): number {
    const p = this.#x.malloc(Math.max(n, 1));
    if (p === 0) throw new ClientError("COMPRESSION_ERROR", `Cannot zstd: ${n} bytes of WebAssembly memory are not available`);
    return p;
  }
  /**
   * Compresses to one zstd frame (with the content size, as ZSTD_compress writes) at `level`;
   * `headroom` bytes of unspecified content precede the output (see CompressionCodec.compress).
   */
  compress(data: Uint8Array, level = 3, headroom = 0): Uint8Array {
    const x = this.#x;
    const bound = x.compressBound(data.length) >>> 0;
    const src = this.#alloc(data.length);
    try {
      const dst = this.#alloc(headroom + bound);
      try {
        this.#heap().set(data, src);
        const n = x.compressCCtx(this.#cctx, dst + headroom, bound, src, data.length, 0, 0, level);
        if (x.isError(n)) throw new ClientError("COMPRESSION_ERROR", `Cannot compress zstd data: error ${-n}`);
        return this.#heap().slice(dst, dst + headroom + n);
      } finally { x.free(dst); }
    } finally { x.free(src); }
  }
  /**
   * Decompresses zstd frame(s), refusing more than `maxOutputBytes`. When the frame declares its
   * size (ZSTD_compress does; streaming writers such as Java's and librdkafka's may not) that is
   * checked first; otherwise the output buffer starts at 4 × the input and doubles up to the cap,
   * so memory stays bounded by maxOutputBytes whatever the data claims.
   */
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    checkMax("zstd", maxOutputBytes);
    return guard("zstd", () => this.#decompress(data, maxOutputBytes));
  }
  #decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    const x = this.#x;
    const src = this.#alloc(data.length);
    try {
      this.#heap().set(data, src);
      const declared = data.length >= 4 ? x.getFrameContentSize(src, data.length) : ZSTD_CONTENT_ERROR;
      if (declared === ZSTD_CONTENT_ERROR) {
        throw new ClientError("COMPRESSION_ERROR", "Cannot decompress zstd data: not a zstd frame");
      }
      let cap: number;
      if (declared !== ZSTD_UNKNOWN) {
        const size = declared >>> 0;
        if (size > maxOutputBytes) {
          throw new ClientError("COMPRESSION_ERROR", `Cannot decompress zstd data: it declares ${size} bytes, over maxOutputBytes ${maxOutputBytes}`);
        }
        cap = size;
      } else {
        cap = Math.min(maxOutputBytes, Math.max(64 * 1024, data.length * 4));
      }
      for (;;) {
        const dst = this.#alloc(cap);
        try {
          const n = x.decompressDCtx(this.#dctx, dst, cap, src, data.length, 0, 0);
          if (!x.isError(n)) return this.#heap().slice(dst, dst + n);
          if (n !== ZSTD_DST_TOO_SMALL || declared !== ZSTD_UNKNOWN) {
            throw new ClientError("COMPRESSION_ERROR", `Cannot decompress zstd data: ${n === ZSTD_DST_TOO_SMALL ? "the decoded size differs from the declared size" : `error ${-n}`}`);
          }
          if (cap >= maxOutputBytes) {
            throw new ClientError("COMPRESSION_ERROR", `Cannot decompress zstd data: the output would exceed maxOutputBytes ${maxOutputBytes}`);
          }
        } finally { x.free(dst); }
        cap = Math.min(maxOutputBytes, cap * 2);
      }
    } finally { x.free(src); }
  }
}

// ---- loading ------------------------------------------------------------------------------------
type Kind = "snappy" | "lz4" | "zstd";
const sources: Partial<Record<Kind, WasmSource>> = {};
const loading: Partial<Record<Kind, Promise<unknown>>> = {};

/** Gives a module (or its bytes) to use instead of the inline base64, e.g. a Workers import. Call before first use. */
export function setCompressionSource(kind: Kind, source: WasmSource): void {
  sources[kind] = source;
}

function zstdImports(memory: () => WebAssembly.Memory) {
  const fail = (what: string) => () => { throw new ClientError("COMPRESSION_ERROR", `zstd WebAssembly called ${what}`); };
  return {
    a: {
      a: fail("exit"), b: () => {}, c: fail("abort"), d: () => 0,
      // emscripten_resize_heap: grow to at least the requested size (malloc calls this).
      e: (requested: number) => {
        const mem = memory();
        const need = (requested >>> 0) - mem.buffer.byteLength;
        if (need <= 0) return 1;
        try { mem.grow(Math.ceil(need / 65536)); return 1; } catch { return 0; }
      },
    },
  };
}

async function instantiate(kind: Kind): Promise<unknown> {
  if (kind === "snappy") {
    const m = await compile(sources.snappy, () => import("../build/snappy.wasm.base64.js"));
    return new SnappyWasm(await WebAssembly.instantiate(m, {}));
  }
  if (kind === "lz4") {
    const m = await compile(sources.lz4, () => import("../build/lz4.wasm.base64.js"));
    return new Lz4Wasm(await WebAssembly.instantiate(m, {}));
  }
  const m = await compile(sources.zstd, () => import("../build/zstd.wasm.base64.js"));
  let inst: WebAssembly.Instance | undefined;
  inst = await WebAssembly.instantiate(m, zstdImports(() => inst!.exports.f as WebAssembly.Memory));
  return new ZstdWasm(inst);
}

function load<T>(kind: Kind): Promise<T> {
  const p = (loading[kind] ??= instantiate(kind).catch((e) => {
    delete loading[kind];
    throw e instanceof ClientError ? e : new ClientError("WASM_ERROR", `Cannot load the ${kind} WebAssembly module: ${(e as Error).message}`, { cause: e });
  }));
  return p as Promise<T>;
}

export const loadSnappy = (): Promise<SnappyWasm> => load("snappy");
export const loadLz4 = (): Promise<Lz4Wasm> => load("lz4");
export const loadZstd = (): Promise<ZstdWasm> => load("zstd");
