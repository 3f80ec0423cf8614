import { test } from "uvu";
import * as assert from "uvu/assert";
import * as api from "../../src/codec.ts";
import { ClientError } from "../../src/errors.ts";

test("kafkasm/codec exports exactly the small documented surface", () => {
  assert.equal(Object.keys(api).sort(), ["crc32c", "decodeRecordBatches", "decodeRecordBatchesAsync", "encodeRecordBatch", "murmur2", "partitionForKey"]);
});

test("crc32c and murmur2 answer the published vectors through the public entry", () => {
  assert.is(api.crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.is(api.murmur2(new TextEncoder().encode("1")), -1993445489);
  assert.is(api.partitionForKey(api.murmur2(new TextEncoder().encode("100:48069")), 12), 9);
});

test("encodeRecordBatch defaults to a non-idempotent batch: producerId/epoch/baseSequence -1, leader epoch -1, CreateTime", () => {
  const [b] = api.decodeRecordBatches(api.encodeRecordBatch({ records: [{ key: null, value: new Uint8Array([1, 2]), timestamp: 42 }] }));
  assert.equal([b!.producerId, b!.producerEpoch, b!.baseSequence, b!.partitionLeaderEpoch, b!.attributes, b!.magic], [-1, -1, -1, -1, 0, 2]);
  assert.equal(b!.records[0]!.value, new Uint8Array([1, 2]));
  assert.is(b!.records[0]!.timestamp, 42);
});

test("encodeRecordBatch rejects no records (INVALID_RECORD) and compression other than none (INVALID_CONFIG)", () => {
  const code = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as ClientError).code; } };
  assert.is(code(() => api.encodeRecordBatch({ records: [] })), "INVALID_RECORD");
  assert.is(code(() => api.encodeRecordBatch({ records: [{ key: null, value: null, timestamp: 1 }], compression: "gzip" as "none" })), "INVALID_CONFIG");
  assert.is(code(() => api.encodeRecordBatch({ records: [{ key: null, value: null, timestamp: Number.NaN }] })), "INVALID_RECORD");
});

test("encodeRecordBatch does not mutate its input records", () => {
  const records = [{ key: new Uint8Array([1]), value: null, headers: [{ key: "a", value: null }], timestamp: 5 }];
  const copy = structuredClone(records);
  api.encodeRecordBatch({ records });
  assert.equal(records, copy);
});

test.run();
