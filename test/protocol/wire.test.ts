import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { readFloat64, readInt64BigInt, readUint32, readVarint, readVarlong, readVarlongBigInt, Reader, writeFloat64, Writer, writeTaggedFields, writeUint32,
  writeVarint, writeVarlong } from "../../src/protocol/wire.ts";
import { ClientError } from "../../src/errors.ts";

const runs = { numRuns: 500, seed: 42 };

function protocolError(fn: () => unknown, pattern?: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, "PROTOCOL_ERROR");
    if (pattern) assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable("expected PROTOCOL_ERROR");
}

// Reference encodings written independently of wire.ts: DataView for fixed ints, BigInt LEB128 for varints.
function refUvarint(v: bigint): number[] {
  const out: number[] = [];
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return out;
}
const zigzag64 = (v: bigint) => BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));

test("int16/int32/int64 match DataView big-endian encodings and round-trip", () => {
  fc.assert(fc.property(fc.integer({ min: -32768, max: 32767 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }), (a, b, c) => {
      const bytes = new Writer(4).int16(a).int32(b).int64(Number(c)).int64(c).finish();
      const ref = new DataView(new ArrayBuffer(22));
      ref.setInt16(0, a); ref.setInt32(2, b); ref.setBigInt64(6, c); ref.setBigInt64(14, c);
      assert.equal(bytes, new Uint8Array(ref.buffer));
      const r = new Reader(bytes);
      assert.is(r.int16(), a); assert.is(r.int32(), b); assert.is(r.int64(), Number(c)); assert.is(readInt64BigInt(r), c);
      r.expectEnd("test");
    }), runs);
});

test("varint, varlong and unsigned varint match a BigInt LEB128/zigzag reference and round-trip", () => {
  fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.integer({ min: 0, max: 2 ** 32 - 1 }), (i, l, u) => {
      const w = writeVarlong(writeVarint(new Writer(1), i), l).uvarint(u);
      const ref = [...refUvarint(zigzag64(BigInt(i))), ...refUvarint(zigzag64(l)), ...refUvarint(BigInt(u))];
      assert.equal([...w.finish()], ref);
      const r = new Reader(w.finish());
      assert.is(readVarint(r), i); assert.is(readVarlongBigInt(r), l); assert.is(r.uvarint(), u);
      r.expectEnd("test");
    }), runs);
});

test("strings, compact strings, bytes and arrays round-trip including null and non-ASCII", () => {
  fc.assert(fc.property(fc.option(fc.string({ unit: "grapheme", maxLength: 40 })), fc.option(fc.uint8Array({ maxLength: 300 })),
    fc.option(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 20 })), (s, b, a) => {
      for (const flex of [false, true]) {
        const w = new Writer(2).str(flex, s).byteArray(flex, b).array(flex, a, (w, x) => w.int32(x));
        const r = new Reader(w.finish());
        assert.is(r.nullableStr(flex), s);
        const rb = r.nullableByteArray(flex);
        assert.equal(rb === null ? null : [...rb], b === null ? null : [...b]);
        assert.equal(r.nullableArray(flex, (r) => r.int32()), a);
        r.expectEnd("test");
      }
    }), runs);
});

test("string length prefix counts UTF-8 bytes, not UTF-16 units", () => {
  const bytes = new Writer().string("é€").finish();
  assert.equal([...bytes], [0, 5, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);
  assert.equal([...new Writer().compactString("é").finish()], [3, 0xc3, 0xa9]);
});

test("known golden primitives: compact null string is 0x00, nullable string -1 is ffff, empty tagged fields 0x00", () => {
  assert.equal([...new Writer().compactString(null).string(null).tags(true).finish()], [0, 0xff, 0xff, 0]);
  const vw = new Writer();
  for (const v of [-1, 1, -64, 64]) writeVarint(vw, v);
  assert.equal([...vw.finish()], [1, 2, 127, 0x80, 1]);
  assert.equal([...new Writer().uvarint(300).finish()], [0xac, 0x02]);
});

test("a string over Kafka's 32767-byte limit is refused with a typed error naming the size", () => {
  assert.throws(() => new Writer().string("x".repeat(40000)), (e: any) => e instanceof ClientError && e.code === "INVALID_CONFIG" && /40000 UTF-8 bytes/.test(e.message));
  assert.is(new Writer().string("x".repeat(32767)).pos, 32769);
});

test("writer grows across many small writes and keeps earlier bytes", () => {
  const w = new Writer(16);
  for (let i = 0; i < 10000; i++) w.int32(i);
  const r = new Reader(w.finish());
  for (let i = 0; i < 10000; i++) assert.is(r.int32(), i);
});

test("tagged fields round-trip, keep unknown tags raw and reject descending tags", () => {
  const w = writeTaggedFields(new Writer(), [[0, (t) => t.int32(7)], undefined, [5, (t) => t.compactString("x")]]);
  const bytes = w.finish();
  assert.equal([...bytes], [2, 0, 4, 0, 0, 0, 7, 5, 2, 2, 0x78]);
  let seen = -1;
  const unknown = new Reader(bytes).taggedFields((tag, r) => {
    if (tag !== 0) return false;
    seen = r.int32();
    return true;
  });
  assert.is(seen, 7);
  assert.equal(unknown?.map((u) => [u.tag, [...u.data]]), [[5, [2, 0x78]]]);
  protocolError(() => new Reader(new Uint8Array([2, 5, 0, 0, 0])).taggedFields(), /ascend/);
});

test("every read past the end throws PROTOCOL_ERROR naming the field", () => {
  protocolError(() => new Reader(new Uint8Array(3)).int32("partition index"), /partition index/);
  protocolError(() => new Reader(new Uint8Array(7)).int64("base_offset"), /base_offset/);
  protocolError(() => new Reader(new Uint8Array([0x80, 0x80])).uvarint("length"), /truncated/);
  protocolError(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f])).uvarint(), /overflows/);
  protocolError(() => new Reader(new Uint8Array([0, 5, 0x61])).string("topic name"), /topic name/);
  protocolError(() => new Reader(new Uint8Array([0xff, 0xfe])).string(), /length -2/);
  protocolError(() => new Reader(new Uint8Array([0xff, 0xff])).string(), /null/);
  protocolError(() => new Reader(new Uint8Array([0, 2, 0xc3, 0x28])).string(), /UTF-8/);
});

test("absurd array and bytes lengths are rejected before allocating", () => {
  protocolError(() => new Reader(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2])).array(false, (r) => r.int8(), "topics"), /cannot fit/);
  protocolError(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])).array(true, (r) => r.int8()), /cannot fit/);
  protocolError(() => new Reader(new Uint8Array([0x7f, 0xff, 0xff, 0xff])).nullableBytes("records"), /records/);
  protocolError(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xfe])).nullableBytes(), /length -2/);
  protocolError(() => new Reader(new Uint8Array([0x10, 0, 0, 0, 1, 2, 3, 4])).array(false, (r) => r.int32(), "x", 4), /cannot fit/);
});

test("int64 outside the safe-integer range is a PROTOCOL_ERROR, bigint read keeps it", () => {
  const bytes = new Writer().int64(2n ** 62n).finish();
  protocolError(() => new Reader(bytes).int64("offset"), /safe integer/);
  assert.is(readInt64BigInt(new Reader(bytes)), 2n ** 62n);
});

test("readers respect a sub-range end", () => {
  const r = new Reader(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2]), 0, 4);
  assert.is(r.int32(), 1);
  protocolError(() => r.int32());
});

test("uint32 and float64 match DataView encodings; varlong as a number refuses values beyond 2^53", () => {
  const w = writeFloat64(writeUint32(new Writer(), 0xfedcba98), -1.5e300);
  const ref = new DataView(new ArrayBuffer(12));
  ref.setUint32(0, 0xfedcba98);
  ref.setFloat64(4, -1.5e300);
  assert.equal([...w.finish()], [...new Uint8Array(ref.buffer)]);
  const r = new Reader(w.finish());
  assert.is(readUint32(r), 0xfedcba98);
  assert.is(readFloat64(r), -1.5e300);
  assert.is(readVarlong(new Reader(writeVarlong(new Writer(), -(2 ** 53) + 1).finish())), -(2 ** 53) + 1);
  protocolError(() => readVarlong(new Reader(writeVarlong(new Writer(), 2n ** 60n).finish()), "offset"), /offset.*safe integer/);
  protocolError(() => readVarlongBigInt(new Reader(new Uint8Array([0x80, 0x80]))), /truncated/);
});

test.run();
