import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { getCodec, WasmStatus } from "../../bindings/codec.ts";

const codec = await getCodec();
const x = codec.exports;
const buf = codec.alloc(64);
const out = codec.alloc(64);

/** Reference: zigzag then LEB128, computed with BigInt (independent of the WASM integer code). */
function refVarlong(v: bigint, bits: 32n | 64n): number[] {
  let z = BigInt.asUintN(Number(bits), (v << 1n) ^ (v >> (bits - 1n)));
  const bytes: number[] = [];
  do {
    let b = Number(z & 0x7fn);
    z >>= 7n;
    if (z !== 0n) b |= 0x80;
    bytes.push(b);
  } while (z !== 0n);
  return bytes;
}

function refUvarint(v: number): number[] {
  const bytes: number[] = [];
  let z = BigInt(v >>> 0);
  do {
    let b = Number(z & 0x7fn);
    z >>= 7n;
    if (z !== 0n) b |= 0x80;
    bytes.push(b);
  } while (z !== 0n);
  return bytes;
}

const written = (n: number) => Array.from(codec.u8.subarray(buf, buf + n));
const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const extremes64 = [0n, -1n, 1n, 63n, -64n, 64n, -65n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)];
const extremes32 = [0, -1, 1, 63, -64, 64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)];

test("zigzag varint: known encodings (0→00, -1→01, 1→02, 63→7e, -64→7f, 64→8001, int32 extremes)", () => {
  const cases: [number, string][] = [[0, "00"], [-1, "01"], [1, "02"], [63, "7e"], [-64, "7f"], [64, "8001"],
    [2 ** 31 - 1, "feffffff0f"], [-(2 ** 31), "ffffffff0f"]];
  for (const [v, hexs] of cases) {
    const n = x.writeVarint(buf, v);
    assert.is(Buffer.from(written(n)).toString("hex"), hexs, String(v));
  }
});

test("zigzag varint write/size/read match the BigInt reference for random int32s and the extremes", () => {
  const check = (v: number) => {
    const ref = refVarlong(BigInt(v), 32n);
    const n = x.writeVarint(buf, v);
    assert.equal(written(n), ref);
    assert.is(x.varintSize(v), ref.length);
    assert.is(x.readVarint(buf, n, out), n);
    assert.is(codec.dv.getInt32(out, true), v);
  };
  extremes32.forEach(check);
  fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => (check(v), true)), { numRuns: 2000 });
});

test("zigzag varlong write/size/read match the BigInt reference for random int64s and the extremes", () => {
  const check = (v: bigint) => {
    const ref = refVarlong(v, 64n);
    const n = x.writeVarlong(buf, v);
    assert.equal(written(n), ref, String(v));
    assert.is(x.varlongSize(v), ref.length);
    assert.is(x.readVarlong(buf, n, out), n);
    assert.is(codec.dv.getBigInt64(out, true), v);
  };
  extremes64.forEach(check);
  assert.is(x.varlongSize(-(2n ** 63n)), 10);
  fc.assert(fc.property(i64, (v) => (check(v), true)), { numRuns: 2000 });
});

test("unsigned varint write/size/read match the reference for random uint32s and the boundaries", () => {
  const check = (v: number) => {
    const ref = refUvarint(v);
    const n = x.writeUvarint(buf, v);
    assert.equal(written(n), ref);
    assert.is(x.uvarintSize(v), ref.length);
    assert.is(x.readUvarint(buf, n, out), n);
    assert.is(codec.dv.getUint32(out, true), v >>> 0);
  };
  [0, 1, 127, 128, 16383, 16384, 2 ** 32 - 1].forEach(check);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (v) => (check(v), true)), { numRuns: 2000 });
});

test("reading a varint cut short returns TRUNCATED at every cut point", () => {
  const n = x.writeVarlong(buf, -(2n ** 63n));
  for (let cut = 0; cut < n; cut++) assert.is(x.readVarlong(buf, cut, out), WasmStatus.TRUNCATED, `cut ${cut}`);
  const m = x.writeVarint(buf, -(2 ** 31));
  for (let cut = 0; cut < m; cut++) assert.is(x.readVarint(buf, cut, out), WasmStatus.TRUNCATED);
});

test("an over-long varint returns VARINT_TOO_LONG instead of reading on", () => {
  codec.u8.fill(0x80, buf, buf + 20);
  assert.is(x.readVarint(buf, 20, out), WasmStatus.VARINT_TOO_LONG);
  assert.is(x.readUvarint(buf, 20, out), WasmStatus.VARINT_TOO_LONG);
  assert.is(x.readVarlong(buf, 20, out), WasmStatus.VARINT_TOO_LONG);
});

test.run();
