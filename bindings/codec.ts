/**
 * Bindings for build/kafkasm.wasm: the only code that touches `WebAssembly.*` for the codec.
 *
 * One instance owns one linear memory. JS allocates blocks in it above `dataEnd()` (a power-of-two
 * pool, see {@link Codec}), stages records straight into a block (`TextEncoder.encodeInto`,
 * `Uint8Array.set`), and encodes a whole RecordBatch with one `encodeBatch` call. Nothing is
 * allocated per record on either side, and the WASM side never allocates at all (runtime "stub").
 */
import { defaultWasmBytes } from "./wasm-source.ts";
import { ClientError } from "../src/errors.ts";

const lengthGetter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "length")!.get!;
/**
 * The length of `bytes` read through %TypedArray%.prototype's own getter: a subclass (or an object)
 * that overrides `length` cannot make staging write past the room reserved for it. Bound
 * Function.prototype.call, which V8 inlines (an arrow calling `getter.call(bytes)` cost ~7 % of an append).
 */
export const lengthOf = Function.prototype.call.bind(lengthGetter) as (bytes: Uint8Array) => number;

/** A compiled module (Cloudflare Workers hand one in; they forbid compiling bytes) or the bytes. */
export type WasmSource = WebAssembly.Module | BufferSource;

/** One record header. Keys are strings (UTF-8 on the wire); values may be null. */
export interface RecordHeader {
  key: string;
  value: Uint8Array | string | null;
}

/** Headers as an array of {key, value} (duplicates allowed) or as a plain object. */
export type RecordHeaders = readonly RecordHeader[] | Readonly<Record<string, Uint8Array | string | null>>;

/** The producer-state fields of a RecordBatch header. Use -1/-1/-1/false when not idempotent. */
export interface BatchHeader {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
}

/** Raw exports of build/kafkasm.wasm (see DESIGN.md "WASM ABI"). i64 parameters are BigInts. */
export interface CodecExports {
  readonly memory: WebAssembly.Memory;
  _initialize?(): void;
  dataEnd(): number;
  crc32cUpdate(crc: number, ptr: number, len: number): number;
  murmur2(ptr: number, len: number): number;
  varintSize(v: number): number;
  varlongSize(v: bigint): number;
  uvarintSize(v: number): number;
  writeVarint(ptr: number, v: number): number;
  writeVarlong(ptr: number, v: bigint): number;
  writeUvarint(ptr: number, v: number): number;
  readVarint(ptr: number, len: number, out: number): number;
  readVarlong(ptr: number, len: number, out: number): number;
  readUvarint(ptr: number, len: number, out: number): number;
  encodeBatch(stage: number, stageLen: number, count: number, out: number, outCap: number, attributes: number,
    baseTimestamp: number, producerId: number, producerEpoch: number, baseSequence: number): number;
}

/** Status codes returned by the WASM functions (negative results). */
export const WasmStatus = {
  OUT_OF_SPACE: -1,
  MALFORMED_STAGE: -2,
  TRUNCATED: -3,
  VARINT_TOO_LONG: -4,
} as const;

const statusNames: Record<number, string> = {
  [-1]: "output region too small",
  [-2]: "staging area is malformed",
  [-3]: "varint truncated",
  [-4]: "varint too long",
};

/** Maps a negative WASM status to a typed error. */
export function wasmStatusError(status: number, action: string): ClientError {
  return new ClientError("WASM_ERROR", `Cannot ${action}: the WebAssembly codec returned status ${status} (${statusNames[status] ?? "unknown"})`);
}

const BATCH_HEADER_SIZE = 61;
const PAGE = 65536;
const MIN_CLASS = 10; // smallest pool block: 1 KiB
const SCRATCH_BYTES = 64 * 1024; // crc32c/murmur2 inputs are copied through this in chunks
const MAX_RECORD_BYTES = 1 << 30; // one staged record above this cannot be a Kafka record anyway
const TRANSACTIONAL_BIT = 0x10;

const encoder = new TextEncoder();

/** The compiled default module, shared by every instance created without an explicit source. */
let defaultModule: Promise<WebAssembly.Module> | undefined;
let defaultSource: WasmSource | undefined;
let singleton: Promise<Codec> | undefined;
let loaded: Codec | undefined;

/**
 * Sets what {@link getCodec} and `loadCodec()` instantiate (workerd passes its imported
 * `WebAssembly.Module`). Call it before the first getCodec(): the shared instance is not replaced.
 */
export function setDefaultCodecSource(source: WasmSource): void {
  defaultSource = source;
  defaultModule = undefined;
}

/** The shared codec instance, compiled and instantiated once (by default from wasm-source.ts). */
export function getCodec(): Promise<Codec> {
  singleton ??= loadCodec().then((c) => (loaded = c));
  return singleton;
}

/** The shared codec if {@link getCodec} has already resolved, for synchronous callers that can fall back. */
export function getLoadedCodec(): Codec | undefined {
  return loaded;
}

/** A fresh, independent instance (own memory). Without `source`, reuses the compiled default module. */
export async function loadCodec(source?: WasmSource): Promise<Codec> {
  let module: WebAssembly.Module;
  try {
    if (source !== undefined) {
      module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
    } else {
      const src = defaultSource;
      defaultModule ??= src instanceof WebAssembly.Module ? Promise.resolve(src)
        : src ? WebAssembly.compile(src) : defaultWasmBytes().then((b) => WebAssembly.compile(b));
      module = await defaultModule;
    }
    const instance = await WebAssembly.instantiate(module, {});
    return new Codec(instance.exports as unknown as CodecExports);
  } catch (cause) {
    if (source === undefined) defaultModule = undefined;
    throw new ClientError("WASM_ERROR", `Cannot load the WebAssembly codec: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

/** Kafka's default partitioner for keyed records: `(murmur2(key) & 0x7fffffff) % numPartitions`. */
export function partitionForKey(hash: number, numPartitions: number): number {
  return (hash & 0x7fffffff) % numPartitions;
}

/** Size of the zigzag varint/varlong of a safe integer. */
function zigzagSize(n: number): number {
  if (n < 64 && n >= -64) return 1;
  const z = n < 0 ? -2 * n - 1 : 2 * n;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  if (z < 0x800000000) return 5;
  if (z < 0x40000000000) return 6;
  if (z < 0x2000000000000) return 7;
  if (z < 0x100000000000000) return 8;
  if (z < 0x8000000000000000) return 9;
  return 10;
}

/** Writes a string or bytes at p (room for the worst case is ensured by the caller); returns the byte count. */
function putBytes(u8: Uint8Array, p: number, v: Uint8Array | string, n?: number): number {
  // Small so that V8 inlines it into append: the call cost ~10% of an append of bytes. `n`: lengthOf(v) if known.
  if (typeof v === "string") return putString(u8, p, v);
  u8.set(v, p); // a copy loop measured no faster even for 10-byte keys
  return n ?? lengthOf(v);
}

function putString(u8: Uint8Array, p: number, v: string): number {
  const n = v.length;
  if (n <= 32) {
    // Short ASCII is most keys; a loop beats encodeInto's call and subarray overhead.
    let i = 0;
    for (; i < n; i++) {
      const ch = v.charCodeAt(i);
      if (ch >= 0x80) break;
      u8[p + i] = ch;
    }
    if (i === n) return n;
  }
  return encoder.encodeInto(v, u8.subarray(p, p + 3 * n)).written;
}

function headerCount(headers: RecordHeaders | undefined): number {
  if (headers == null) return 0;
  if (Array.isArray(headers)) return headers.length;
  let n = 0;
  for (const _ in headers) n++;
  return n;
}

function validateHeader(h: BatchHeader, action: string): void {
  if (!Number.isSafeInteger(h.producerId) || h.producerId < -1
    || !Number.isInteger(h.producerEpoch) || h.producerEpoch < -1 || h.producerEpoch > 0x7fff
    || !Number.isInteger(h.baseSequence) || h.baseSequence < -1 || h.baseSequence > 0x7fffffff) {
    throw new ClientError("INVALID_RECORD", `Cannot ${action}: producerId ${h.producerId}, producerEpoch ${h.producerEpoch}, baseSequence ${h.baseSequence} are out of range`);
  }
}

/**
 * One instance of the WASM codec. Also the allocator of its linear memory: blocks are powers of
 * two (1 KiB and up) kept on per-size free lists; memory grows on demand and never shrinks, so a
 * released block is reused by the next builder of the same size class.
 */
export class Codec {
  /** Raw exports, for tests and the ABI. */
  readonly exports: CodecExports;
  /** Views of the current memory buffer; replaced after every memory.grow. */
  u8!: Uint8Array;
  dv!: DataView;
  private top: number;
  private readonly freeLists: number[][] = [];
  private readonly scratch: number;
  private outPtr = 0;
  private outClass = 0;

  constructor(exports: CodecExports) {
    this.exports = exports;
    exports._initialize?.();
    this.refresh();
    this.top = (exports.dataEnd() + 63) & ~63;
    this.scratch = this.alloc(SCRATCH_BYTES);
  }

  private refresh(): void {
    const buf = this.exports.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
  }

  /** Size class (log2 of the block size) for `bytes`. */
  static classFor(bytes: number): number {
    return Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(bytes, 1))));
  }

  /** Allocates a block of 2^classFor(bytes) bytes; returns its address. */
  alloc(bytes: number): number {
    const cls = Codec.classFor(bytes);
    const free = this.freeLists[cls];
    if (free !== undefined && free.length > 0) return free.pop()!;
    const size = 2 ** cls;
    const ptr = this.top;
    const end = ptr + size;
    const have = this.exports.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least half the current size so that growth (and view refreshes) stay rare.
      const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 2));
      try {
        this.exports.memory.grow(pages);
      } catch {
        try {
          this.exports.memory.grow(Math.ceil((end - have) / PAGE));
        } catch (cause) {
          throw new ClientError("WASM_ERROR", `Cannot grow WebAssembly memory to ${end} bytes for a ${size}-byte block`, { cause });
        }
      }
      this.refresh();
    }
    this.top = end;
    return ptr;
  }

  /** Returns a block from {@link alloc} to its free list. */
  free(ptr: number, bytes: number): void {
    (this.freeLists[Codec.classFor(bytes)] ??= []).push(ptr);
  }

  /** A shared output region of at least `bytes`, valid until the next call that uses it. */
  outRegion(bytes: number): number {
    const cls = Codec.classFor(bytes);
    if (cls > this.outClass) {
      if (this.outClass > 0) this.free(this.outPtr, 2 ** this.outClass);
      this.outPtr = this.alloc(2 ** cls);
      this.outClass = cls;
    }
    return this.outPtr;
  }

  /** CRC32C (Castagnoli) of `bytes`, unsigned. */
  crc32c(bytes: Uint8Array): number {
    const x = this.exports;
    const s = this.scratch;
    const n = lengthOf(bytes);
    if (n <= SCRATCH_BYTES) {
      this.u8.set(bytes, s);
      return x.crc32cUpdate(0, s, n) >>> 0;
    }
    let crc = 0;
    for (let off = 0; off < n; off += SCRATCH_BYTES) {
      const len = Math.min(SCRATCH_BYTES, n - off);
      this.u8.set(bytes.subarray(off, off + len), s);
      crc = x.crc32cUpdate(crc, s, len);
    }
    return crc >>> 0;
  }

  /** Java-compatible murmur2 of `bytes` (signed int32, as Kafka's Utils.murmur2). */
  murmur2(bytes: Uint8Array): number {
    const n = lengthOf(bytes);
    if (n <= SCRATCH_BYTES) {
      this.u8.set(bytes, this.scratch);
      return this.exports.murmur2(this.scratch, n);
    }
    const ptr = this.alloc(n);
    try {
      this.u8.set(bytes, ptr);
      return this.exports.murmur2(ptr, n);
    } finally {
      this.free(ptr, n);
    }
  }

  /** murmur2 of the UTF-8 bytes of `key`, encoded straight into WASM memory (no JS allocation). */
  murmur2String(key: string): number {
    const worst = 3 * key.length;
    if (worst <= SCRATCH_BYTES) return this.exports.murmur2(this.scratch, putBytes(this.u8, this.scratch, key));
    const ptr = this.alloc(worst);
    try {
      return this.exports.murmur2(ptr, putBytes(this.u8, ptr, key));
    } finally {
      this.free(ptr, worst);
    }
  }

  /**
   * A staging area for one partition's open batch, in WASM memory. `capacityBytes` bounds the
   * encoded batch size (`sizeInBytes`); the staging block starts at `stagingBytes` (default: small)
   * and grows, so a caller that knows how much the last batch staged can spare the growing copies.
   */
  newBatchBuilder(capacityBytes: number, stagingBytes = 0): RecordBatchBuilder {
    if (!(capacityBytes > 0)) throw new ClientError("INVALID_CONFIG", `Cannot create a RecordBatchBuilder: capacityBytes ${capacityBytes} must be positive`);
    return new WasmRecordBatchBuilder(this, capacityBytes, stagingBytes);
  }
}

/** Stages records for one RecordBatch in WASM memory and encodes them with one WASM call. */
export interface RecordBatchBuilder {
  /**
   * Stages one record. Returns false and stages nothing if it does not fit in the remaining
   * capacity, unless the builder is empty (an empty builder always accepts: it grows).
   * `timestamp` is milliseconds since the epoch (a safe integer).
   */
  append(timestamp: number, key: Uint8Array | string | null, value: Uint8Array | string | null,
    headers?: RecordHeaders): boolean;
  readonly recordCount: number;
  /** Size in bytes of the encoded (uncompressed) RecordBatch so far (exact; an upper bound by contract). */
  readonly sizeInBytes: number;
  /** Bytes of staging memory its records take (more than sizeInBytes: ~20 bytes per record). */
  readonly stagingBytes: number;
  /** Encodes the staged records as one RecordBatch v2 (uncompressed) and returns a copy the caller owns. */
  build(header: BatchHeader): Uint8Array;
  /**
   * Encodes with these attribute bits into the codec's shared output region and returns a view of it,
   * valid until the next encode on this codec (compressed batches: see compressed-batch.ts).
   */
  encode(header: BatchHeader, attributes: number, action: string): Uint8Array;
  /** Returns its staging memory to the pool; the builder must not be used after. */
  release(): void;
  /** Fixes the timestamp deltas are relative to (default: the first record's). Only while empty. */
  setBaseTimestamp(timestamp: number): void;
}

const INITIAL_STAGE_MIN = 1024;
const INITIAL_STAGE_MAX = 64 * 1024;

class WasmRecordBatchBuilder implements RecordBatchBuilder {
  private readonly codec: Codec;
  private readonly capacity: number;
  private ptr: number;
  private blockSize: number;
  private pos: number;
  private count = 0;
  private size = BATCH_HEADER_SIZE;
  private baseTimestamp = NaN;
  private released = false;

  constructor(codec: Codec, capacity: number, staging: number) {
    this.codec = codec;
    this.capacity = capacity;
    const initial = Math.min(Math.max(capacity, INITIAL_STAGE_MIN), INITIAL_STAGE_MAX);
    // A hint above the default is capped by what a full batch can stage (~2 × its encoded size).
    this.blockSize = 2 ** Codec.classFor(Math.max(initial, Math.min(staging, 2 * capacity)));
    this.ptr = codec.alloc(this.blockSize);
    this.pos = this.ptr;
  }

  get recordCount(): number {
    return this.count;
  }

  get sizeInBytes(): number {
    return this.size;
  }

  get stagingBytes(): number {
    return this.pos - this.ptr;
  }

  /** Fixes the base timestamp deltas are relative to (default: the first record's). Only while empty. */
  setBaseTimestamp(timestamp: number): void {
    this.check("set the base timestamp");
    if (this.count > 0) throw new ClientError("INVALID_RECORD", "Cannot set the base timestamp of a RecordBatchBuilder that already holds records");
    if (!Number.isSafeInteger(timestamp)) throw new ClientError("INVALID_RECORD", `Cannot use base timestamp ${timestamp}: not an integer number of milliseconds`);
    this.baseTimestamp = timestamp;
  }

  private check(action: string): void {
    if (this.released) throw new ClientError("WASM_ERROR", `Cannot ${action}: the RecordBatchBuilder was released`);
  }

  append(timestamp: number, key: Uint8Array | string | null, value: Uint8Array | string | null,
    headers?: RecordHeaders): boolean {
    if (this.released) this.check("append a record");
    if (!Number.isSafeInteger(timestamp)) throw new ClientError("INVALID_RECORD", `Cannot append a record: timestamp ${timestamp} is not an integer number of milliseconds`);
    if (key !== null && typeof key !== "string" && !(key instanceof Uint8Array)) throw notBytes("key", key);
    if (value !== null && typeof value !== "string" && !(value instanceof Uint8Array)) throw notBytes("value", value);
    const hc = headers == null ? 0 : headerCount(headers);
    const kMin = key === null ? 0 : typeof key === "string" ? key.length : lengthOf(key);
    const vMin = value === null ? 0 : typeof value === "string" ? value.length : lengthOf(value);
    // UTF-8 never takes fewer bytes than UTF-16 code units, so this is a lower bound: answer "full" early.
    if (this.count > 0 && this.size + 7 + kMin + vMin + hc * 2 > this.capacity) return false;

    let worst = 20 + (typeof key === "string" ? 3 * kMin : kMin) + (typeof value === "string" ? 3 * vMin : vMin);
    if (hc > 0) worst += headersWorst(headers!);
    if (this.pos + worst > this.ptr + this.blockSize) this.grow(worst);

    const c = this.codec;
    const u8 = c.u8;
    const dv = c.dv;
    let p = this.pos;
    dv.setFloat64(p, timestamp, true);
    p += 8;
    let kl = -1;
    if (key !== null) kl = putBytes(u8, p + 4, key, kMin);
    dv.setInt32(p, kl, true);
    p += 4 + (kl < 0 ? 0 : kl);
    let vl = -1;
    if (value !== null) vl = putBytes(u8, p + 4, value, vMin);
    dv.setInt32(p, vl, true);
    p += 4 + (vl < 0 ? 0 : vl);
    dv.setInt32(p, hc, true);
    p += 4;
    let body = 1 + zigzagSize(kl) + (kl < 0 ? 0 : kl) + zigzagSize(vl) + (vl < 0 ? 0 : vl) + zigzagSize(hc)
      + zigzagSize(this.count);
    if (hc > 0) {
      const start = p;
      p = stageHeaders(u8, dv, p, headers!);
      body += p - start - 8 * hc + headersVarintBytes(dv, start, hc);
    }
    // Unary + on both arms keeps base an unboxed double (a tagged arm made V8 allocate a number per record).
    const base = this.count === 0 && this.baseTimestamp !== this.baseTimestamp ? +timestamp : +this.baseTimestamp;
    body += zigzagSize(timestamp - base);
    const recordSize = zigzagSize(body) + body; // the record length is itself a zigzag varint
    if (this.count > 0 && this.size + recordSize > this.capacity) return false;
    if (this.count === 0) {
      if (p - this.pos > MAX_RECORD_BYTES) throw new ClientError("RECORD_TOO_LARGE", `Cannot append a record of ${p - this.pos} bytes`);
      this.baseTimestamp = base;
    }
    this.pos = p;
    this.count++;
    this.size += recordSize;
    return true;
  }

  private grow(need: number): void {
    const used = this.pos - this.ptr;
    const c = this.codec;
    const size = 2 ** Codec.classFor(Math.max(used + need, this.blockSize * 2));
    const ptr = c.alloc(size);
    c.u8.copyWithin(ptr, this.ptr, this.pos);
    c.free(this.ptr, this.blockSize);
    this.ptr = ptr;
    this.pos = ptr + used;
    this.blockSize = size;
  }

  encode(header: BatchHeader, attributes: number, action: string): Uint8Array {
    this.check(action);
    if (this.count === 0) throw new ClientError("INVALID_RECORD", `Cannot ${action}: the batch holds no records`);
    validateHeader(header, action);
    const c = this.codec;
    const out = c.outRegion(this.size);
    if (header.transactional) attributes |= TRANSACTIONAL_BIT;
    const n = c.exports.encodeBatch(this.ptr, this.pos - this.ptr, this.count, out, this.size, attributes,
      this.baseTimestamp, header.producerId, header.producerEpoch, header.baseSequence);
    if (n < 0) throw wasmStatusError(n, action);
    if (n !== this.size) throw new ClientError("WASM_ERROR", `Cannot ${action}: encoded ${n} bytes, expected ${this.size}`);
    return c.u8.subarray(out, out + n);
  }

  build(header: BatchHeader): Uint8Array {
    return this.encode(header, 0, "build a RecordBatch").slice();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.codec.free(this.ptr, this.blockSize);
  }
}

function notBytes(what: string, v: unknown): ClientError {
  return new ClientError("INVALID_RECORD", `Cannot append a record: the ${what} is a ${typeof v}, not a Uint8Array, string or null`);
}

function headersWorst(headers: RecordHeaders): number {
  let n = 0;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) {
      const h = (headers as readonly RecordHeader[])[i]!;
      if (typeof h?.key !== "string") throw new ClientError("INVALID_RECORD", `Cannot append a record: header ${i} has no string key`);
      if (h.value != null && typeof h.value !== "string" && !(h.value instanceof Uint8Array)) throw notBytes(`header "${h.key}" value`, h.value);
      n += 8 + 3 * h.key.length + valueWorst(h.value);
    }
  } else {
    const obj = headers as Readonly<Record<string, Uint8Array | string | null>>;
    for (const k in obj) {
      const v = obj[k];
      if (v != null && typeof v !== "string" && !(v instanceof Uint8Array)) throw notBytes(`header "${k}" value`, v);
      n += 8 + 3 * k.length + valueWorst(v);
    }
  }
  return n;
}

function valueWorst(v: Uint8Array | string | null | undefined): number {
  return v == null ? 0 : typeof v === "string" ? 3 * v.length : lengthOf(v);
}

/** Stages headers at p; returns the end. */
function stageHeaders(u8: Uint8Array, dv: DataView, p: number, headers: RecordHeaders): number {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) {
      const h = (headers as readonly RecordHeader[])[i]!;
      p = stageHeader(u8, dv, p, h.key, h.value);
    }
  } else {
    const obj = headers as Readonly<Record<string, Uint8Array | string | null>>;
    for (const k in obj) p = stageHeader(u8, dv, p, k, obj[k]!);
  }
  return p;
}

function stageHeader(u8: Uint8Array, dv: DataView, p: number, key: string, value: Uint8Array | string | null): number {
  const kl = putBytes(u8, p + 4, key);
  dv.setInt32(p, kl, true);
  p += 4 + kl;
  const vl = value === null || value === undefined ? -1 : putBytes(u8, p + 4, value);
  dv.setInt32(p, vl, true);
  return p + 4 + (vl < 0 ? 0 : vl);
}

/** Sum of the varint sizes of the staged header lengths (keys and values) from p. */
function headersVarintBytes(dv: DataView, p: number, hc: number): number {
  let n = 0;
  for (let i = 0; i < hc; i++) {
    const kl = dv.getInt32(p, true);
    n += zigzagSize(kl);
    p += 4 + kl;
    const vl = dv.getInt32(p, true);
    n += zigzagSize(vl);
    p += 4 + (vl < 0 ? 0 : vl);
  }
  return n;
}
