/**
 * Kafka's primitive types (https://kafka.apache.org/protocol#protocol_types): a growable `Writer` and a
 * bounds-checked `Reader`. Sans-IO: only Uint8Array, DataView and TextEncoder/TextDecoder.
 *
 * Every Reader method throws `ClientError("PROTOCOL_ERROR")` naming what it was reading when the bytes
 * are truncated or a length is absurd; lengths are checked against the remaining bytes before anything
 * is allocated, so a hostile 2 GiB length costs nothing.
 */
import { ClientError } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const TWO_32 = 4294967296;

/** A 16-byte Kafka UUID (topic ids). All zeros is Kafka's "no id". */
export type Uuid = Uint8Array;
/** Kafka's zero UUID. Do not mutate. */
export const ZERO_UUID: Uuid = new Uint8Array(16);

/** A tagged field the decoder did not know: kept raw so nothing is silently lost. */
export interface UnknownTaggedField {
  readonly tag: number;
  readonly data: Uint8Array;
}

/** Appends Kafka primitives into one growing buffer. `finish()` returns the bytes written. */
export class Writer {
  // `declare`: assigned in the constructor; a bare field definition would cost browser bundle bytes.
  private declare buf: Uint8Array;
  private declare view: DataView;
  /** Bytes written so far. */
  pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  int8(v: number): this {
    this.ensure(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** int64 from a safe-integer number or a bigint. */
  int64(v: number | bigint): this {
    this.ensure(8);
    if (typeof v === "bigint") {
      this.view.setBigInt64(this.pos, v);
    } else {
      if (!Number.isSafeInteger(v)) throw new RangeError(`Cannot write int64: ${v} is not a safe integer`);
      const hi = Math.floor(v / TWO_32);
      this.view.setInt32(this.pos, hi);
      this.view.setUint32(this.pos + 4, v - hi * TWO_32);
    }
    this.pos += 8;
    return this;
  }

  /** Unsigned LEB128 of a uint32 (lengths, tags). */
  uvarint(v: number): this {
    this.ensure(5);
    v >>>= 0;
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
    return this;
  }

  uuid(v: Uuid | null | undefined): this {
    this.ensure(16);
    if (v) {
      if (v.length !== 16) throw new RangeError(`Cannot write uuid: ${v.length} bytes, expected 16`);
      this.buf.set(v, this.pos);
    } else {
      this.buf.fill(0, this.pos, this.pos + 16);
    }
    this.pos += 16;
    return this;
  }

  /** Raw bytes, no length prefix: one `set` (record batches take this path). */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  // UTF-8 straight into the buffer, then backfill the int16 length.
  /** STRING / NULLABLE_STRING: int16 length (-1 = null) + UTF-8. */
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    this.ensure(2 + v.length * 3);
    const start = this.pos + 2;
    const { written } = encoder.encodeInto(v, this.buf.subarray(start));
    if (written > 0x7fff) {
      throw new ClientError("INVALID_CONFIG", `Cannot encode string "${v.slice(0, 40)}…": ${written} UTF-8 bytes, over Kafka's 32767-byte limit`);
    }
    this.view.setInt16(this.pos, written);
    this.pos = start + written;
    return this;
  }

  /** COMPACT_STRING / COMPACT_NULLABLE_STRING: uvarint(length + 1) (0 = null) + UTF-8. */
  compactString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const bytes = encoder.encode(v);
    return this.uvarint(bytes.length + 1).raw(bytes);
  }

  /** STRING or COMPACT_STRING by flexibility. */
  str(flexible: boolean, v: string | null): this {
    return flexible ? this.compactString(v) : this.string(v);
  }

  /** BYTES / NULLABLE_BYTES: int32 length (-1 = null) + bytes. */
  bytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).raw(v);
  }

  /** COMPACT_BYTES / COMPACT_NULLABLE_BYTES / COMPACT_RECORDS: uvarint(length + 1) + bytes. */
  compactBytes(v: Uint8Array | null): this {
    if (v === null) return this.uvarint(0);
    return this.uvarint(v.length + 1).raw(v);
  }

  /** BYTES or COMPACT_BYTES by flexibility. */
  byteArray(flexible: boolean, v: Uint8Array | null): this {
    return flexible ? this.compactBytes(v) : this.bytes(v);
  }

  /** ARRAY (int32 count, -1 = null) or COMPACT_ARRAY (uvarint count + 1, 0 = null). */
  array<T>(flexible: boolean, items: readonly T[] | null, write: (w: Writer, item: T) => void): this {
    if (items === null) return flexible ? this.uvarint(0) : this.int32(-1);
    if (flexible) this.uvarint(items.length + 1);
    else this.int32(items.length);
    for (let i = 0; i < items.length; i++) write(this, items[i]);
    return this;
  }

  /** Writes an empty tagged-fields section when `flexible`. */
  tags(flexible: boolean): this {
    if (flexible) this.uvarint(0);
    return this;
  }

  /** Overwrites an int32 at `offset` (size prefixes). */
  setInt32(offset: number, v: number): void {
    this.view.setInt32(offset, v);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** A view of the bytes written, valid until the next write. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function protocolError(message: string): ClientError {
  return new ClientError("PROTOCOL_ERROR", message);
}

/** Reads Kafka primitives from a byte range; every read is bounds-checked. */
export class Reader {
  // `declare`: assigned in the constructor (as in Writer).
  declare readonly bytes: Uint8Array;
  private declare readonly view: DataView;
  /** Offset of the next byte to read, relative to `bytes`. */
  declare pos: number;
  /** End of the readable range (exclusive). */
  declare readonly end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw protocolError(`Cannot read ${what}: needs ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} left`);
    }
  }

  int8(what = "int8"): number {
    this.need(1, what);
    return this.view.getInt8(this.pos++);
  }

  bool(what = "boolean"): boolean {
    return this.int8(what) !== 0;
  }

  int16(what = "int16"): number {
    this.need(2, what);
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  int32(what = "int32"): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  /** int64 as a number; beyond ±2^53 it is a PROTOCOL_ERROR (offsets, ids and times never get there). */
  int64(what = "int64"): number {
    this.need(8, what);
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi > 0x1fffff || hi < -0x200000) {
      throw protocolError(`Cannot read ${what}: int64 at offset ${this.pos} is outside the safe integer range`);
    }
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** Unsigned LEB128 up to 32 bits (5 bytes). */
  uvarint(what = "unsigned varint"): number {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw protocolError(`Cannot read ${what}: truncated varint at offset ${this.pos}`);
      const b = this.bytes[this.pos++];
      if (i === 4 && b > 0x0f) throw protocolError(`Cannot read ${what}: varint overflows 32 bits at offset ${this.pos - 1}`);
      result |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return result >>> 0;
    }
    throw protocolError(`Cannot read ${what}: varint longer than 5 bytes at offset ${this.pos}`);
  }

  uuid(what = "uuid"): Uuid {
    this.need(16, what);
    const v = this.bytes.slice(this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** `n` raw bytes as a view into the frame (no copy). */
  raw(n: number, what = "bytes"): Uint8Array {
    if (n < 0) throw protocolError(`Cannot read ${what}: negative length ${n}`);
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  private utf8(n: number, what: string): string {
    const b = this.raw(n, what);
    try {
      return decoder.decode(b);
    } catch {
      throw protocolError(`Cannot read ${what}: ${n} bytes at offset ${this.pos - n} are not valid UTF-8`);
    }
  }

  /** NULLABLE_STRING: int16 length, -1 = null. */
  nullableString(what = "string"): string | null {
    const n = this.int16(what);
    if (n === -1) return null;
    if (n < -1) throw protocolError(`Cannot read ${what}: string length ${n}`);
    return this.utf8(n, what);
  }

  /** STRING: like nullableString, but null is a PROTOCOL_ERROR. */
  string(what = "string"): string {
    const s = this.nullableString(what);
    if (s === null) throw protocolError(`Cannot read ${what}: null where a string is required`);
    return s;
  }

  /** COMPACT_NULLABLE_STRING: uvarint(length + 1), 0 = null. */
  compactNullableString(what = "compact string"): string | null {
    const n = this.uvarint(what);
    if (n === 0) return null;
    return this.utf8(n - 1, what);
  }

  compactString(what = "compact string"): string {
    const s = this.compactNullableString(what);
    if (s === null) throw protocolError(`Cannot read ${what}: null where a string is required`);
    return s;
  }

  /** STRING or COMPACT_STRING by flexibility. */
  str(flexible: boolean, what?: string): string {
    return flexible ? this.compactString(what) : this.string(what);
  }

  /** NULLABLE_STRING or COMPACT_NULLABLE_STRING by flexibility. */
  nullableStr(flexible: boolean, what?: string): string | null {
    return flexible ? this.compactNullableString(what) : this.nullableString(what);
  }

  /** NULLABLE_BYTES: int32 length, -1 = null; a view into the frame. */
  nullableBytes(what = "bytes"): Uint8Array | null {
    const n = this.int32(what);
    if (n === -1) return null;
    if (n < -1) throw protocolError(`Cannot read ${what}: bytes length ${n}`);
    return this.raw(n, what);
  }

  /** COMPACT_NULLABLE_BYTES: uvarint(length + 1), 0 = null; a view into the frame. */
  compactNullableBytes(what = "compact bytes"): Uint8Array | null {
    const n = this.uvarint(what);
    if (n === 0) return null;
    return this.raw(n - 1, what);
  }

  /** NULLABLE_BYTES or COMPACT_NULLABLE_BYTES by flexibility. */
  nullableByteArray(flexible: boolean, what?: string): Uint8Array | null {
    return flexible ? this.compactNullableBytes(what) : this.nullableBytes(what);
  }

  /** The element count of an ARRAY / COMPACT_ARRAY; -1 means null. Checked against remaining bytes. */
  arrayLength(flexible: boolean, what = "array", minElementBytes = 1): number {
    let n: number;
    if (flexible) {
      const u = this.uvarint(what);
      n = u - 1;
    } else {
      n = this.int32(what);
      if (n < -1) throw protocolError(`Cannot read ${what}: array length ${n}`);
    }
    if (n > 0 && n * minElementBytes > this.end - this.pos) {
      throw protocolError(`Cannot read ${what}: ${n} elements cannot fit in the ${this.end - this.pos} bytes left`);
    }
    return n;
  }

  /** ARRAY / COMPACT_ARRAY that may be null. */
  nullableArray<T>(flexible: boolean, read: (r: Reader) => T, what = "array", minElementBytes = 1): T[] | null {
    const n = this.arrayLength(flexible, what, minElementBytes);
    if (n < 0) return null;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = read(this);
    return out;
  }

  /** ARRAY / COMPACT_ARRAY; null is a PROTOCOL_ERROR. */
  array<T>(flexible: boolean, read: (r: Reader) => T, what = "array", minElementBytes = 1): T[] {
    const a = this.nullableArray(flexible, read, what, minElementBytes);
    if (a === null) throw protocolError(`Cannot read ${what}: null where an array is required`);
    return a;
  }

  /** int32 array elements. */
  int32Array(flexible: boolean, what = "int32 array"): number[] {
    return this.array(flexible, (r) => r.int32(what), what, 4);
  }

  /**
   * Reads a tagged-fields section. `onTag(tag, r)` gets a Reader bounded to the field's bytes and
   * returns true if it consumed the field; other fields are returned raw.
   */
  taggedFields(onTag?: (tag: number, r: Reader) => boolean, what = "tagged fields"): UnknownTaggedField[] | undefined {
    const count = this.uvarint(`${what} count`);
    if (count === 0) return undefined;
    if (count > this.end - this.pos) throw protocolError(`Cannot read ${what}: ${count} fields cannot fit in the ${this.end - this.pos} bytes left`);
    let unknown: UnknownTaggedField[] | undefined;
    let lastTag = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint(`${what} tag`);
      if (tag <= lastTag && i > 0) throw protocolError(`Cannot read ${what}: tag ${tag} after tag ${lastTag} (tags must ascend)`);
      lastTag = tag;
      const size = this.uvarint(`${what} size`);
      const data = this.raw(size, `${what} tag ${tag}`);
      if (onTag) {
        const sub = new Reader(this.bytes, this.pos - size, this.pos);
        if (onTag(tag, sub)) {
          if (sub.pos !== sub.end) throw protocolError(`Cannot read ${what}: tag ${tag} has ${sub.end - sub.pos} unread bytes`);
          continue;
        }
      }
      (unknown ??= []).push({ tag, data: data.slice() });
    }
    return unknown;
  }

  /** Skips the tagged-fields section when `flexible`. */
  tags(flexible: boolean, what?: string): void {
    if (flexible) this.taggedFields(undefined, what);
  }

  /** Asserts every byte was consumed (a longer body than the schema means a version mix-up). */
  expectEnd(what: string): void {
    if (this.pos !== this.end) {
      throw protocolError(`Cannot read ${what}: ${this.end - this.pos} unexpected trailing bytes`);
    }
  }
}

// Primitives the producer never uses, as functions rather than methods so that bundles which do not
// call them drop them (class methods cannot be tree-shaken). RecordBatch records have their own
// varint reader (record-batch.ts) and the WASM encoder.

/** UINT32, big-endian. */
export function writeUint32(w: Writer, v: number): Writer {
  return w.int32(v | 0); // same four bytes
}

/** FLOAT64, big-endian IEEE 754. */
export function writeFloat64(w: Writer, v: number): Writer {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return w.raw(b);
}

/** Zigzag varint of an int32. */
export function writeVarint(w: Writer, v: number): Writer {
  return w.uvarint((v << 1) ^ (v >> 31));
}

/** Zigzag varlong of a safe-integer number or a bigint int64. */
export function writeVarlong(w: Writer, v: number | bigint): Writer {
  let z = typeof v === "bigint" ? BigInt.asIntN(64, v) : BigInt(v);
  z = BigInt.asUintN(64, (z << 1n) ^ (z >> 63n));
  while (z >= 0x80n) {
    w.int8(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  return w.int8(Number(z));
}

/**
 * The tagged-fields section of a flexible struct: uvarint count, then per field uvarint tag,
 * uvarint size, data. Fields must be given in ascending tag order; `undefined` entries are skipped;
 * `unknown` fields (kept raw by `Reader.taggedFields`) are merged in tag order.
 */
export function writeTaggedFields(w: Writer, fields?: ReadonlyArray<readonly [tag: number, write: (w: Writer) => void] | undefined>,
  unknown?: readonly UnknownTaggedField[]): Writer {
  const present = fields ? fields.filter((f) => f !== undefined) as (readonly [number, (w: Writer) => void])[] : [];
  const extra = unknown ?? [];
  if (present.length === 0 && extra.length === 0) return w.uvarint(0);
  const all: [number, Uint8Array][] = present.map(([tag, write]) => {
    const sub = new Writer(32);
    write(sub);
    return [tag, sub.finish()];
  });
  for (const u of extra) all.push([u.tag, u.data]);
  all.sort((a, b) => a[0] - b[0]);
  w.uvarint(all.length);
  for (const [tag, data] of all) w.uvarint(tag).uvarint(data.length).raw(data);
  return w;
}

/** UINT32. */
export function readUint32(r: Reader, what = "uint32"): number {
  return r.int32(what) >>> 0;
}

/** INT64 as a bigint (any value). */
export function readInt64BigInt(r: Reader, what = "int64"): bigint {
  const hi = r.int32(what);
  return (BigInt(hi) << 32n) | BigInt(readUint32(r, what));
}

/** FLOAT64. */
export function readFloat64(r: Reader, what = "float64"): number {
  const b = r.raw(8, what);
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
}

/** Zigzag varint (int32). */
export function readVarint(r: Reader, what = "varint"): number {
  const z = r.uvarint(what);
  return (z >>> 1) ^ -(z & 1);
}

/** Zigzag varlong (int64) as a bigint. */
export function readVarlongBigInt(r: Reader, what = "varlong"): bigint {
  let result = 0n;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) throw protocolError(`Cannot read ${what}: truncated varlong at offset ${r.pos}`);
    const b = r.bytes[r.pos++];
    if (i === 9 && b > 0x01) throw protocolError(`Cannot read ${what}: varlong overflows 64 bits at offset ${r.pos - 1}`);
    result |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return BigInt.asIntN(64, (result >> 1n) ^ -(result & 1n));
  }
  throw protocolError(`Cannot read ${what}: varlong longer than 10 bytes at offset ${r.pos}`);
}

/** Zigzag varlong as a number; outside ±2^53 is a PROTOCOL_ERROR. */
export function readVarlong(r: Reader, what = "varlong"): number {
  const v = readVarlongBigInt(r, what);
  if (v > 9007199254740991n || v < -9007199254740991n) {
    throw protocolError(`Cannot read ${what}: varlong ${v} is outside the safe integer range`);
  }
  return Number(v);
}
