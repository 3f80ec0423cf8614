import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, ERR } from "../fake/cluster.ts";
import { Producer, type ProducerHooks, type ProducerOptions } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { until, within } from "../harness/bounded.ts";

function setup(opts: Partial<ProducerOptions> = {}, partitions = 2, brokers = 2) {
  const cluster = new FakeCluster({ brokers, topics: [{ name: "t", partitions }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 0, ...opts });
  return { cluster, producer };
}

/** Everything each hook saw, in order. */
function recorder() {
  const seen: { [K in keyof ProducerHooks]-?: Parameters<NonNullable<ProducerHooks[K]>>[0][] } = {
    onConnect: [], onDisconnect: [], onRequest: [], onBatchSent: [], onRecordFailed: [], onEpochBump: [],
  };
  const hooks: ProducerHooks = {};
  for (const k of Object.keys(seen) as (keyof ProducerHooks)[]) (hooks as any)[k] = (e: unknown) => (seen[k] as unknown[]).push(e);
  return { seen, hooks };
}

test("metrics() after known traffic: exact records, batches, bytes and requests per partition and broker", async () => {
  const { cluster, producer } = setup({ idempotent: false });
  // Two batches on partition 0 (two flushes), one on partition 1 (broker 2 leads it).
  await within(Promise.all([0, 1, 2].map((i) => producer.send({ topic: "t", value: `v${i}`, partition: 0 }))), 10_000, "first batch");
  await within(Promise.all([producer.send({ topic: "t", value: "a", partition: 0 }), producer.send({ topic: "t", value: "b", partition: 1 })]), 10_000, "second round");
  const m = producer.metrics()!;
  assert.ok(m, "metrics after start");
  const p0 = m.partitions["t/0"], p1 = m.partitions["t/1"];
  assert.is(p0.batchesSent, 2);
  assert.is(p0.recordsSent, 4);
  assert.is(p0.avgBatchRecords, 2);
  assert.is(p1.batchesSent, 1);
  assert.is(p1.recordsSent, 1);
  assert.is(m.recordsSent, 5);
  assert.is(m.batchesSent, 3);
  assert.is(m.recordsFailed, 0);
  assert.is(p0.compressionRatio, 1);
  // Bytes sent are the RecordBatch bytes the broker stored.
  const stored = (i: number) => cluster.partition("t", i).log.reduce((n, b) => n + b.bytes.length, 0);
  assert.is(p0.bytesSent, stored(0));
  assert.is(p1.bytesSent, stored(1));
  assert.is(p0.queuedRecords + p1.queuedRecords, 0);
  // Produce requests per broker: what the fake cluster logged.
  const produce = cluster.requestsOf(ApiKey.Produce);
  const perBroker = (id: number) => Object.values(m.brokers).filter((b) => b.nodeId === id).reduce((n, b) => n + b.requests, 0);
  assert.is(perBroker(1), produce.filter((r) => r.brokerId === 1).length);
  assert.is(perBroker(2), produce.filter((r) => r.brokerId === 2).length);
  assert.is(m.requests, produce.length);
  for (const b of Object.values(m.brokers)) {
    assert.is(b.inFlight, 0);
    assert.ok(b.bytesOut > 0 && b.bytesIn > 0, "socket bytes counted");
    assert.is(b.connections, 1);
  }
  await producer.close();
  const after = producer.metrics()!;
  for (const b of Object.values(after.brokers)) assert.is(b.connections, 0, "closed");
});

test("metrics() counts what is queued now, and bufferUsed", async () => {
  const { producer } = setup({ lingerMs: 60_000, idempotent: false });
  await until(() => producer.metrics() !== undefined, 10_000, "the producer started");
  for (let i = 0; i < 7; i++) producer.produce({ topic: "t", value: "xyz", partition: 1 });
  await within((async () => { while (producer.metrics()!.partitions["t/1"]?.queuedRecords !== 7) await new Promise((r) => setTimeout(r, 5)); })(), 10_000, "7 queued");
  const m = producer.metrics()!;
  assert.is(m.partitions["t/1"].queuedBatches, 1);
  assert.ok(m.partitions["t/1"].queuedBytes > 7 * 3);
  assert.ok(m.bufferUsed > 0);
  await producer.close();
  assert.is(producer.metrics()!.partitions["t/1"].recordsSent, 7);
});

test("retries and errors by code per partition; hooks see requests with their errors and batches sent", async () => {
  const { seen, hooks } = recorder();
  const { cluster, producer } = setup({ hooks, retryBackoffMs: 1, idempotent: false });
  cluster.inject({ apiKey: ApiKey.Produce, count: 2, action: { error: ERR.NOT_LEADER_OR_FOLLOWER } });
  const meta = await within(producer.send({ topic: "t", value: "x", partition: 0 }), 10_000, "send after 2 retries");
  const p = producer.metrics()!.partitions["t/0"];
  assert.is(p.retries, 2);
  assert.equal(p.errors, { NOT_LEADER_OR_FOLLOWER: 2 });
  assert.is(p.recordsSent, 1);
  assert.equal(seen.onBatchSent, [{ topic: "t", partition: 0, baseOffset: meta.offset, records: 1, bytes: p.bytesSent, attempts: 3 }]);
  assert.is(seen.onRequest.filter((r) => r.broker === 1).length, 3);
  assert.ok(seen.onConnect.length >= 1);
  await producer.close();
  assert.is(seen.onDisconnect.length, seen.onConnect.length, "every connection closed");
});

test("a record that finally fails is counted and given to onRecordFailed, also when rejected before a batch", async () => {
  const { seen, hooks } = recorder();
  const { cluster, producer } = setup({ hooks, retries: 0, idempotent: false });
  cluster.inject({ apiKey: ApiKey.Produce, action: { error: ERR.INVALID_REQUIRED_ACKS } });
  const r1 = { topic: "t", value: "doomed", partition: 0 };
  await within(producer.send(r1).then(() => assert.unreachable(), () => {}), 10_000, "final failure");
  const bad = { topic: "no/slash", value: "x" };
  await producer.send(bad).catch(() => {});
  const m = producer.metrics()!;
  assert.is(m.recordsFailed, 2);
  assert.equal(m.partitions["t/0"].errors, { INVALID_REQUIRED_ACKS: 1 });
  assert.is(m.partitions["t/0"].recordsFailed, 1);
  assert.equal(seen.onRecordFailed.map((e) => [e.record, e.error.code]), [[r1, "INVALID_REQUIRED_ACKS"], [bad, "INVALID_RECORD"]]);
  await producer.close();
});

test("an epoch bump is counted and reported to onEpochBump", async () => {
  const { seen, hooks } = recorder();
  const { cluster, producer } = setup({ hooks, retryBackoffMs: 1 });
  await within(producer.send({ topic: "t", value: "first", partition: 0 }), 10_000, "first");
  cluster.inject({ apiKey: ApiKey.Produce, action: { error: ERR.UNKNOWN_PRODUCER_ID } });
  await within(producer.send({ topic: "t", value: "second", partition: 0 }), 10_000, "resent after the bump");
  const m = producer.metrics()!;
  assert.is(m.epochBumps, 1);
  assert.is(seen.onEpochBump.length, 1);
  const e = seen.onEpochBump[0];
  assert.is(e.producerId, m.producerId);
  assert.is(e.epoch, m.producerEpoch);
  assert.ok(e.epoch === e.previousEpoch + 1 || e.producerId !== e.previousProducerId, "a new epoch or id");
  await producer.close();
});

test("a throwing hook never breaks the producer: every record is delivered", async () => {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => warnings.push(m);
  try {
    const boom = () => { throw new Error("hook bug"); };
    const { cluster, producer } = setup({ hooks: { onConnect: boom, onRequest: boom, onBatchSent: boom, onDisconnect: boom }, idempotent: false });
    const metas = await within(Promise.all([0, 1, 0, 1].map((p, i) => producer.send({ topic: "t", value: `v${i}`, partition: p }))), 10_000, "sends");
    assert.is(metas.length, 4);
    assert.equal(cluster.values("t", 0), ["v0", "v2"]);
    await producer.close();
    assert.is(warnings.filter((w) => /hook .* threw/.test(w)).length, 1, "logged once");
  } finally {
    console.warn = warn;
  }
});

test.run();
