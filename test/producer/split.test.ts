// MESSAGE_TOO_LARGE for a batch of several records: without idempotence, split in halves and resent in order.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer, type ProducerOptions, type RecordMetadata } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { decodeRecordBatches } from "../../src/protocol/record-batch.ts";

function setup(opts: Partial<ProducerOptions>, maxMessageBytes: number) {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }], maxMessageBytes });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 20, acks: 1, idempotent: false, ...opts });
  return { cluster, producer };
}

/** Deterministic incompressible bytes (xorshift32). */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995) | 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; out[i] = x & 0xff; }
  return out;
}

test("a batch over the broker's message.max.bytes is split (twice here) and every record lands once, in order, with its headers and timestamp", async () => {
  const { cluster, producer } = setup({ maxInFlight: 1 }, 1500);
  const values = Array.from({ length: 20 }, (_, i) => `${i}:`.padEnd(200, "."));
  const metas = await Promise.all(values.map((value, i) => producer.send({ topic: "t", key: `k${i}`, value, headers: { n: `${i}` }, timestamp: 1000 + i })));
  assert.equal(metas.map((m) => m.offset), values.map((_, i) => i));
  assert.equal(metas.map((m) => m.timestamp), values.map((_, i) => 1000 + i));
  const recs = cluster.records("t", 0);
  assert.equal(cluster.values("t", 0), values);
  assert.equal(recs.map((r) => new TextDecoder().decode(r.headers[0].value!)), values.map((_, i) => `${i}`));
  const sizes = cluster.requestsOf(ApiKey.Produce).map((r) => decodeRecordBatches(r.request.topics[0].partitions[0].records)[0].records.length);
  assert.equal(sizes.slice(0, 3), [20, 10, 5], "20 rejected, 10 rejected, then halves of 5");
  assert.ok(cluster.partition("t", 0).log.every((b) => b.batch.records.length <= 5));
  await producer.close();
});

test("records after the split batch stay behind it (maxInFlight 1), and callbacks each fire once", async () => {
  const { cluster, producer } = setup({ maxInFlight: 1, batchSize: 4000 }, 2500);
  const calls = new Map<number, number>();
  const done: Promise<void>[] = [];
  for (let i = 0; i < 60; i++) {
    done.push(new Promise<void>((res) => producer.send({ topic: "t", value: `${i}:`.padEnd(150, ".") }, (e: unknown, _m?: RecordMetadata) => {
      assert.is(e, null);
      calls.set(i, (calls.get(i) ?? 0) + 1);
      res();
    })));
  }
  await Promise.all(done);
  await producer.flush();
  assert.equal(cluster.values("t", 0).map((v) => parseInt(v!, 10)), Array.from({ length: 60 }, (_, i) => i));
  assert.ok([...calls.values()].every((c) => c === 1) && calls.size === 60);
  await producer.close();
});

test("compressed batches are split too (records decompressed and re-staged)", async () => {
  const { cluster, producer } = setup({ compression: "lz4" }, 3000);
  const values = Array.from({ length: 12 }, (_, i) => noise(400, i + 1));
  await Promise.all(values.map((value) => producer.send({ topic: "t", value })));
  assert.equal(cluster.records("t", 0).map((r) => r.value), values);
  await producer.close();
});

test("a single record over message.max.bytes fails with MESSAGE_TOO_LARGE; an idempotent batch is not split (documented) and fails the same way", async () => {
  const one = setup({}, 500);
  const e1 = await one.producer.send({ topic: "t", value: "x".repeat(800) }).catch((e) => e);
  assert.is(e1.code, "MESSAGE_TOO_LARGE");
  await one.producer.close();
  const idem = setup({ acks: "all", idempotent: true }, 1500);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => idem.producer.send({ topic: "t", value: `${i}`.padEnd(200, ".") }).then(() => "ok", (e) => e.code)));
  assert.ok(results.every((r) => r === "MESSAGE_TOO_LARGE"), String(results));
  await idem.producer.close();
});

test("a transactional batch is not split either: every record fails with MESSAGE_TOO_LARGE, whose message names the batch's size", async () => {
  const { cluster, producer } = setup({ transactionalId: "tx-split", acks: "all", idempotent: true }, 1500);
  await producer.initTransactions();
  producer.beginTransaction();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: "t", value: `${i}`.padEnd(200, ".") }).then(() => null, (e) => e)));
  assert.ok(results.every((e) => e?.code === "MESSAGE_TOO_LARGE"), String(results));
  assert.match(results[0].message, /a batch of \d+ bytes, 20 record\(s\)/);
  assert.is(cluster.requestsOf(ApiKey.Produce).length, 1, "not resent");
  await producer.abortTransaction();
  await producer.close();
});

test.run();
