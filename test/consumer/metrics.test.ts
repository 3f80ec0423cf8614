// consumer.metrics() and the consumer's hooks on the fake cluster: exact counts after known traffic
// (records, batches, bytes, positions, commits, rebalances, fetch errors by code), and hooks that
// throw leave the consumer working.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer } from "../../src/index.ts";
import { Consumer, type ConsumerHooks, type ConsumerOptions, type ConsumerRecord, type TopicPartition } from "../../src/consumer/consumer.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { KafkaError, KafkasmError } from "../../src/errors.ts";
import { take, tps } from "./helpers.ts";
import { exitAfterSuite, until, within } from "../harness/bounded.ts";

/** `counts[i]` records into partition i, each awaited alone: one batch per record. */
async function setup(counts: number[]) {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: counts.length }] });
  const p = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 0 });
  for (let partition = 0; partition < counts.length; partition++) {
    for (let i = 0; i < counts[partition]!; i++) await p.send({ topic: "t", partition, value: `p${partition}-${i}` });
  }
  await p.close();
  return cluster;
}

function consumer(cluster: FakeCluster, o: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({ brokers: cluster.bootstrap, transport: cluster.transport, groupId: "g", topics: ["t"], autoOffsetReset: "earliest",
    autoCommit: false, heartbeatIntervalMs: 50, sessionTimeoutMs: 2000, maxWaitMs: 50, ...o });
}


test("after consuming known traffic and one commit: exact records, batches, bytes, positions, lag 0, one commit, one rebalance, and the hooks saw the same", async () => {
  const counts = [5, 3, 0];
  const cluster = await setup(counts);
  const fetches: Parameters<NonNullable<ConsumerHooks["onFetch"]>>[0][] = [];
  const rebalances: Parameters<NonNullable<ConsumerHooks["onRebalance"]>>[0][] = [];
  const commits: Parameters<NonNullable<ConsumerHooks["onCommit"]>>[0][] = [];
  let connects = 0;
  const c = consumer(cluster, { hooks: { onFetch: (e) => { fetches.push(e); }, onRebalance: (e) => { rebalances.push(e); }, onCommit: (e) => { commits.push(e); }, onConnect: () => { connects++; } } });
  const it = c[Symbol.asyncIterator]();
  // Taking the 8th and asking for nothing more: 8 records handed.
  await take(it, 8);
  await within(c.commit(), 10_000, "commit");
  const m = c.metrics();
  assert.is(m.recordsConsumed, 8);
  assert.is(m.commits, 1);
  assert.is(m.commitsFailed, 0);
  assert.is(m.rebalances, 1);
  assert.is(m.assignmentSize, 3);
  assert.ok(m.generation >= 1, `generation ${m.generation}`);
  assert.ok(m.memberId.length > 0);
  for (const [i, n] of counts.entries()) {
    const p = m.partitions[`t/${i}`]!;
    const bytes = cluster.partition("t", i).log.reduce((s, b) => s + b.bytes.length, 0);
    assert.equal({ assigned: p.assigned, consumedOffset: p.consumedOffset, committed: p.committed, lag: p.lag, records: p.records, batches: p.batches, bytes: p.bytes, errors: p.errors },
      { assigned: true, consumedOffset: n, committed: n, lag: 0, records: n, batches: n, bytes, errors: {} }, `partition ${i}`);
    assert.is(p.position, n);
    assert.is(p.highWatermark, n);
  }
  // The hooks: the same generation and member, every partition assigned, fetches adding up to the records.
  assert.is(rebalances.length, 1);
  assert.equal({ ...rebalances[0], assigned: tps(rebalances[0]!.assigned) }, { generation: m.generation, memberId: m.memberId, assigned: ["t-0", "t-1", "t-2"], revoked: [], lost: [] });
  assert.is(fetches.reduce((s, e) => s + e.records, 0), 8);
  assert.is(commits.length, 1);
  assert.equal(commits[0]!.offsets.map((o) => [o.partition, o.offset]).sort(), [[0, 5], [1, 3], [2, 0]], "the empty partition's start is committed too");
  assert.is(commits[0]!.error, undefined);
  // Broker figures: every answered fetch reported, bytes counted on the wire.
  const brokers = Object.values(m.brokers);
  const fetching = brokers.filter((b) => b.fetches > 0);
  assert.is(fetching.length, 1, "one leader");
  assert.is(fetching[0]!.nodeId, 1);
  assert.is(fetching[0]!.fetches - fetching[0]!.inFlight - fetching[0]!.fetchErrors, fetches.filter((e) => !e.error).length);
  assert.ok(fetching[0]!.bytesIn > fetches.reduce((s, e) => s + e.bytes, 0), "socket bytes include the record bytes");
  assert.ok(fetching[0]!.rttMaxMs >= fetching[0]!.rttAvgMs && fetching[0]!.rttAvgMs >= 0);
  assert.is(brokers.reduce((s, b) => s + b.connects, 0), connects);
  assert.is(brokers.reduce((s, b) => s + b.connections, 0), connects, "none closed yet");
  await it.return!();
  cluster.close();
});

test("a Fetch partition error is counted by its Kafka name per partition, and the records still arrive", async () => {
  const cluster = await setup([2, 2]);
  const c = consumer(cluster);
  cluster.inject({ apiKey: ApiKey.Fetch, action: { error: 56 } }); // KAFKA_STORAGE_ERROR, retriable
  const it = c[Symbol.asyncIterator]();
  const got = await take(it, 4);
  assert.is(got.length, 4);
  const m = c.metrics();
  assert.equal(m.partitions["t/0"]!.errors, { KAFKA_STORAGE_ERROR: 1 });
  assert.equal(m.partitions["t/1"]!.errors, { KAFKA_STORAGE_ERROR: 1 });
  assert.is(m.partitions["t/0"]!.records + m.partitions["t/1"]!.records, 4, "the failed answer carried no records");
  await it.return!();
  cluster.close();
});

test("a Fetch lost with its connection counts once in fetchErrors and disconnects, reaches onFetch with its error, and leaves nothing in flight", async () => {
  const cluster = await setup([2]);
  const errors: unknown[] = [];
  const disconnects: unknown[] = [];
  const c = consumer(cluster, { hooks: { onFetch: (e) => { if (e.error) errors.push(e.error); }, onDisconnect: (e) => { disconnects.push(e.error); } } });
  cluster.inject({ apiKey: ApiKey.Fetch, action: { closeConnection: "before" } });
  const it = c[Symbol.asyncIterator]();
  assert.is((await take(it, 2)).length, 2, "the records arrive over a new connection");
  const leader = Object.values(c.metrics().brokers).filter((b) => b.fetches > 0);
  assert.is(leader.length, 1);
  assert.is(leader[0]!.fetchErrors, 1);
  assert.is(errors.length, 1);
  assert.instance(errors[0], KafkasmError);
  assert.is(disconnects.filter((e) => e instanceof Error).length, 1, "one connection lost (not closed by the consumer)");
  await it.return!();
  const after = Object.values(c.metrics().brokers);
  assert.is(after.reduce((s, b) => s + b.inFlight, 0), 0, "nothing in flight after close");
  assert.is(after.reduce((s, b) => s + b.connections, 0), 0, "every connection closed");
  cluster.close();
});

test("a failed commit counts in commitsFailed and reaches onCommit with its error", async () => {
  const cluster = await setup([3]);
  const commits: { error?: unknown }[] = [];
  const c = consumer(cluster, { hooks: { onCommit: (e) => { commits.push(e); } } });
  const it = c[Symbol.asyncIterator]();
  await take(it, 3);
  cluster.inject({ apiKey: ApiKey.OffsetCommit, action: { error: 30 } }); // GROUP_AUTHORIZATION_FAILED
  const error = await within(c.commit().then(() => undefined, (e: unknown) => e), 10_000, "commit failure");
  assert.instance(error, KafkaError);
  const m = c.metrics();
  assert.is(m.commits, 0);
  assert.is(m.commitsFailed, 1);
  assert.is(commits.length, 1);
  assert.is(commits[0]!.error, error);
  assert.is(m.partitions["t/0"]!.committed, -1);
  await it.return!();
  cluster.close();
});

test("hooks that all throw never break the consumer: it consumes, commits and rebalances as without them", async () => {
  const cluster = await setup([2, 2]);
  const boom = () => { throw new Error("hook failure"); };
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...a: unknown[]) => { warnings.push(a); };
  try {
    const c = consumer(cluster, { hooks: { onConnect: boom, onDisconnect: boom, onFetch: boom, onCommit: boom, onRebalance: boom } });
    const it = c[Symbol.asyncIterator]();
    assert.is((await take(it, 4)).length, 4);
    await within(c.commit(), 10_000, "commit");
    assert.is(c.metrics().commits, 1);
    assert.is(c.metrics().rebalances, 1);
    await within(it.return!(), 10_000, "close");
    assert.is(warnings.length, 1, "the first throw is logged, once");
  } finally {
    console.warn = warn;
  }
  cluster.close();
});

test("eager rebalance: onRebalance of the first member reports what it gave back, and its generation moves", async () => {
  const cluster = await setup([1, 1]);
  const events: Parameters<NonNullable<ConsumerHooks["onRebalance"]>>[0][] = [];
  const a = consumer(cluster, { assignors: ["range"], hooks: { onRebalance: (e) => { events.push(e); } } });
  const itA = a[Symbol.asyncIterator]();
  await take(itA, 2);
  const b = consumer(cluster, { assignors: ["range"], clientId: "b" });
  const itB = b[Symbol.asyncIterator]();
  const pending = itB.next();
  // a joins the new generation at its next poll.
  const next = itA.next();
  await until(() => events.length >= 2, 10_000, "a's second rebalance");
  assert.equal(tps(events[1]!.revoked), ["t-0", "t-1"], "eager: everything given back before the join");
  assert.ok(events[1]!.generation > events[0]!.generation);
  assert.is(a.metrics().rebalances, 2);
  assert.is(events[1]!.assigned.length + b.assignment().length <= 2, true);
  await a.close(); await b.close();
  await Promise.allSettled([pending, next]);
  cluster.close();
});

exitAfterSuite(test);
test.run();
