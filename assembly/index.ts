// kafkasm WASM codec: CRC32C, zigzag varints, murmur2 and the RecordBatch v2 encoder.
//
// ABI: integer (ptr, len) calls only; no runtime allocation after the start function. JS owns every
// byte above dataEnd() (staging blocks, scratch) and grows the memory itself. Failures are negative
// status codes (an AssemblyScript `throw` would abort the instance); bindings/ maps them to errors.
// The full ABI table is in DESIGN.md ("WASM ABI").

/** The output region is too small for the encoded batch. */
export const ERR_OUT_OF_SPACE: i32 = -1;
/** The staging area is inconsistent (a length runs past its end, a length below -1, a count mismatch). */
export const ERR_MALFORMED_STAGE: i32 = -2;
/** A varint runs past the end of its input. */
export const ERR_TRUNCATED: i32 = -3;
/** A varint is longer than its type allows (5 bytes for 32 bits, 10 for 64). */
export const ERR_VARINT_TOO_LONG: i32 = -4;

/** Size of the fixed RecordBatch v2 header, up to and including recordCount. */
export const BATCH_HEADER_SIZE: i32 = 61;

// CRC32C lives in crc32c.ts (its tables are filled by the start function).
export { crc32cUpdate } from "./crc32c";
import { crc32cUpdate } from "./crc32c";

/** First byte JS may use: everything below is static data (including the CRC tables and pending window). */
export function dataEnd(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

// ---------------------------------------------------------------------------------------------
// murmur2, exactly as Kafka's Java client (org.apache.kafka.common.utils.Utils.murmur2).

/** Java-compatible murmur2 (seed 0x9747b28c) of len bytes at ptr; signed like Java's int. */
export function murmur2(ptr: usize, len: i32): i32 {
  const m: u32 = 0x5bd1e995;
  let h: u32 = 0x9747b28c ^ <u32>len;
  const whole = len >> 2;
  for (let i = 0; i < whole; i++) {
    let k = load<u32>(ptr + (<usize>i << 2));
    k *= m;
    k ^= k >>> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  const tail = ptr + (<usize>whole << 2);
  switch (len & 3) {
    case 3: h ^= <u32>load<u8>(tail, 2) << 16;
    case 2: h ^= <u32>load<u8>(tail, 1) << 8;
    case 1: h ^= <u32>load<u8>(tail);
      h *= m;
  }
  h ^= h >>> 13;
  h *= m;
  h ^= h >>> 15;
  return <i32>h;
}

// ---------------------------------------------------------------------------------------------
// Varints. Kafka's record fields are zigzag varints (32-bit) and varlongs (64-bit); flexible
// protocol versions use unsigned varints.

// @ts-ignore: decorator
@inline function uvarint32Size(v: u32): i32 {
  // 1 byte per started group of 7 bits; clz(0) = 32 gives 1.
  return (38 - <i32>clz<u32>(v | 1)) / 7;
}

// @ts-ignore: decorator
@inline function uvarint64Size(v: u64): i32 {
  return (70 - <i32>clz<u64>(v | 1)) / 7;
}

/** Bytes taken by the zigzag varint of v. */
export function varintSize(v: i32): i32 {
  return uvarint32Size(<u32>((v << 1) ^ (v >> 31)));
}

/** Bytes taken by the zigzag varlong of v. */
export function varlongSize(v: i64): i32 {
  return uvarint64Size(<u64>((v << 1) ^ (v >> 63)));
}

/** Bytes taken by the unsigned varint of v. */
export function uvarintSize(v: u32): i32 {
  return uvarint32Size(v);
}

// @ts-ignore: decorator
@inline function putUvarint32(p: usize, v: u32): usize {
  while (v >= 0x80) {
    store<u8>(p++, <u8>(v | 0x80));
    v >>>= 7;
  }
  store<u8>(p++, <u8>v);
  return p;
}

// @ts-ignore: decorator
@inline function putUvarint64(p: usize, v: u64): usize {
  while (v >= 0x80) {
    store<u8>(p++, <u8>(v | 0x80));
    v >>>= 7;
  }
  store<u8>(p++, <u8>v);
  return p;
}

// @ts-ignore: decorator
@inline function putVarint(p: usize, v: i32): usize {
  return putUvarint32(p, <u32>((v << 1) ^ (v >> 31)));
}

// @ts-ignore: decorator
@inline function putVarlong(p: usize, v: i64): usize {
  return putUvarint64(p, <u64>((v << 1) ^ (v >> 63)));
}

/** Writes the zigzag varint of v at ptr; returns the bytes written. */
export function writeVarint(ptr: usize, v: i32): i32 {
  return <i32>(putVarint(ptr, v) - ptr);
}

/** Writes the zigzag varlong of v at ptr; returns the bytes written. */
export function writeVarlong(ptr: usize, v: i64): i32 {
  return <i32>(putVarlong(ptr, v) - ptr);
}

/** Writes the unsigned varint of v at ptr; returns the bytes written. */
export function writeUvarint(ptr: usize, v: u32): i32 {
  return <i32>(putUvarint32(ptr, v) - ptr);
}

/** Reads an unsigned varint of at most maxBytes into u64 at out; returns bytes read or a status. */
function readUvarint64(ptr: usize, len: i32, maxBytes: i32, out: usize): i32 {
  let v: u64 = 0;
  let shift: u64 = 0;
  for (let i = 0; i < maxBytes; i++) {
    if (i >= len) return ERR_TRUNCATED;
    const b = <u64>load<u8>(ptr + <usize>i);
    v |= (b & 0x7f) << shift;
    if (b < 0x80) {
      store<u64>(out, v);
      return i + 1;
    }
    shift += 7;
  }
  return ERR_VARINT_TOO_LONG;
}

/** Reads a zigzag varint (≤ 5 bytes) from [ptr, ptr+len); stores the i32 at out; returns bytes read or a status. */
export function readVarint(ptr: usize, len: i32, out: usize): i32 {
  const n = readUvarint64(ptr, len, 5, out);
  if (n < 0) return n;
  const z = <u32>load<u64>(out);
  store<i32>(out, <i32>(z >>> 1) ^ -<i32>(z & 1));
  return n;
}

/** Reads a zigzag varlong (≤ 10 bytes); stores the i64 at out; returns bytes read or a status. */
export function readVarlong(ptr: usize, len: i32, out: usize): i32 {
  const n = readUvarint64(ptr, len, 10, out);
  if (n < 0) return n;
  const z = load<u64>(out);
  store<i64>(out, <i64>(z >>> 1) ^ -<i64>(z & 1));
  return n;
}

/** Reads an unsigned varint (≤ 5 bytes); stores the u32 at out; returns bytes read or a status. */
export function readUvarint(ptr: usize, len: i32, out: usize): i32 {
  const n = readUvarint64(ptr, len, 5, out);
  if (n < 0) return n;
  store<u32>(out, <u32>load<u64>(out));
  return n;
}

// ---------------------------------------------------------------------------------------------
// RecordBatch v2.
//
// Staging layout (written by bindings/codec.ts, little-endian, unaligned), one entry per record:
//   f64 timestamp | i32 keyLength (-1 = null) | key | i32 valueLength (-1 = null) | value
//   | i32 headerCount | headerCount × (i32 keyLength | key | i32 valueLength (-1 = null) | value)
// Fixed-width lengths let JS encode strings straight into WASM memory and backfill the length.

// @ts-ignore: decorator
@inline function putI16BE(p: usize, v: i32): void {
  store<u16>(p, bswap<u16>(<u16>v));
}

// @ts-ignore: decorator
@inline function putI32BE(p: usize, v: i32): void {
  store<u32>(p, bswap<u32>(<u32>v));
}

// @ts-ignore: decorator
@inline function putI64BE(p: usize, v: i64): void {
  store<u64>(p, bswap<u64>(<u64>v));
}

/**
 * Encodes `count` staged records at [stage, stage+stageLen) as one RecordBatch v2 at
 * [out, out+outCap), CRC32C backfilled (left 0 when the attributes name a codec: the caller compresses
 * the records section and computes the CRC of the batch it sends). Timestamp deltas are relative to baseTimestamp; the
 * maxTimestamp is computed here. Returns the batch size in bytes, or ERR_OUT_OF_SPACE /
 * ERR_MALFORMED_STAGE. producerId and the timestamps come as f64 (exact up to 2^53) so that JS can
 * pass plain numbers.
 */
export function encodeBatch(
  stage: usize, stageLen: i32, count: i32, out: usize, outCap: i32, attributes: i32,
  baseTimestamp: f64, producerId: f64, producerEpoch: i32, baseSequence: i32,
): i32 {
  if (outCap < BATCH_HEADER_SIZE) return ERR_OUT_OF_SPACE;
  if (count < 0 || stageLen < 0) return ERR_MALFORMED_STAGE;
  const base = <i64>baseTimestamp;
  let maxTs = i64.MIN_VALUE; // the max over the records (the base may be given and lie above them)
  let s = stage;
  const sEnd = stage + <usize>stageLen;
  let p = out + <usize>BATCH_HEADER_SIZE;
  const end = out + <usize>outCap;

  for (let i = 0; i < count; i++) {
    if (s + 12 > sEnd) return ERR_MALFORMED_STAGE;
    const ts = <i64>load<f64>(s);
    if (ts > maxTs) maxTs = ts;
    const keyLen = load<i32>(s, 8);
    const keyPtr = s + 12;
    if (keyLen < -1) return ERR_MALFORMED_STAGE;
    s = keyPtr + <usize>(keyLen < 0 ? 0 : keyLen);
    if (s + 4 > sEnd) return ERR_MALFORMED_STAGE;
    const valueLen = load<i32>(s);
    const valuePtr = s + 4;
    if (valueLen < -1) return ERR_MALFORMED_STAGE;
    s = valuePtr + <usize>(valueLen < 0 ? 0 : valueLen);
    if (s + 4 > sEnd) return ERR_MALFORMED_STAGE;
    const headerCount = load<i32>(s);
    if (headerCount < 0) return ERR_MALFORMED_STAGE;
    s += 4;
    const headers = s;

    const delta = ts - base;
    let body = 1 + varlongSize(delta) + varintSize(i)
      + varintSize(keyLen) + (keyLen < 0 ? 0 : keyLen)
      + varintSize(valueLen) + (valueLen < 0 ? 0 : valueLen)
      + varintSize(headerCount);
    for (let h = 0; h < headerCount; h++) {
      if (s + 4 > sEnd) return ERR_MALFORMED_STAGE;
      const hk = load<i32>(s);
      if (hk < 0) return ERR_MALFORMED_STAGE; // header keys are non-null strings
      s += 4 + <usize>hk;
      if (s + 4 > sEnd) return ERR_MALFORMED_STAGE;
      const hv = load<i32>(s);
      if (hv < -1) return ERR_MALFORMED_STAGE;
      s += 4 + <usize>(hv < 0 ? 0 : hv);
      body += varintSize(hk) + hk + varintSize(hv) + (hv < 0 ? 0 : hv);
    }
    if (s > sEnd) return ERR_MALFORMED_STAGE;
    if (p + <usize>varintSize(body) + <usize>body > end) return ERR_OUT_OF_SPACE;

    p = putVarint(p, body);
    store<u8>(p++, 0); // record attributes: unused
    p = putVarlong(p, delta);
    p = putVarint(p, i);
    p = putVarint(p, keyLen);
    if (keyLen > 0) {
      memory.copy(p, keyPtr, <usize>keyLen);
      p += <usize>keyLen;
    }
    p = putVarint(p, valueLen);
    if (valueLen > 0) {
      memory.copy(p, valuePtr, <usize>valueLen);
      p += <usize>valueLen;
    }
    p = putVarint(p, headerCount);
    let hs = headers;
    for (let h = 0; h < headerCount; h++) {
      const hk = load<i32>(hs);
      p = putVarint(p, hk);
      memory.copy(p, hs + 4, <usize>hk);
      p += <usize>hk;
      hs += 4 + <usize>hk;
      const hv = load<i32>(hs);
      p = putVarint(p, hv);
      if (hv > 0) {
        memory.copy(p, hs + 4, <usize>hv);
        p += <usize>hv;
      }
      hs += 4 + <usize>(hv < 0 ? 0 : hv);
    }
  }
  if (s != sEnd) return ERR_MALFORMED_STAGE;

  const total = <i32>(p - out);
  putI64BE(out, 0); // baseOffset: the broker assigns offsets
  putI32BE(out + 8, total - 12); // batchLength: everything after itself
  putI32BE(out + 12, -1); // partitionLeaderEpoch: producers send -1
  store<u8>(out + 16, 2); // magic
  putI16BE(out + 21, attributes);
  putI32BE(out + 23, count - 1); // lastOffsetDelta
  putI64BE(out + 27, base);
  putI64BE(out + 35, maxTs);
  putI64BE(out + 43, <i64>producerId);
  putI16BE(out + 51, producerEpoch);
  putI32BE(out + 53, baseSequence);
  putI32BE(out + 57, count);
  // CRC32C covers attributes through the end of the batch. With a codec in the attributes the records
  // section is about to be compressed and the batch CRC'd as sent (compressed-batch.ts): 0 here.
  putI32BE(out + 17, (attributes & 7) == 0 ? <i32>crc32cUpdate(0, out + 21, <usize>(total - 21)) : 0);
  return total;
}
