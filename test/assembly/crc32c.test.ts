import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { getCodec } from "../../bindings/codec.ts";

const codec = await getCodec();
const x = codec.exports;

/** Bit-at-a-time CRC32C: the definition, slow and obviously right. */
function crc32cBitwise(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

test("CRC32C of \"123456789\" is 0xE3069283 (the check value)", () => {
  assert.is(codec.crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

test("CRC32C of the empty input is 0", () => {
  assert.is(codec.crc32c(new Uint8Array(0)), 0);
});

test("CRC32C matches the RFC 3720 (iSCSI) B.4 vectors", () => {
  const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
  const dec = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
  assert.is(codec.crc32c(new Uint8Array(32)), 0x8a9136aa, "32 bytes of zeros");
  assert.is(codec.crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43, "32 bytes of ones");
  assert.is(codec.crc32c(inc), 0x46dd794e, "32 incrementing bytes");
  assert.is(codec.crc32c(dec), 0x113fdb5c, "32 decrementing bytes");
  const iscsiRead = hex("01c00000000000000000000000000000" + "14000000000004000000001400000018" + "28000000000000000200000000000000");
  assert.is(codec.crc32c(iscsiRead), 0xd9963a56, "an iSCSI SCSI Read (10) command PDU");
});

test("the slow bitwise reference itself agrees with the check value", () => {
  assert.is(crc32cBitwise(new TextEncoder().encode("123456789")), 0xe3069283);
});

test("crc32c equals the bitwise reference for random inputs of every length 0..300", () => {
  for (let n = 0; n <= 300; n++) {
    const b = Uint8Array.from({ length: n }, () => (Math.random() * 256) | 0);
    assert.is(codec.crc32c(b), crc32cBitwise(b), `length ${n}`);
  }
});

test("crc32cUpdate chained over random chunk splits equals the one-shot bitwise CRC (property)", () => {
  const scratch = codec.alloc(4096);
  fc.assert(fc.property(
    fc.uint8Array({ maxLength: 2048 }),
    fc.array(fc.nat(2048), { maxLength: 8 }),
    (bytes, cuts) => {
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      let crc = 0;
      let prev = 0;
      for (const p of [...points, bytes.length]) {
        const piece = bytes.subarray(prev, p);
        codec.u8.set(piece, scratch + (prev % 7)); // also vary alignment
        crc = x.crc32cUpdate(crc, scratch + (prev % 7), piece.length) >>> 0;
        prev = p;
      }
      return crc === crc32cBitwise(bytes);
    },
  ), { numRuns: 300 });
  codec.free(scratch, 4096);
});

test("crc32c of inputs larger than the 64 KiB scratch (chunked copies) equals the reference", () => {
  for (const n of [65535, 65536, 65537, 200_003]) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 24);
    assert.is(codec.crc32c(b), crc32cBitwise(b), `length ${n}`);
  }
});

test("crc32c of a subarray reads only the view's bytes", () => {
  const big = Uint8Array.from({ length: 100 }, (_, i) => i);
  assert.is(codec.crc32c(big.subarray(10, 50)), crc32cBitwise(big.slice(10, 50)));
});

test.run();
