// Batches reuse the slot arrays of finished batches: a shorter batch in a longer array completes
// exactly its own records, with the right offsets and timestamps.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, ERR } from "../fake/cluster.ts";
import { Producer, type RecordMetadata } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";

test("after a 500-record batch, 3-record batches (reusing its array) call back exactly 3 times each, with their own offsets", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, batchSize: 1 << 20, lingerMs: 5 });
  const calls: [string, number, number][] = [];
  const cb = (tag: string) => (e: unknown, m?: RecordMetadata) => { if (e) throw e; calls.push([tag, m!.offset, m!.timestamp]); };
  for (let i = 0; i < 500; i++) producer.send({ topic: "t", value: `big${i}`, timestamp: 1000 + i }, cb("big"));
  await producer.flush();
  assert.is(calls.length, 500);
  for (let round = 0; round < 5; round++) {
    calls.length = 0;
    for (let i = 0; i < 3; i++) producer.send({ topic: "t", value: `s${round}.${i}`, timestamp: 5000 + i }, cb(`s${round}`));
    await producer.flush();
    const base = 500 + round * 3;
    assert.equal(calls, [0, 1, 2].map((i) => [`s${round}`, base + i, 5000 + i]));
  }
  assert.is(cluster.values("t", 0).length, 515);
  await producer.close();
});

test("a failed batch in a reused array fails exactly its own records", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, acks: 1, idempotent: false, lingerMs: 5 });
  await Promise.all(Array.from({ length: 200 }, (_, i) => producer.send({ topic: "t", value: `${i}` })));
  cluster.pushErrors(ApiKey.Produce, [ERR.INVALID_REQUIRED_ACKS]);
  const results = await Promise.all([0, 1].map((i) => producer.send({ topic: "t", value: `x${i}` }).then(() => "ok", (e) => e.code)));
  assert.equal(results, ["INVALID_REQUIRED_ACKS", "INVALID_REQUIRED_ACKS"]);
  await producer.close();
});

test.run();
