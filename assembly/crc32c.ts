// CRC32C (Castagnoli, reflected 0x82F63B78). WASM has no CRC or carry-less multiply instruction;
// two paths instead (bench notes in DESIGN.md):
// - short inputs: slicing-by-16, 16 tables of 256 u32 (16 KiB), zero-filled static memory (not stored
//   in the binary) filled by the start function;
// - longer inputs: XOR folding with sparse multiples of the polynomial (the idea of Chorba, Russell
//   2024): x^(8·5275) + x^(8·4508) + x^(8·2751) + 1 ≡ 0 (mod P), so a byte at distance ≥ 5275 from
//   the end can be XORed into the bytes 767, 2524 and 5275 after it without changing the CRC. Each
//   8-byte word costs 4 loads, 3 XORs and 3 stores instead of 8 table lookups. The last 5275-5282
//   bytes (and inputs of 1-10 KiB, copied) are folded the same way with a 6-term multiple of lower
//   degree, x^(8·827) + x^(8·698) + x^(8·540) + x^(8·380) + x^(8·218) + 1 (5 stores a word), and the
//   last 827-834 bytes go through the tables.

const CRC32C_POLY: u32 = 0x82f63b78;
const TABLES: usize = memory.data(16 * 1024, 64);

// Distances of the multiple's terms below its leading one, in bytes (found by a search over
// x^(8k) mod P: the lowest degree of a 4-term byte-aligned multiple). Its gaps of ≥ 767 bytes between
// the streams keep a load from reading a store still in flight.
const FOLD_A: usize = 5275;
const FOLD_AC: usize = 5275 - 2751;
const FOLD_AB: usize = 5275 - 4508;
// The folded bytes are not written back into the input: pending XORs live in a window of FOLD_BLOCK
// bytes plus the FOLD_A that run ahead of it, moved to the front after each block.
const FOLD_BLOCK: usize = 8192;
// The browser's build (scripts/build.mjs, --use CRC32C_TABLES_ONLY=1) leaves folding out: it costs
// ~420 B gzipped of a page's 25 KiB budget, and a page's batches are small.
// @ts-ignore: defined on the command line, or not at all
const FOLD: bool = !isDefined(CRC32C_TABLES_ONLY);
const PENDING: usize = memory.data(FOLD ? <i32>(FOLD_BLOCK + FOLD_A + 16) : 1, 64);
// The 6-term multiple of lowest degree whose terms are ≥ 128 bytes apart (same reason).
const FOLD6_A: usize = 827;
const FOLD6_AB: usize = 827 - 698;
const FOLD6_AC: usize = 827 - 540;
const FOLD6_AD: usize = 827 - 380;
const FOLD6_AE: usize = 827 - 218;
// Inputs from FOLD6_MIN are folded by the 6-term multiple, from FOLD_MIN by the 4-term one first
// (measured crossovers; test/assembly/crc32c.test.ts checks every length around them). An input below
// FOLD_MIN is copied into PENDING, so FOLD_MIN <= FOLD_BLOCK + FOLD_A.
const FOLD_MIN: usize = 10240;
const FOLD6_MIN: usize = 1024;

function buildTables(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    store<u32>(TABLES + (<usize>i << 2), c);
  }
  // Table t advances a byte followed by t zero bytes.
  for (let t: usize = 1; t < 16; t++) {
    for (let i: usize = 0; i < 256; i++) {
      const prev = load<u32>(TABLES + ((t - 1) << 10) + (i << 2));
      store<u32>(TABLES + (t << 10) + (i << 2), (prev >>> 8) ^ load<u32>(TABLES + ((<usize>prev & 0xff) << 2)));
    }
  }
}

// Top-level statements form the start function (exported as _initialize, see asconfig.json).
buildTables();

/** Continues a CRC32C: pass 0 to start; returns the (unsigned) CRC of everything so far. */
export function crc32cUpdate(crc: u32, ptr: usize, len: usize): u32 {
  if (!FOLD || len < FOLD6_MIN) return crc32cTables(crc, ptr, len);
  if (len >= FOLD_MIN) return crc32cFold(crc, ptr, len);
  // The 6-term fold works in place, so it folds a copy.
  memory.copy(PENDING, ptr, len);
  store<u32>(PENDING, load<u32>(PENDING) ^ ~crc);
  return crc32cFoldInPlace(PENDING, len);
}

/** Slicing-by-16 (the path of short inputs and of what folding leaves). */
function crc32cTables(crc: u32, ptr: usize, len: usize): u32 {
  let c = ~crc;
  while (len >= 16) {
    // Lookups of the 12 data-only bytes first: they do not depend on c, so the CPU runs them
    // ahead; only the 4 lookups of (first word ^ c) and two XOR levels sit on the loop-carried
    // path. (With one long XOR chain instead this loop ran ~20% slower.) Indexes are pre-scaled
    // by 4 with one shift and one mask.
    const b = load<u32>(ptr, 4);
    const d = load<u32>(ptr, 8);
    const e = load<u32>(ptr, 12);
    const x = load<u32>(<usize>((b << 2) & 0x3fc), TABLES + 11 * 1024)
      ^ load<u32>(<usize>((b >>> 6) & 0x3fc), TABLES + 10 * 1024)
      ^ load<u32>(<usize>((b >>> 14) & 0x3fc), TABLES + 9 * 1024)
      ^ load<u32>(<usize>((b >>> 22) & 0x3fc), TABLES + 8 * 1024)
      ^ load<u32>(<usize>((d << 2) & 0x3fc), TABLES + 7 * 1024)
      ^ load<u32>(<usize>((d >>> 6) & 0x3fc), TABLES + 6 * 1024)
      ^ load<u32>(<usize>((d >>> 14) & 0x3fc), TABLES + 5 * 1024)
      ^ load<u32>(<usize>((d >>> 22) & 0x3fc), TABLES + 4 * 1024)
      ^ load<u32>(<usize>((e << 2) & 0x3fc), TABLES + 3 * 1024)
      ^ load<u32>(<usize>((e >>> 6) & 0x3fc), TABLES + 2 * 1024)
      ^ load<u32>(<usize>((e >>> 14) & 0x3fc), TABLES + 1 * 1024)
      ^ load<u32>(<usize>((e >>> 22) & 0x3fc), TABLES + 0 * 1024);
    const a = load<u32>(ptr) ^ c;
    c = x ^ ((load<u32>(<usize>((a << 2) & 0x3fc), TABLES + 15 * 1024) ^ load<u32>(<usize>((a >>> 6) & 0x3fc), TABLES + 14 * 1024))
      ^ (load<u32>(<usize>((a >>> 14) & 0x3fc), TABLES + 13 * 1024) ^ load<u32>(<usize>((a >>> 22) & 0x3fc), TABLES + 12 * 1024)));
    ptr += 16;
    len -= 16;
  }
  while (len > 0) {
    c = load<u32>(<usize>((c ^ <u32>load<u8>(ptr)) & 0xff) << 2, TABLES) ^ (c >>> 8);
    ptr++;
    len--;
  }
  return ~c;
}

/**
 * XOR folding for len ≥ FOLD_A + 8. Runs the register from 0: the running CRC is XORed into the
 * first 4 bytes instead (what the register does with them anyway), and leading zeros leave a 0
 * register at 0, so the folded-away words need no further work.
 */
function crc32cFold(crc: u32, ptr: usize, len: usize): u32 {
  memory.fill(PENDING, 0, FOLD_A);
  store<u32>(PENDING, ~crc);
  let words = (len - FOLD_A) >> 3; // words whose three targets all lie inside the input
  const rest = len - (words << 3);
  let q = PENDING;
  while (words) {
    const n = min(words, (PENDING + FOLD_BLOCK - q) >> 3);
    words -= n;
    const qEnd = q + (n << 3);
    if (n & 1) {
      const w = load<u64>(ptr) ^ load<u64>(q);
      store<u64>(q, w, FOLD_A); // the first write to that pending word: a store, not an XOR
      store<u64>(q, load<u64>(q, FOLD_AC) ^ w, FOLD_AC);
      store<u64>(q, load<u64>(q, FOLD_AB) ^ w, FOLD_AB);
      ptr += 8;
      q += 8;
    }
    // Two words per turn: ~30% faster in V8 than one (four were no faster).
    while (q < qEnd) {
      const w = load<u64>(ptr) ^ load<u64>(q);
      const v = load<u64>(ptr, 8) ^ load<u64>(q, 8);
      store<u64>(q, w, FOLD_A);
      store<u64>(q, v, FOLD_A + 8);
      store<u64>(q, load<u64>(q, FOLD_AC) ^ w, FOLD_AC);
      store<u64>(q, load<u64>(q, FOLD_AC + 8) ^ v, FOLD_AC + 8);
      store<u64>(q, load<u64>(q, FOLD_AB) ^ w, FOLD_AB);
      store<u64>(q, load<u64>(q, FOLD_AB + 8) ^ v, FOLD_AB + 8);
      ptr += 16;
      q += 16;
    }
    if (q == PENDING + FOLD_BLOCK) {
      memory.copy(PENDING, q, FOLD_A);
      q = PENDING;
    }
  }
  // The rest (FOLD_A to FOLD_A + 7 bytes) is input ^ pending; its last < 8 bytes were never written.
  store<u64>(q, 0, FOLD_A);
  let i: usize = 0;
  for (; i + 8 <= rest; i += 8) store<u64>(q + i, load<u64>(q + i) ^ load<u64>(ptr + i));
  for (; i < rest; i++) store<u8>(q + i, load<u8>(q + i) ^ load<u8>(ptr + i));
  return crc32cFoldInPlace(q, rest);
}

/** Folds len ≥ FOLD6_A + 8 bytes of our own memory in place with the 6-term multiple, register from 0. */
function crc32cFoldInPlace(p: usize, len: usize): u32 {
  const end = p + (((len - FOLD6_A) >> 3) << 3);
  len -= end - p;
  if ((end - p) & 8) {
    const w = load<u64>(p);
    store<u64>(p, load<u64>(p, FOLD6_AB) ^ w, FOLD6_AB);
    store<u64>(p, load<u64>(p, FOLD6_AC) ^ w, FOLD6_AC);
    store<u64>(p, load<u64>(p, FOLD6_AD) ^ w, FOLD6_AD);
    store<u64>(p, load<u64>(p, FOLD6_AE) ^ w, FOLD6_AE);
    store<u64>(p, load<u64>(p, FOLD6_A) ^ w, FOLD6_A);
    p += 8;
  }
  while (p < end) {
    const w = load<u64>(p);
    const v = load<u64>(p, 8);
    store<u64>(p, load<u64>(p, FOLD6_AB) ^ w, FOLD6_AB);
    store<u64>(p, load<u64>(p, FOLD6_AB + 8) ^ v, FOLD6_AB + 8);
    store<u64>(p, load<u64>(p, FOLD6_AC) ^ w, FOLD6_AC);
    store<u64>(p, load<u64>(p, FOLD6_AC + 8) ^ v, FOLD6_AC + 8);
    store<u64>(p, load<u64>(p, FOLD6_AD) ^ w, FOLD6_AD);
    store<u64>(p, load<u64>(p, FOLD6_AD + 8) ^ v, FOLD6_AD + 8);
    store<u64>(p, load<u64>(p, FOLD6_AE) ^ w, FOLD6_AE);
    store<u64>(p, load<u64>(p, FOLD6_AE + 8) ^ v, FOLD6_AE + 8);
    store<u64>(p, load<u64>(p, FOLD6_A) ^ w, FOLD6_A);
    store<u64>(p, load<u64>(p, FOLD6_A + 8) ^ v, FOLD6_A + 8);
    p += 16;
  }
  return crc32cTables(~0, p, len);
}
