// LZ4 for Kafka (attributes codec 3): the LZ4 frame format (magic 0x184D2204) with independent
// blocks (256 KiB by default, see lz4_compress), a block compressor in the style of LZ4 "fast" (acceleration 1), xxhash32, and a
// bounds-checked frame decoder. RecordBatch v2 uses the correct header checksum (only the old
// magic v0/v1 message sets had Kafka's broken one), so we write and require the correct one.
export { workspaceBase, reserve } from "./workspace";
import {
  ERR_CORRUPT, ERR_TOO_LARGE, ERR_CHECKSUM, ERR_UNSUPPORTED, ERR_TRUNCATED, ERR_SIZE_MISMATCH,
  matchLength, copyMatch,
} from "./workspace";

const MAGIC: u32 = 0x184D2204;
const MIN_MATCH: u32 = 4;
/** The last match must start at least 12 bytes before the end of a block. */
const MF_LIMIT: u32 = 12;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS: u32 = 5;
/**
 * 8 Ki entries (64 KiB: u64 each, see entry()) hashed from 6 bytes (LZ4's 64-bit hash): 64 Ki entries
 * hashed from 4 bytes were ~15% slower and ~2% larger on telemetry; 6 bytes rather than 5 skip the
 * shortest matches, whose sequences cost more than they save (~3% smaller, ~5% faster on 100-byte
 * records in a RecordBatch; 7 bytes lose ~5% ratio).
 */
const HASH_BITS: u32 = 13;
const SKIP_TRIGGER: u32 = 6;

const MAX_DISTANCE: usize = 65535;
/** Block maximum sizes by BD block size id. */
const BLOCK_SIZES: StaticArray<u32> = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
const table: usize = memory.data(8 << HASH_BITS, 16);

// ---- xxhash32 ----------------------------------------------------------------------------------
const P1: u32 = 2654435761;
const P2: u32 = 2246822519;
const P3: u32 = 3266489917;
const P4: u32 = 668265263;
const P5: u32 = 374761393;

// @ts-ignore: decorator
@inline function round(acc: u32, lane: u32): u32 {
  return rotl<u32>(acc + lane * P2, 13) * P1;
}

/** xxHash32 of [p, p + len) with `seed` (exported for tests against published vectors). */
export function xxh32(p: usize, len: u32, seed: u32): u32 {
  const end = p + len;
  let h: u32;
  if (len >= 16) {
    let v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    const limit = end - 16;
    do {
      v1 = round(v1, load<u32>(p));
      v2 = round(v2, load<u32>(p, 4));
      v3 = round(v3, load<u32>(p, 8));
      v4 = round(v4, load<u32>(p, 12));
      p += 16;
    } while (p <= limit);
    h = rotl<u32>(v1, 1) + rotl<u32>(v2, 7) + rotl<u32>(v3, 12) + rotl<u32>(v4, 18);
  } else {
    h = seed + P5;
  }
  h += len;
  while (p + 4 <= end) { h = rotl<u32>(h + load<u32>(p) * P3, 17) * P4; p += 4; }
  while (p < end) { h = rotl<u32>(h + <u32>load<u8>(p) * P5, 11) * P1; p++; }
  h ^= h >> 15; h *= P2; h ^= h >> 13; h *= P3; h ^= h >> 16;
  return h;
}

// ---- block compressor ------------------------------------------------------------------------
// The table holds positions biased by `generation`, a counter that only grows across blocks
// and calls (LZ4's currentOffset idea): each block starts 64 KiB past the end of the last one, so an
// entry from an earlier block (or a zeroed one) is always more than MAX_DISTANCE behind and one
// distance check rejects it; the table never needs clearing. Reset only when the counter nears 2^31.
let generation: u32 = 0x10000;

// @ts-ignore: decorator
@inline function hash(v: u64): usize { // of the low 6 bytes of v, the 8 bytes at a position (≤ mfLimit + 1, so within the block)
  return <usize>(((v << 16) * 889523592379) >> (64 - HASH_BITS)) << 3;
}

/** A table entry: the position's table value, and its first 4 bytes above it (so a lookup needs no load from the candidate). */
// @ts-ignore: decorator
@inline function entry(cur: usize, v: u64): u64 {
  return <u64>cur | (v << 32);
}

// @ts-ignore: decorator
@inline function writeLength(op: usize, len: u32): usize {
  while (len >= 255) { store<u8>(op++, 255); len -= 255; }
  store<u8>(op++, <u8>len);
  return op;
}

/**
 * Writes the length bytes of a token field that holds 15 (nothing when len < 15). The common case
 * (len < 270) is one store and a select, not a branch on len that mispredicts about half the time.
 * May write one byte at op that the next write overwrites (within the output's slack).
 */
// @ts-ignore: decorator
@inline function extraLength(op: usize, len: u32): usize {
  if (len < 15 + 255) {
    store<u8>(op, <u8>(len - 15));
    return op + select<usize>(1, 0, len >= 15);
  }
  return writeLength(op, len - 15);
}

/** Copies ≥ len bytes in 8-byte steps (memory.copy is a call per use; literals are short). Writes up to 7 bytes past dst + len. */
// @ts-ignore: decorator
@inline function wildCopy(dst: usize, src: usize, len: u32): void {
  const end = dst + len;
  do { store<u64>(dst, load<u64>(src)); dst += 8; src += 8; } while (dst < end);
}

function lastLiterals(op: usize, anchor: usize, end: usize): usize {
  const lit = <u32>(end - anchor);
  if (lit >= 15) { store<u8>(op++, 0xF0); op = writeLength(op, lit - 15); }
  else store<u8>(op++, <u8>(lit << 4));
  memory.copy(op, anchor, lit);
  return op + lit;
}

/** Compresses one block (≤ 4 MiB) into LZ4 block format at op. Returns the new op. */
function compressBlock(src: usize, n: u32, op: usize): usize {
  const end = src + n;
  if (n < MF_LIMIT + 1) return lastLiterals(op, src, end);
  if (generation > 0x7FFFFFFF - 0x10000 - n) {
    memory.fill(table, 0, <usize>8 << HASH_BITS);
    generation = 0x10000;
  }
  // An input address plus delta is its table value (u32 arithmetic wraps).
  const delta = <usize>generation - src;
  generation += n + 0x10000;
  const mfLimit = end - MF_LIMIT;
  const matchLimit = end - LAST_LITERALS;
  let anchor = src;
  let ip = src + 1;
  let forwardV = load<u64>(ip);
  let forwardH = hash(forwardV);
  while (true) {
    // Find a match; the step grows every 64 misses so incompressible data passes quickly.
    let forwardIp = ip;
    let step: u32 = 1;
    let searchMatchNb: u32 = 1 << SKIP_TRIGGER;
    let match: usize = 0;
    while (true) {
      const h = forwardH;
      const v = forwardV;
      ip = forwardIp;
      forwardIp += step;
      step = searchMatchNb++ >> SKIP_TRIGGER;
      if (forwardIp > mfLimit) return lastLiterals(op, anchor, end);
      const e = load<u64>(table + h);
      forwardV = load<u64>(forwardIp);
      forwardH = hash(forwardV);
      const cur = ip + delta;
      store<u64>(table + h, entry(cur, v));
      // One branch: an entry too far back or from an earlier block fails the distance test.
      const dist = cur - <usize><u32>e;
      if ((dist <= MAX_DISTANCE) & (<u32>(e >> 32) == <u32>v)) { match = ip - dist; break; }
    }

    // Extend backwards over bytes that also match: the common-suffix length of the 8 bytes before each, in one step.
    // The reads may start before the block (still inside memory: src is past the table); the count is clamped to it.
    let back = <usize>(clz<u64>(load<u64>(ip - 8) ^ load<u64>(match - 8)) >> 3);
    back = min(back, min(ip - anchor, match - src));
    ip -= back; match -= back;
    if (back == 8) while (ip > anchor && match > src && load<u8>(ip - 1) == load<u8>(match - 1)) { ip--; match--; }

    let token = op++;
    const lit = <u32>(ip - anchor);
    if (lit >= 15) op = writeLength(op, lit - 15);
    let litBits = <u32>min(lit, 15) << 4;
    // Reads stay in the block (ip ≤ mfLimit = end - 12); the ≤ 7-byte overrun of the output is within lz4_max_compressed_length's slack.
    wildCopy(op, anchor, lit);
    op += lit;

    while (true) {
      store<u16>(op, <u16>(ip - match));
      op += 2;
      const ml = <u32>matchLength(match + MIN_MATCH, ip + MIN_MATCH, matchLimit);
      ip += MIN_MATCH + ml;
      store<u8>(token, <u8>(litBits | min(ml, 15)));
      op = extraLength(op, ml);
      anchor = ip;
      if (ip > mfLimit) return lastLiterals(op, anchor, end);
      const v2 = load<u64>(ip - 2);
      store<u64>(table + hash(v2), entry(ip - 2 + delta, v2));
      // A match right here continues without literals.
      const v = load<u64>(ip);
      const h = hash(v);
      const e = load<u64>(table + h);
      const cur = ip + delta;
      store<u64>(table + h, entry(cur, v));
      const dist = cur - <usize><u32>e;
      if (!((dist <= MAX_DISTANCE) & (<u32>(e >> 32) == <u32>v))) break;
      match = ip - dist;
      token = op++;
      litBits = 0;
    }
    ip++;
    forwardV = load<u64>(ip);
    forwardH = hash(forwardV);
  }
}

/** Worst-case lz4_compress output for `n` input bytes, any block size. */
export function lz4_max_compressed_length(n: u32): u32 {
  // header + block sizes (counted for the smallest block size) + the data + worst-case expansion
  // of the block being compressed in place before a raw fallback + end mark and content checksum
  return 7 + 4 * (n / (64 * 1024) + 1) + n + n / 255 + 16 + 8 + 16;
}

/**
 * Compresses `inLen` bytes at `inPtr` (≥ 8: the compressor reads up to 8 bytes before a block and
 * discards them; the workspace is far past that) into one LZ4 frame at `outPtr` (capacity
 * lz4_max_compressed_length). Independent blocks (Java's reader rejects dependent ones), no block
 * checksums. `flags` bit 0 appends a content checksum (xxh32 of the input); bits 4-6 give the
 * block size id (4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB; 0 means 5). We default to 256 KiB:
 * on the telemetry corpus 64 KiB blocks (Java's writer default) cost ~7% ratio against lz4js's
 * 4 MiB blocks, 256 KiB is within 1%, and every reader takes it (Java's and librdkafka's accept
 * block ids 4-7; a Java reader buffers one block, so 256 KiB stays modest).
 * A block that does not shrink is stored uncompressed (high bit of its size), so the frame never
 * grows by more than its headers. Returns the output length.
 */
export function lz4_compress(inPtr: usize, inLen: u32, outPtr: usize, flags: i32): i32 {
  const contentChecksum = (flags & 1) != 0;
  let bsid = <u32>(flags >> 4) & 7;
  if (bsid < 4) bsid = 5;
  const blockMax = BLOCK_SIZES[bsid];
  let op = outPtr;
  store<u32>(op, MAGIC);
  store<u8>(op + 4, contentChecksum ? 0x64 : 0x60); // version 01, independent blocks [, content checksum]
  store<u8>(op + 5, <u8>(bsid << 4));
  store<u8>(op + 6, <u8>(xxh32(op + 4, 2, 0) >> 8));
  op += 7;
  let done: u32 = 0;
  while (done < inLen) {
    const len = min(blockMax, inLen - done);
    const src = inPtr + done;
    const blockEnd = compressBlock(src, len, op + 4);
    const clen = <u32>(blockEnd - op - 4);
    if (clen >= len) {
      store<u32>(op, len | 0x80000000);
      memory.copy(op + 4, src, len);
      op += 4 + len;
    } else {
      store<u32>(op, clen);
      op = blockEnd;
    }
    done += len;
  }
  store<u32>(op, 0); op += 4;
  if (contentChecksum) { store<u32>(op, xxh32(inPtr, inLen, 0)); op += 4; }
  return <i32>(op - outPtr);
}

// ---- decoder ---------------------------------------------------------------------------------
/** Decodes one LZ4 block [p, end) to [op, opEnd); matches may reach back to `windowStart`. */
function decompressBlock(p: usize, end: usize, op: usize, opEnd: usize, windowStart: usize): i32 {
  const outStart = op;
  if (p >= end) return ERR_TRUNCATED;
  while (true) {
    const token = <u32>load<u8>(p++);
    let lit = <usize>(token >> 4);
    if (lit == 15) {
      let b: u32;
      do {
        if (p >= end) return ERR_TRUNCATED;
        b = <u32>load<u8>(p++);
        lit += b;
      } while (b == 255);
    }
    if (lit > end - p) return ERR_TRUNCATED;
    if (lit > opEnd - op) return ERR_TOO_LARGE;
    memory.copy(op, p, lit);
    op += lit; p += lit;
    if (p == end) break; // the last sequence has literals only
    if (p + 2 > end) return ERR_TRUNCATED;
    const offset = <usize>load<u16>(p);
    p += 2;
    if (offset == 0 || offset > op - windowStart) return ERR_CORRUPT;
    let ml = <usize>(token & 15);
    if (ml == 15) {
      let b: u32;
      do {
        if (p >= end) return ERR_TRUNCATED;
        b = <u32>load<u8>(p++);
        ml += b;
      } while (b == 255);
    }
    ml += MIN_MATCH;
    if (ml > opEnd - op) return ERR_TOO_LARGE;
    copyMatch(op, offset, ml);
    op += ml;
  }
  return <i32>(op - outStart);
}


/** Validates a frame header at p; returns its length (magic to HC) or a negative status. */
function frameHeader(p: usize, end: usize): i32 {
  if (p + 7 > end) return ERR_TRUNCATED;
  if (load<u32>(p) != MAGIC) return ERR_CORRUPT;
  const flg = <u32>load<u8>(p + 4);
  const bd = <u32>load<u8>(p + 5);
  if ((flg >> 6) != 1 || (flg & 2) != 0 || (bd & 0x8F) != 0) return ERR_CORRUPT;
  if (flg & 1) return ERR_UNSUPPORTED; // dictionary id: Kafka never uses one
  const bsid = (bd >> 4) & 7;
  if (bsid < 4) return ERR_CORRUPT;
  const descLen: usize = 2 + ((flg & 8) ? 8 : 0);
  if (p + 4 + descLen + 1 > end) return ERR_TRUNCATED;
  const hc = <u32>load<u8>(p + 4 + descLen);
  if (((xxh32(p + 4, <u32>descLen, 0) >> 8) & 0xFF) != hc) return ERR_CHECKSUM;
  return <i32>(<usize>5 + descLen);
}

/**
 * An upper bound of the decompressed size of the frame(s) at `inPtr`: the content size when
 * declared, else blocks × block maximum. Saturates at 2^31 - 1. Negative status when malformed.
 * The JS side allocates min(bound, maxOutputBytes), so a small bomb cannot make it allocate more.
 */
export function lz4_decompressed_bound(inPtr: usize, inLen: u32): i32 {
  const end = inPtr + inLen;
  let p = inPtr;
  let total: u64 = 0;
  if (inLen == 0) return ERR_TRUNCATED;
  while (p < end) {
    const hl = frameHeader(p, end);
    if (hl < 0) return hl;
    const flg = <u32>load<u8>(p + 4);
    const blockMax = BLOCK_SIZES[(<u32>load<u8>(p + 5) >> 4) & 7];
    p += hl;
    while (true) {
      if (p + 4 > end) return ERR_TRUNCATED;
      const size = load<u32>(p);
      p += 4;
      if (size == 0) break;
      const stored = <usize>(size & 0x7FFFFFFF);
      if (stored > <usize>blockMax) return ERR_CORRUPT;
      p += stored + ((flg & 0x10) ? 4 : 0);
      if (p > end) return ERR_TRUNCATED;
      total += (size & 0x80000000) ? <u64>stored : <u64>blockMax;
    }
    if (flg & 4) { p += 4; if (p > end) return ERR_TRUNCATED; }
  }
  return total > 0x7FFFFFFF ? 0x7FFFFFFF : <i32>total;
}

/**
 * Decodes one or more concatenated LZ4 frames at `inPtr` into `outPtr`, at most `outCap` bytes.
 * Verifies the header checksum, block checksums and content checksum when the frame has them,
 * and a declared content size. Returns the length or a negative status.
 */
export function lz4_decompress(inPtr: usize, inLen: u32, outPtr: usize, outCap: u32): i32 {
  const end = inPtr + inLen;
  const opEnd = outPtr + outCap;
  let p = inPtr;
  let op = outPtr;
  if (inLen == 0) return ERR_TRUNCATED;
  while (p < end) {
    const hl = frameHeader(p, end);
    if (hl < 0) return hl;
    const flg = <u32>load<u8>(p + 4);
    const blockMax = BLOCK_SIZES[(<u32>load<u8>(p + 5) >> 4) & 7];
    const hasContentSize = (flg & 8) != 0;
    const contentSize = hasContentSize ? load<u64>(p + 6) : 0;
    if (hasContentSize && contentSize > <u64>(opEnd - op)) return ERR_TOO_LARGE;
    const independent = (flg & 0x20) != 0;
    p += hl;
    const frameStart = op;
    while (true) {
      if (p + 4 > end) return ERR_TRUNCATED;
      const size = load<u32>(p);
      p += 4;
      if (size == 0) break;
      const stored = <usize>(size & 0x7FFFFFFF);
      if (stored > <usize>blockMax) return ERR_CORRUPT;
      if (stored > end - p) return ERR_TRUNCATED;
      if (flg & 0x10) {
        if (p + stored + 4 > end) return ERR_TRUNCATED;
        if (xxh32(p, <u32>stored, 0) != load<u32>(p + stored)) return ERR_CHECKSUM;
      }
      if (size & 0x80000000) {
        if (stored > opEnd - op) return ERR_TOO_LARGE;
        memory.copy(op, p, stored);
        op += stored;
      } else {
        const blockCap = min(opEnd - op, <usize>blockMax);
        const r = decompressBlock(p, p + stored, op, op + blockCap, independent ? op : frameStart);
        if (r < 0) return r == ERR_TOO_LARGE && blockCap == <usize>blockMax ? ERR_CORRUPT : r;
        op += <usize>r;
      }
      p += stored + ((flg & 0x10) ? 4 : 0);
    }
    if (flg & 4) {
      if (p + 4 > end) return ERR_TRUNCATED;
      if (xxh32(frameStart, <u32>(op - frameStart), 0) != load<u32>(p)) return ERR_CHECKSUM;
      p += 4;
    }
    if (hasContentSize && <u64>(op - frameStart) != contentSize) return ERR_SIZE_MISMATCH;
  }
  return <i32>(op - outPtr);
}
