// Snappy for Kafka (attributes codec 2): a fast hash-table compressor in the style of the reference
// implementation, and a bounds-checked decompressor.
//
// Framing decision: we WRITE the xerial framing (magic "\x82SNAPPY\0", version 1, compatible 1,
// then [int32 BE length][raw snappy block] chunks of 64 KiB input), which is what the Java client
// writes (snappy-java SnappyOutputStream). Every client reads it: Java's SnappyInputStream needs it
// (it only falls back to a raw block when the magic is absent), librdkafka, franz-go and Sarama
// detect it. A raw block (what librdkafka writes) is also read by all of them, but xerial is the
// one format the reference client itself produces, and its chunks bound the memory a reader needs
// per step. We READ both: xerial (including concatenated streams) and a single raw block.
export { workspaceBase, reserve } from "./workspace";
import {
  ERR_CORRUPT, ERR_TOO_LARGE, ERR_TRUNCATED, ERR_SIZE_MISMATCH, matchLength, copyMatch,
} from "./workspace";

/**
 * Input bytes per xerial chunk. snappy-java defaults to 32 KiB but reads any chunk size (its limit
 * is 512 MiB); 64 KiB, one reference fragment per chunk, compresses the telemetry corpus ~7% better.
 */
const CHUNK: u32 = 64 * 1024;
/** The reference compressor's fragment size; offsets stay below 64 KiB. */
const BLOCK: u32 = 64 * 1024;
const MAX_HASH_BITS: u32 = 14;
/** Bytes at the end of a fragment where no match search starts (reference: kInputMarginBytes). */
const INPUT_MARGIN: u32 = 15;
const XERIAL_HEADER: u32 = 16;

// u16 positions, one entry per hash bucket (32 KiB static).
const table: usize = memory.data(2 << MAX_HASH_BITS, 16);

/** Worst-case size of snappy_compress's output for `n` input bytes (both framings). */
export function snappy_max_compressed_length(n: u32): u32 {
  const chunks = n / CHUNK + 1;
  return XERIAL_HEADER + chunks * (4 + 5) + 32 + n + n / 6 + 16;
}

// @ts-ignore: decorator
@inline function hash(v: u32, shift: u32): usize {
  return <usize>((v * 0x1e35a7bd) >> shift) << 1;
}

function emitLiteral(op: usize, src: usize, len: u32): usize {
  const n = len - 1;
  if (n < 60) {
    store<u8>(op++, <u8>(n << 2));
  } else if (n < 0x100) {
    store<u8>(op, 60 << 2); store<u8>(op + 1, <u8>n); op += 2;
  } else if (n < 0x10000) {
    store<u8>(op, 61 << 2); store<u16>(op + 1, <u16>n); op += 3;
  } else if (n < 0x1000000) {
    store<u8>(op, 62 << 2); store<u16>(op + 1, <u16>n); store<u8>(op + 3, <u8>(n >> 16)); op += 4;
  } else {
    store<u8>(op, 63 << 2); store<u32>(op + 1, n); op += 5;
  }
  memory.copy(op, src, len);
  return op + len;
}

// @ts-ignore: decorator
@inline function emitCopy2(op: usize, offset: u32, len: u32): usize {
  store<u8>(op, <u8>(2 | ((len - 1) << 2)));
  store<u16>(op + 1, <u16>offset);
  return op + 3;
}

function emitCopy(op: usize, offset: u32, len: u32): usize {
  // Same split as the reference: 64-byte copies while > 67 left, so the tail is never below 4.
  while (len >= 68) { op = emitCopy2(op, offset, 64); len -= 64; }
  if (len > 64) { op = emitCopy2(op, offset, 60); len -= 60; }
  if (len >= 12 || offset >= 2048) return emitCopy2(op, offset, len);
  store<u8>(op, <u8>(1 | ((len - 4) << 2) | ((offset >> 8) << 5)));
  store<u8>(op + 1, <u8>offset);
  return op + 2;
}

/** Compresses one fragment (≤ 64 KiB) as snappy elements (no length preamble). Returns the new op. */
function compressFragment(src: usize, n: u32, op: usize): usize {
  const end = src + n;
  if (n < INPUT_MARGIN + 2) return n > 0 ? emitLiteral(op, src, n) : op;
  let bits: u32 = 8;
  while (bits < MAX_HASH_BITS && (<u32>1 << bits) < n) bits++;
  const shift = 32 - bits;
  memory.fill(table, 0, <usize>2 << bits);

  const ipLimit = end - INPUT_MARGIN;
  let nextEmit = src;
  let ip = src + 1;
  let nextHash = hash(load<u32>(ip), shift);
  while (true) {
    // Look for a 4-byte match; after 32 misses, skip ahead faster (incompressible data).
    let skip: u32 = 32;
    let nextIp = ip;
    let candidate: usize = 0;
    do {
      ip = nextIp;
      const h = nextHash;
      const step = skip >> 5;
      skip += step;
      nextIp = ip + step;
      if (nextIp > ipLimit) {
        return nextEmit < end ? emitLiteral(op, nextEmit, <u32>(end - nextEmit)) : op;
      }
      nextHash = hash(load<u32>(nextIp), shift);
      candidate = src + <usize>load<u16>(table + h);
      store<u16>(table + h, <u16>(ip - src));
    } while (load<u32>(ip) != load<u32>(candidate));

    op = emitLiteral(op, nextEmit, <u32>(ip - nextEmit));
    // Emit copies while the position right after a copy matches again.
    do {
      const base = ip;
      const matched: usize = <usize>4 + matchLength(candidate + 4, ip + 4, end);
      ip += matched;
      op = emitCopy(op, <u32>(base - candidate), <u32>matched);
      nextEmit = ip;
      if (ip >= ipLimit) {
        return nextEmit < end ? emitLiteral(op, nextEmit, <u32>(end - nextEmit)) : op;
      }
      store<u16>(table + hash(load<u32>(ip - 1), shift), <u16>(ip - 1 - src));
      const h = hash(load<u32>(ip), shift);
      candidate = src + <usize>load<u16>(table + h);
      store<u16>(table + h, <u16>(ip - src));
    } while (load<u32>(ip) == load<u32>(candidate));
    ip++;
    nextHash = hash(load<u32>(ip), shift);
  }
}

function writeVarint(op: usize, v: u32): usize {
  while (v >= 0x80) { store<u8>(op++, <u8>(v | 0x80)); v >>= 7; }
  store<u8>(op++, <u8>v);
  return op;
}

/** One raw snappy block: varint length, then 64 KiB fragments. Returns the new op. */
function compressBlock(src: usize, n: u32, op: usize): usize {
  op = writeVarint(op, n);
  let done: u32 = 0;
  while (done < n) {
    const len = min(BLOCK, n - done);
    op = compressFragment(src + done, len, op);
    done += len;
  }
  return op;
}

/**
 * Compresses `inLen` bytes at `inPtr` to `outPtr` (capacity snappy_max_compressed_length(inLen)).
 * `xerial` = 1 writes the xerial framing, 0 a single raw block. Returns the output length.
 */
export function snappy_compress(inPtr: usize, inLen: u32, outPtr: usize, xerial: i32): i32 {
  if (!xerial) return <i32>(compressBlock(inPtr, inLen, outPtr) - outPtr);
  let op = outPtr;
  store<u64>(op, 0x0059505041_4E5382); // "\x82SNAPPY\0" little-endian
  store<u32>(op + 8, bswap<u32>(1));    // version
  store<u32>(op + 12, bswap<u32>(1));   // compatible version
  op += XERIAL_HEADER;
  let done: u32 = 0;
  while (done < inLen) {
    const len = min(CHUNK, inLen - done);
    const lenAt = op;
    op = compressBlock(inPtr + done, len, op + 4);
    store<u32>(lenAt, bswap<u32>(<u32>(op - lenAt - 4)));
    done += len;
  }
  return <i32>(op - outPtr);
}

// @ts-ignore: decorator
@inline function isXerial(p: usize, len: u32): bool {
  return len >= XERIAL_HEADER && load<u64>(p) == 0x0059505041_4E5382;
}

/** Reads a varint32 at p (< end); returns the value, or -1 when truncated/overlong. Sets varintEnd. */
let varintEnd: usize = 0;
function readVarint(p: usize, end: usize): i64 {
  let v: u64 = 0;
  for (let shift: u32 = 0; shift < 35; shift += 7) {
    if (p >= end) return -1;
    const b = <u64>load<u8>(p++);
    v |= (b & 0x7F) << shift;
    if (b < 0x80) { varintEnd = p; return v > 0xFFFFFFFF ? -1 : <i64>v; }
  }
  return -1;
}

/**
 * The uncompressed length the input declares (sum over xerial chunks, or a raw block's preamble),
 * or a negative status. Lengths ≥ 2^31 report ERR_TOO_LARGE. The declaration may lie: the decoder
 * still checks every write against its capacity and the final size against the declaration.
 */
export function snappy_uncompressed_length(inPtr: usize, inLen: u32): i32 {
  const end = inPtr + inLen;
  if (!isXerial(inPtr, inLen)) {
    const v = readVarint(inPtr, end);
    if (v < 0) return ERR_TRUNCATED;
    return v > 0x7FFFFFFF ? ERR_TOO_LARGE : <i32>v;
  }
  let total: i64 = 0;
  let p = inPtr;
  while (p < end) {
    if (isXerial(p, <u32>(end - p))) { p += XERIAL_HEADER; continue; }
    if (p + 4 > end) return ERR_TRUNCATED;
    const clen = <usize>bswap<u32>(load<u32>(p));
    p += 4;
    if (clen > end - p) return ERR_TRUNCATED;
    if (clen == 0) continue;
    const v = readVarint(p, p + clen);
    if (v < 0) return ERR_CORRUPT;
    total += v;
    if (total > 0x7FFFFFFF) return ERR_TOO_LARGE;
    p += clen;
  }
  return <i32>total;
}

/** Decodes one raw block [p, end) into [op, opEnd). Returns bytes written or a negative status. */
function decompressBlock(p: usize, end: usize, op: usize, opEnd: usize): i32 {
  const declared = readVarint(p, end);
  if (declared < 0) return ERR_CORRUPT;
  p = varintEnd;
  if (<u64>declared > <u64>(opEnd - op)) return ERR_TOO_LARGE;
  const outStart = op;
  const outEnd = op + <usize>declared;
  while (p < end) {
    const tag = <u32>load<u8>(p++);
    const kind = tag & 3;
    if (kind == 0) {
      let len = (tag >> 2) + 1;
      if (len > 60) {
        const extra = <usize>(len - 60);
        if (p + extra > end) return ERR_TRUNCATED;
        // Little-endian length of 1-4 bytes, stored minus one.
        let v: u32 = 0;
        for (let i: usize = 0; i < extra; i++) v |= <u32>load<u8>(p + i) << (<u32>i * 8);
        p += extra;
        if (v == 0xFFFFFFFF) return ERR_CORRUPT;
        len = v + 1;
      }
      if (<usize>len > end - p) return ERR_TRUNCATED;
      if (<usize>len > outEnd - op) return ERR_SIZE_MISMATCH;
      memory.copy(op, p, len);
      op += len; p += len;
      continue;
    }
    let len: u32, offset: u32;
    if (kind == 1) {
      if (p >= end) return ERR_TRUNCATED;
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | <u32>load<u8>(p++);
    } else if (kind == 2) {
      if (p + 2 > end) return ERR_TRUNCATED;
      len = (tag >> 2) + 1;
      offset = <u32>load<u16>(p); p += 2;
    } else {
      if (p + 4 > end) return ERR_TRUNCATED;
      len = (tag >> 2) + 1;
      offset = load<u32>(p); p += 4;
    }
    if (offset == 0 || <usize>offset > op - outStart) return ERR_CORRUPT;
    if (<usize>len > outEnd - op) return ERR_SIZE_MISMATCH;
    copyMatch(op, offset, len);
    op += len;
  }
  if (op != outEnd) return ERR_SIZE_MISMATCH;
  return <i32>(op - outStart);
}

/**
 * Decompresses xerial-framed or raw snappy at `inPtr` into `outPtr`, writing at most `outCap`
 * bytes (the caller passes min(declared length, maxOutputBytes)). Returns the length or a status.
 */
export function snappy_decompress(inPtr: usize, inLen: u32, outPtr: usize, outCap: u32): i32 {
  const end = inPtr + inLen;
  const opEnd = outPtr + outCap;
  if (!isXerial(inPtr, inLen)) {
    if (inLen == 0) return ERR_TRUNCATED;
    return decompressBlock(inPtr, end, outPtr, opEnd);
  }
  let p = inPtr;
  let op = outPtr;
  while (p < end) {
    if (isXerial(p, <u32>(end - p))) { p += XERIAL_HEADER; continue; }
    if (p + 4 > end) return ERR_TRUNCATED;
    const clen = <usize>bswap<u32>(load<u32>(p));
    p += 4;
    if (clen > end - p) return ERR_TRUNCATED;
    if (clen == 0) continue;
    const r = decompressBlock(p, p + clen, op, opEnd);
    if (r < 0) return r;
    op += r; p += clen;
  }
  return <i32>(op - outPtr);
}
