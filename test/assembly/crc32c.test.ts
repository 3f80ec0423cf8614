// CRC32C in both WASM builds: build/kafkasm.wasm (slicing-by-16 below 1 KiB, XOR folding above) and
// build/kafkasm-browser.wasm (tables only). Every case runs on both against the same vectors and the
// same byte-at-a-time reference.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { loadCodec, type Codec } from "../../bindings/codec.ts";

const wasm = (name: string) => readFileSync(new URL(`../../build/${name}.wasm`, import.meta.url));
const builds: [string, string, Codec][] = [
  ["kafkasm.wasm (folding)", "kafkasm", await loadCodec(wasm("kafkasm"))],
  ["kafkasm-browser.wasm (tables only)", "kafkasm-browser", await loadCodec(wasm("kafkasm-browser"))],
];
/** assembly/crc32c.ts FOLD6_MIN and FOLD_MIN: from these lengths on, kafkasm.wasm folds with the 6-term, then the 4-term multiple. */
const FOLD6_MIN = 1024;
const FOLD_MIN = 10240;
/** Lengths up to here reach the threshold and three moves of the fold's pending window (5275 + 8192·k). */
const EVERY_LENGTH_TO = 5283 + 3 * 8192 + 64;

const POLY = 0x82f63b78;

/** Bit-at-a-time CRC32C: the definition, slow and obviously right. */
function crc32cBitwise(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  }
  return ~c >>> 0;
}

const TABLE = Uint32Array.from({ length: 256 }, (_, i) => ~crc32cBitwise(Uint8Array.of(i), 0xffffffff) >>> 0);
/** Byte-at-a-time CRC32C (one table), fast enough for megabytes; checked against the bitwise one below. */
function crc32cBytewise(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Bytes from a fixed LCG, so a failure reproduces. */
function bytesOf(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * `n` bytes whose CRC32C is 0: n-4 arbitrary bytes, then the 4 that bring the register back to its
 * initial 0xFFFFFFFF (each CRC step run backwards: the polynomial's top bit says which way it went).
 * Whatever follows such a prefix has the CRC it has alone, so published vectors can be checked on
 * inputs long enough to be folded.
 */
function zeroCrcPrefix(n: number, seed: number): Uint8Array {
  const out = bytesOf(n, seed);
  const register = ~crc32cBytewise(out.subarray(0, n - 4)) >>> 0;
  let c = 0xffffffff;
  for (let k = 0; k < 32; k++) c = c & 0x80000000 ? (((c ^ POLY) << 1) | 1) >>> 0 : (c << 1) >>> 0;
  new DataView(out.buffer).setUint32(n - 4, (c ^ register) >>> 0, true);
  return out;
}

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
const te = new TextEncoder();
/** Published vectors: RFC 3720 (iSCSI) B.4, and the check value of "123456789". */
const VECTORS: [string, Uint8Array, number][] = [
  ["\"123456789\" (the check value)", te.encode("123456789"), 0xe3069283],
  ["32 bytes of zeros", new Uint8Array(32), 0x8a9136aa],
  ["32 bytes of ones", new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ["32 incrementing bytes", Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ["32 decrementing bytes", Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ["an iSCSI SCSI Read (10) command PDU", hex("01c00000000000000000000000000000" + "14000000000004000000001400000018" + "28000000000000000200000000000000"), 0xd9963a56],
];

const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

test("the references agree: bitwise and bytewise give the check value and each other", () => {
  assert.is(crc32cBitwise(te.encode("123456789")), 0xe3069283);
  for (const n of [0, 1, 7, 64, 1000]) {
    const b = bytesOf(n, n + 1);
    assert.is(crc32cBytewise(b), crc32cBitwise(b), `length ${n}`);
    assert.is(crc32cBytewise(b, 0xdeadbeef), crc32cBitwise(b, 0xdeadbeef), `length ${n}, chained`);
  }
});

test("a zero-CRC prefix has CRC 0, and the vectors keep their values behind it (in the references)", () => {
  for (const n of [4, 5, FOLD_MIN, 100_003]) assert.is(crc32cBytewise(zeroCrcPrefix(n, n)), 0, `prefix of ${n}`);
  for (const [name, v, want] of VECTORS) assert.is(crc32cBitwise(concat(zeroCrcPrefix(9000, 3), v)), want, name);
});

test("kafkasm.wasm folds and kafkasm-browser.wasm does not (they are different builds)", () => {
  assert.ok(wasm("kafkasm").length > wasm("kafkasm-browser").length + 200, "the folding code is in kafkasm.wasm only");
});

for (const [build, file, codec] of builds) {
  const x = codec.exports;

  test(`${build}: the published vectors (RFC 3720 B.4, "123456789"), and 0 for no input`, () => {
    assert.is(codec.crc32c(new Uint8Array(0)), 0);
    for (const [name, v, want] of VECTORS) assert.is(codec.crc32c(v), want, name);
  });

  test(`${build}: the published vectors behind zero-CRC prefixes long enough to be folded`, () => {
    for (const n of [FOLD6_MIN - 9, FOLD6_MIN, 827 + 1000, FOLD_MIN - 9, FOLD_MIN, 5283 + 8192 - 13, 65_536, 1 << 20]) {
      const prefix = zeroCrcPrefix(n, n);
      for (const [name, v, want] of VECTORS) assert.is(codec.crc32c(concat(prefix, v)), want, `${name} behind ${n} bytes`);
    }
  });

  test(`${build}: every length 0..${EVERY_LENGTH_TO} equals the bytewise reference`, () => {
    const data = bytesOf(EVERY_LENGTH_TO, 7);
    let c = 0xffffffff; // the reference's register over data[0..n)
    for (let n = 0; n <= EVERY_LENGTH_TO; n++) {
      const want = ~c >>> 0;
      const got = codec.crc32c(data.subarray(0, n));
      if (got !== want) assert.is(got, want, `length ${n}`);
      if (n < EVERY_LENGTH_TO) c = TABLE[(c ^ data[n]!) & 0xff]! ^ (c >>> 8);
    }
  });

  test(`${build}: every length 0..300 of random bytes equals the bitwise reference`, () => {
    for (let n = 0; n <= 300; n++) {
      const b = Uint8Array.from({ length: n }, () => (Math.random() * 256) | 0);
      assert.is(codec.crc32c(b), crc32cBitwise(b), `length ${n}`);
    }
  });

  test(`${build}: unaligned inputs (offsets 0-7) of short and folded lengths, continuing a CRC`, () => {
    const lengths = [0, 3, 15, 16, 17, 255, FOLD6_MIN - 1, FOLD6_MIN, FOLD6_MIN + 9, FOLD_MIN - 1, FOLD_MIN, FOLD_MIN + 7, 40_000];
    const ptr = codec.alloc(40_000 + 8);
    for (const n of lengths) {
      const b = bytesOf(n, n + 11);
      for (let off = 0; off < 8; off++) {
        codec.u8.set(b, ptr + off);
        assert.is(x.crc32cUpdate(0, ptr + off, n) >>> 0, crc32cBytewise(b), `length ${n} at offset ${off}`);
        assert.is(x.crc32cUpdate(0x9b2f00e1, ptr + off, n) >>> 0, crc32cBytewise(b, 0x9b2f00e1), `length ${n} at offset ${off}, chained`);
      }
    }
    codec.free(ptr, 40_000 + 8);
  });

  test(`${build}: crc32cUpdate chained over random splits equals the one-shot reference (property)`, () => {
    const cap = 3 * FOLD_MIN;
    const scratch = codec.alloc(cap + 8);
    fc.assert(fc.property(
      fc.integer({ min: 0, max: cap }), fc.integer(),
      fc.array(fc.nat(cap), { maxLength: 6 }),
      (n, seed, cuts) => {
        const bytes = bytesOf(n, seed);
        const points = [...new Set(cuts.map((c) => c % (n + 1)))].sort((a, b) => a - b);
        let crc = 0;
        let prev = 0;
        for (const p of [...points, n]) {
          const piece = bytes.subarray(prev, p);
          codec.u8.set(piece, scratch + (prev % 7)); // also vary alignment
          crc = x.crc32cUpdate(crc, scratch + (prev % 7), piece.length) >>> 0;
          prev = p;
        }
        return crc === crc32cBytewise(bytes);
      },
    ), { numRuns: 200 });
    codec.free(scratch, cap + 8);
  });

  test(`${build}: 1 MiB in one crcUpdate call and through crc32c's 64 KiB chunks equals the reference`, () => {
    const b = bytesOf(1 << 20, 5);
    const want = crc32cBytewise(b);
    assert.is(codec.crc32c(b), want, "chunked");
    const ptr = codec.alloc(1 << 20);
    codec.u8.set(b, ptr);
    assert.is(x.crc32cUpdate(0, ptr, 1 << 20) >>> 0, want, "one call");
    codec.free(ptr, 1 << 20);
  });

  test(`${build}: a CRC leaves its input and the memory around it unchanged (batches are CRCed in place)`, () => {
    for (const n of [FOLD6_MIN + 100, FOLD_MIN - 1, 50_000]) {
      const ptr = codec.alloc(3 * n);
      const around = bytesOf(3 * n, 9);
      codec.u8.set(around, ptr);
      assert.is(x.crc32cUpdate(0, ptr + n, n) >>> 0, crc32cBytewise(around.subarray(n, 2 * n)), `length ${n}`);
      assert.ok(codec.u8.subarray(ptr, ptr + 3 * n).every((v, i) => v === around[i]), `length ${n}`);
      codec.free(ptr, 3 * n);
    }
  });

  test(`${build}: an input ending at the last byte of memory is read without a trap`, async () => {
    const own = await loadCodec(wasm(file));
    const mem = own.exports.memory;
    mem.grow(2); // pages nobody has allocated
    for (const n of [FOLD6_MIN + 3, FOLD_MIN + 5, 5283 + 8192 + 3, 1001]) {
      const b = bytesOf(n, n);
      const end = mem.buffer.byteLength;
      new Uint8Array(mem.buffer).set(b, end - n);
      assert.is(own.exports.crc32cUpdate(0, end - n, n) >>> 0, crc32cBytewise(b), `length ${n}`);
    }
  });

  test(`${build}: crc32c of a subarray reads only the view's bytes`, () => {
    const big = Uint8Array.from({ length: 100 }, (_, i) => i);
    assert.is(codec.crc32c(big.subarray(10, 50)), crc32cBitwise(big.slice(10, 50)));
  });
}

test.run();
