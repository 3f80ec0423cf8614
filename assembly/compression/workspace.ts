// Shared by the compression modules: status codes and the one growable scratch region.
// The JS side stages input at workspaceBase(), output right after it, and calls with (ptr, len):
// no allocator, no generated bindings (see bindings/compression.ts).

/** Malformed input (bad tag, offset out of range, bad header). */
export const ERR_CORRUPT: i32 = -1;
/** The output would exceed the capacity the caller allowed (maxOutputBytes). */
export const ERR_TOO_LARGE: i32 = -2;
/** A checksum in the data does not match the data. */
export const ERR_CHECKSUM: i32 = -3;
/** A valid but unsupported feature (e.g. an LZ4 dictionary id). */
export const ERR_UNSUPPORTED: i32 = -4;
/** The input ends before the structure it declares. */
export const ERR_TRUNCATED: i32 = -5;
/** The decoded size differs from the size the data declared. */
export const ERR_SIZE_MISMATCH: i32 = -6;
/** memory.grow failed. */
export const ERR_NO_MEMORY: i32 = -7;

// @ts-ignore: decorator
@inline export function alignedBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/** Start of the scratch region; stable for the life of the instance. */
export function workspaceBase(): usize {
  return alignedBase();
}

/** Grows memory so that `bytes` fit from workspaceBase(); returns 0, or ERR_NO_MEMORY. */
export function reserve(bytes: u32): i32 {
  const end: u64 = <u64>alignedBase() + <u64>bytes;
  if (end > 0xFFFF0000) return ERR_NO_MEMORY;
  const have: u64 = <u64>memory.size() << 16;
  if (end <= have) return 0;
  const pages = <i32>((end - have + 0xFFFF) >> 16);
  return memory.grow(pages) < 0 ? ERR_NO_MEMORY : 0;
}

/** Length of the common prefix of a and b, not reading at or past `limit` (an address in b's range). */
// @ts-ignore: decorator
@inline export function matchLength(a: usize, b: usize, limit: usize): usize {
  const start = b;
  while (b + 8 <= limit) {
    const x = load<u64>(a) ^ load<u64>(b);
    if (x != 0) return b - start + <usize>(ctz<u64>(x) >> 3);
    a += 8; b += 8;
  }
  while (b < limit && load<u8>(a) == load<u8>(b)) { a++; b++; }
  return b - start;
}

/** Copies `len` bytes from `op - offset` to `op` with LZ77 semantics (an overlap repeats the pattern). */
// @ts-ignore: decorator
@inline export function copyMatch(op: usize, offset: usize, len: usize): void {
  let src = op - offset;
  if (offset >= len) { memory.copy(op, src, len); return; }
  if (offset >= 8) {
    // Non-overlapping 8-byte steps are safe once the distance is at least 8.
    const end = op + len;
    while (op + 8 <= end) { store<u64>(op, load<u64>(src)); op += 8; src += 8; }
    while (op < end) { store<u8>(op, load<u8>(src)); op++; src++; }
    return;
  }
  const end = op + len;
  while (op < end) { store<u8>(op, load<u8>(src)); op++; src++; }
}
