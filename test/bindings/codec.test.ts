import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { gzipSync, gunzipSync } from "fflate";
import { buildCompressed } from "../../bindings/compressed-batch.ts";
import { getCodec, loadCodec, partitionForKey, setDefaultCodecSource, type BatchHeader, type Codec } from "../../bindings/codec.ts";
import { decodeRecordBatches, decodeRecordBatchesAsync } from "../../src/protocol/record-batch.ts";
import type { CompressionCodec } from "../../src/compression/codec.ts";
import { ClientError } from "../../src/errors.ts";

const codec: Codec = await getCodec();
const plain: BatchHeader = { producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false };
const te = new TextEncoder();
const td = new TextDecoder();

function throwsCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, code);
    return;
  }
  assert.unreachable(`expected a ClientError ${code}`);
}

test("getCodec returns one shared instance", async () => {
  assert.is(await getCodec(), codec);
});

test("loadCodec accepts a compiled WebAssembly.Module and bytes (workerd passes a Module)", async () => {
  const bytes = readFileSync(new URL("../../build/kafkasm.wasm", import.meta.url));
  const fromModule = await loadCodec(new WebAssembly.Module(bytes));
  const fromBytes = await loadCodec(bytes);
  for (const c of [fromModule, fromBytes]) assert.is(c.crc32c(te.encode("123456789")), 0xe3069283);
  assert.is.not(fromModule, codec);
});

test("setDefaultCodecSource changes what later loads compile", async () => {
  const bytes = readFileSync(new URL("../../build/kafkasm.wasm", import.meta.url));
  setDefaultCodecSource(new WebAssembly.Module(bytes));
  const c = await loadCodec();
  assert.is(c.murmur2String("0"), 971027396);
});

test("loadCodec rejects bytes that are not WebAssembly with WASM_ERROR", async () => {
  try {
    await loadCodec(new Uint8Array([1, 2, 3, 4]));
    assert.unreachable();
  } catch (e) {
    assert.is((e as ClientError).code, "WASM_ERROR");
  }
});

test("murmur2 and murmur2String match Kafka's Java vectors; partitionForKey picks partition 9 of 12 for 100:48069", () => {
  const vectors: [string, number][] = [["0", 971027396], ["1", -1993445489], ["", 275646681]];
  for (const [k, h] of vectors) {
    assert.is(codec.murmur2(te.encode(k)), h, k);
    assert.is(codec.murmur2String(k), h, k);
  }
  assert.is(partitionForKey(codec.murmur2String("100:48069"), 12), 9);
});

test("murmur2String hashes the UTF-8 bytes, for non-ASCII, long and very long keys", () => {
  for (const k of ["héllo wörld ☃ 𝄞", "x".repeat(33), "é".repeat(40_000), "\ud800 lone surrogate"]) {
    assert.is(codec.murmur2String(k), codec.murmur2(te.encode(k)), k.slice(0, 20));
  }
});

test("a builder stages records and build() returns an independent copy that decodes back", () => {
  const b = codec.newBatchBuilder(16384);
  assert.is(b.recordCount, 0);
  assert.is(b.sizeInBytes, 61);
  assert.ok(b.append(1_700_000_000_000, "key-1", "value-1", [{ key: "h", value: "v" }, { key: "n", value: null }]));
  assert.ok(b.append(1_700_000_000_005, null, te.encode("v2")));
  assert.ok(b.append(1_699_999_999_990, te.encode("k3"), null, { trace: te.encode("t"), empty: "" }));
  assert.is(b.recordCount, 3);
  const bytes = b.build(plain);
  assert.is(bytes.length, b.sizeInBytes);
  assert.is.not(bytes.buffer, codec.exports.memory.buffer);
  const [batch] = decodeRecordBatches(bytes);
  assert.is(batch!.baseTimestamp, 1_700_000_000_000);
  assert.is(batch!.maxTimestamp, 1_700_000_000_005);
  assert.is(batch!.partitionLeaderEpoch, -1);
  assert.is(batch!.producerId, -1);
  assert.is(batch!.producerEpoch, -1);
  assert.is(batch!.baseSequence, -1);
  assert.is(batch!.lastOffsetDelta, 2);
  const r = batch!.records;
  assert.equal(r.map((x) => x.offset), [0, 1, 2]);
  assert.equal(r.map((x) => x.timestamp), [1_700_000_000_000, 1_700_000_000_005, 1_699_999_999_990]);
  assert.is(td.decode(r[0]!.key!), "key-1");
  assert.is(td.decode(r[0]!.value!), "value-1");
  assert.equal(r[0]!.headers.map((h) => [h.key, h.value && td.decode(h.value)]), [["h", "v"], ["n", null]]);
  assert.is(r[1]!.key, null);
  assert.is(r[2]!.value, null);
  assert.equal(r[2]!.headers.map((h) => [h.key, h.value && td.decode(h.value)]), [["trace", "t"], ["empty", ""]]);
  b.release();
});

test("build() can run twice with different producer state; transactional sets attribute bit 4", () => {
  const b = codec.newBatchBuilder(1024);
  b.append(5, "k", "v");
  const first = b.build(plain);
  const second = b.build({ producerId: 4242, producerEpoch: 3, baseSequence: 17, transactional: true });
  const [d1] = decodeRecordBatches(first);
  const [d2] = decodeRecordBatches(second);
  assert.is(d1!.attributes, 0);
  assert.is(d2!.attributes, 0x10);
  assert.equal([d2!.producerId, d2!.producerEpoch, d2!.baseSequence], [4242, 3, 17]);
  assert.equal(d1!.records, d2!.records);
  b.release();
});

test("sizeInBytes is exactly the encoded size after every append, for ASCII, non-ASCII and byte fields", () => {
  const b = codec.newBatchBuilder(1 << 20);
  const values = ["", "a", "ü", "☃☃", "𝄞", "x".repeat(200), "é".repeat(100), "\udc00"];
  for (let i = 0; i < 300; i++) {
    const v = values[i % values.length]!;
    b.append(1000 + (i % 7) * 1_000_000 - 500_000, i % 3 === 0 ? null : v, i % 5 === 0 ? te.encode(v) : v,
      i % 4 === 0 ? [{ key: v, value: i % 8 === 0 ? null : v }] : undefined);
    assert.is(b.build(plain).length, b.sizeInBytes);
  }
  b.release();
});

test("append refuses a record that would push sizeInBytes past the capacity, and stages nothing", () => {
  const b = codec.newBatchBuilder(200);
  const v = new Uint8Array(50).fill(7);
  let n = 0;
  while (b.append(1, null, v)) n++;
  assert.is(n, 2); // 61 + 2 × 58 = 177; a third makes 235
  const before = b.build(plain);
  assert.not.ok(b.append(1, "k", "x".repeat(30)));
  assert.equal(b.build(plain), before);
  assert.is(b.recordCount, 2);
  assert.ok(b.sizeInBytes <= 200);
  b.release();
});

test("an empty builder accepts a record larger than its capacity (it grows)", () => {
  const b = codec.newBatchBuilder(100);
  const big = new Uint8Array(300_000).map((_, i) => i * 7);
  assert.ok(b.append(1, null, big));
  assert.not.ok(b.append(1, null, new Uint8Array(1)));
  const [batch] = decodeRecordBatches(b.build(plain));
  assert.equal(batch!.records[0]!.value, big);
  b.release();
});

test("staging survives memory.grow: builders keep their records while others force growth", () => {
  const held = codec.newBatchBuilder(1 << 20);
  for (let i = 0; i < 100; i++) held.append(i, `k${i}`, `v${i}`);
  const expected = held.build(plain);
  const bufferBefore = codec.exports.memory.buffer;
  const others = [];
  for (let i = 0; i < 20; i++) {
    const o = codec.newBatchBuilder(1 << 20);
    o.append(0, null, new Uint8Array(400_000));
    others.push(o);
  }
  assert.is.not(codec.exports.memory.buffer, bufferBefore, "memory grew");
  for (let i = 100; i < 200; i++) held.append(i, `k${i}`, `v${i}`);
  const after = decodeRecordBatches(held.build(plain))[0]!;
  assert.is(after.records.length, 200);
  assert.equal(decodeRecordBatches(expected)[0]!.records, after.records.slice(0, 100));
  assert.is(codec.murmur2String("0"), 971027396);
  for (const o of others) o.release();
  held.release();
});

test("released staging blocks are reused: a steady create/release cycle does not grow memory", () => {
  const warm = codec.newBatchBuilder(16384);
  warm.append(0, null, new Uint8Array(10));
  warm.release();
  const size = codec.exports.memory.buffer.byteLength;
  for (let i = 0; i < 2000; i++) {
    const b = codec.newBatchBuilder(16384);
    for (let j = 0; j < 50; j++) b.append(j, "key", "some value");
    b.build(plain);
    b.release();
  }
  assert.is(codec.exports.memory.buffer.byteLength, size);
});

test("build of an empty builder, use after release and bad producer fields are typed errors", () => {
  const b = codec.newBatchBuilder(1024);
  throwsCode(() => b.build(plain), "INVALID_RECORD");
  b.append(1, null, null);
  throwsCode(() => b.build({ ...plain, producerEpoch: 40000 }), "INVALID_RECORD");
  throwsCode(() => b.build({ ...plain, baseSequence: 2 ** 31 }), "INVALID_RECORD");
  throwsCode(() => b.build({ ...plain, producerId: 1.5 }), "INVALID_RECORD");
  throwsCode(() => b.append(Number.NaN, null, null), "INVALID_RECORD");
  throwsCode(() => b.append(1.5, null, null), "INVALID_RECORD");
  throwsCode(() => b.append(1, 42 as unknown as string, null), "INVALID_RECORD");
  throwsCode(() => b.append(1, null, {} as unknown as Uint8Array), "INVALID_RECORD");
  throwsCode(() => b.append(1, null, null, [{ key: undefined as unknown as string, value: null }]), "INVALID_RECORD");
  throwsCode(() => b.append(1, null, null, [{ key: "k", value: 7 as unknown as string }]), "INVALID_RECORD");
  throwsCode(() => b.append(1, null, null, { k: [1] as unknown as string }), "INVALID_RECORD");
  assert.is(b.recordCount, 1, "rejected records stage nothing");
  b.release();
  b.release(); // idempotent
  throwsCode(() => b.append(1, null, null), "WASM_ERROR");
  throwsCode(() => b.build(plain), "WASM_ERROR");
  throwsCode(() => codec.newBatchBuilder(0), "INVALID_CONFIG");
});

const gzip: CompressionCodec = {
  name: "gzip",
  attribute: 1,
  compress: async (data, headroom = 0) => {
    const c = gzipSync(data);
    const out = new Uint8Array(headroom + c.length);
    out.set(c, headroom);
    return out;
  },
  decompress: (data) => gunzipSync(data),
};

test("buildCompressed compresses the records section, sets the codec bits and a valid CRC", async () => {
  const b = codec.newBatchBuilder(1 << 20);
  for (let i = 0; i < 100; i++) b.append(1000 + i, `key-${i}`, "the same value again and again", [{ key: "i", value: String(i) }]);
  const plainBytes = b.build(plain);
  const promise = buildCompressed(codec, b, { producerId: 7, producerEpoch: 1, baseSequence: 100, transactional: false }, gzip);
  b.release(); // the records were copied before the codec ran
  const compressed = await promise;
  assert.ok(compressed.length < plainBytes.length / 3);
  assert.equal(Array.from(gunzipSync(compressed.subarray(61))), Array.from(plainBytes.subarray(61)));
  const [batch] = await decodeRecordBatchesAsync(compressed, { codecForAttribute: async () => gzip });
  assert.is(batch!.attributes & 7, 1);
  assert.is(batch!.batchLength, compressed.length - 12);
  assert.equal([batch!.producerId, batch!.producerEpoch, batch!.baseSequence], [7, 1, 100]);
  assert.equal(batch!.records, decodeRecordBatches(plainBytes)[0]!.records);
});

test.run();
