// The consumer against the fake cluster's group coordinator (test/fake/group.ts): joining, sharing and
// handing over partitions, eager and cooperative rebalances, static membership, commit semantics,
// the coordinator's errors, fetch controls (seek, pause/resume, lag, every codec); read_committed needs
// aborted-transaction markers the fake does not keep: test/integration/real-consumer.test.ts proves it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { GROUP_ERR } from "../fake/group.ts";
import { Producer } from "../../src/index.ts";
import { Consumer, type ConsumerOptions, type ConsumerRecord, type TopicPartition } from "../../src/consumer/consumer.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { KafkaError, KafkasmError } from "../../src/errors.ts";
import { take, tps } from "./helpers.ts";
import { exitAfterSuite, sleep, until, within } from "../harness/bounded.ts";

const dec = new TextDecoder();
const text = (r: ConsumerRecord) => dec.decode(r.value!);

async function setup(partitions = 4, count = 100, compression?: "gzip" | "snappy" | "lz4" | "zstd") {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions }] });
  const p = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, compression, lingerMs: 5 });
  await Promise.all(Array.from({ length: count }, (_, i) => p.send({ topic: "t", key: String(i), value: `v${i}` })));
  await p.close();
  return cluster;
}

function consumer(cluster: FakeCluster, o: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({ brokers: cluster.bootstrap, transport: cluster.transport, groupId: "g", topics: ["t"], autoOffsetReset: "earliest",
    heartbeatIntervalMs: 50, sessionTimeoutMs: 2000, maxWaitMs: 50, ...o });
}

/** Iterates in the background into `seen` until the consumer closes; resolves with its error, if any. */
function drain(c: Consumer, seen: ConsumerRecord[]): Promise<unknown> {
  return (async () => {
    for await (const r of c) seen.push(r);
  })().then(() => undefined, (e) => e);
}

const values = (rs: ConsumerRecord[]) => new Set(rs.map(text));

test("a member joins (MEMBER_ID_REQUIRED, then with the id it was given), gets every partition and reads every record", async () => {
  const cluster = await setup();
  const assigned: TopicPartition[][] = [];
  const c = consumer(cluster, { onPartitionsAssigned: (l) => { assigned.push(l); } });
  const it = c[Symbol.asyncIterator]();
  const got = await take(it, 100);
  assert.is(values(got).size, 100);
  const joins = cluster.requestsOf(ApiKey.JoinGroup);
  assert.is(joins[0].request.memberId, "");
  assert.ok(joins[1].request.memberId.length > 0, "rejoined with the member id of MEMBER_ID_REQUIRED");
  assert.equal(tps(assigned[0]), ["t-0", "t-1", "t-2", "t-3"]);
  await it.return!();
  cluster.close();
});

test("two members share the partitions; closing one hands its partitions to the other and nothing is lost (commit on close)", async () => {
  const cluster = await setup(4, 0);
  const a = consumer(cluster, { clientId: "a" }), b = consumer(cluster, { clientId: "b" });
  const seenA: ConsumerRecord[] = [], seenB: ConsumerRecord[] = [];
  const da = drain(a, seenA), db = drain(b, seenB);
  await until(() => a.assignment().length + b.assignment().length === 4 && a.assignment().length > 0 && b.assignment().length > 0, 10_000, "both members to own partitions");
  assert.is(a.assignment().length, 2);
  const p = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  await Promise.all(Array.from({ length: 100 }, (_, i) => p.send({ topic: "t", key: String(i), value: `v${i}` })));
  await until(() => seenA.length + seenB.length === 100, 10_000, "100 records across both");
  await a.close();
  await until(() => b.assignment().length === 4, 10_000, "b to take over a's partitions");
  await Promise.all(Array.from({ length: 100 }, (_, i) => p.send({ topic: "t", key: String(i), value: `w${i}` })));
  await until(() => values([...seenA, ...seenB]).size === 200, 10_000, "all 200 values");
  assert.ok(cluster.requestsOf(ApiKey.LeaveGroup).length >= 1, "a left with LeaveGroup");
  await p.close();
  await b.close();
  assert.is(await da, undefined);
  assert.is(await db, undefined);
  cluster.close();
});

test("eager (range): a joining member makes the first revoke everything before the rebalance; cooperative-sticky revokes only what moves", async () => {
  for (const [assignors, expectRevoked] of [[["range"], 4], [["cooperative-sticky"], 2]] as const) {
    const cluster = await setup(4, 0);
    const revoked: string[][] = [];
    const owners = new Map<string, string>();
    let overlap = false;
    const track = (who: string) => ({
      onPartitionsAssigned: (l: TopicPartition[]) => { for (const k of tps(l)) { if (owners.has(k)) overlap = true; owners.set(k, who); } },
      onPartitionsRevoked: (l: TopicPartition[]) => { if (who === "a") revoked.push(tps(l)); for (const k of tps(l)) owners.delete(k); },
    });
    const a = consumer(cluster, { assignors: [...assignors], ...track("a") });
    const da = drain(a, []);
    await until(() => a.assignment().length === 4, 10_000, "a to own everything");
    const b = consumer(cluster, { assignors: [...assignors], ...track("b") });
    const db = drain(b, []);
    await until(() => a.assignment().length === 2 && b.assignment().length === 2, 10_000, "an even split");
    assert.is(revoked.flat().length, expectRevoked, `${assignors[0]}: partitions a revoked`);
    assert.not.ok(overlap, "no partition had two owners at once");
    await a.close(); await b.close(); await da; await db;
    cluster.close();
  }
});

test("commit on revocation (auto-commit): what a member was handed from a partition it gives up is committed before the partition moves (eager and cooperative)", async () => {
  for (const assignors of [["range"], ["cooperative-sticky"]] as const) {
    const cluster = await setup(4, 100);
    // The interval never elapses during the test: only the revocation can commit.
    const a = consumer(cluster, { assignors: [...assignors], autoCommitIntervalMs: 600_000 });
    const seenA: ConsumerRecord[] = [];
    const da = drain(a, seenA);
    await until(() => seenA.length === 100, 10_000, "a to read all 100");
    const b = consumer(cluster, { assignors: [...assignors], clientId: "b", autoCommitIntervalMs: 600_000 });
    const db = drain(b, []);
    await until(() => a.assignment().length === 2 && b.assignment().length === 2, 10_000, "an even split");
    for (const tp of b.assignment()) {
      const handed = seenA.filter((r) => r.partition === tp.partition).length;
      assert.is(cluster.groups.committed("g", "t", tp.partition), handed, `${assignors[0]}: t-${tp.partition} committed at what a was handed`);
    }
    await a.close(); await b.close(); await da; await db;
    cluster.close();
  }
});

test("auto-commit: what was handed is committed at the next poll after the interval; a crashed member's successor resumes there, re-reading at most what followed", async () => {
  const cluster = await setup(1, 100);
  const a = consumer(cluster, { autoCommitIntervalMs: 0, sessionTimeoutMs: 300 });
  const it = a[Symbol.asyncIterator]();
  const got = await take(it, 40);
  // The 40th record is being processed: the commit at the 40th next() covers the 39 before it.
  await until(() => cluster.groups.committed("g", "t", 0) === 39, 5_000, "auto-commit of 39");
  // Crash: no close, no LeaveGroup; the coordinator expires the session.
  cluster.groups.expire("g", cluster.groups.group("g").leader!);
  const b = consumer(cluster, { clientId: "b" });
  const itb = b[Symbol.asyncIterator]();
  const rest = await take(itb, 61);
  assert.is(rest[0].offset, 39, "b starts at the committed offset: the record a was processing is re-read");
  assert.is(values([...got, ...rest]).size, 100, "nothing lost");
  await itb.return!();
  await (a as any).close();
  cluster.close();
});

test("manual commits: nothing is committed without commit(); commit() stores what was handed, commit(offsets) what it is given", async () => {
  const cluster = await setup(1, 20);
  const c = consumer(cluster, { autoCommit: false });
  const it = c[Symbol.asyncIterator]();
  await take(it, 10);
  await sleep(100);
  assert.is(cluster.groups.committed("g", "t", 0), -1);
  await c.commit();
  assert.is(cluster.groups.committed("g", "t", 0), 10);
  assert.is(cluster.groups.commits.at(-1)!.offsets[0].leaderEpoch, 0, "with the record's leader epoch");
  await c.commit([{ topic: "t", partition: 0, offset: 5 }]);
  assert.equal(await c.committed([{ topic: "t", partition: 0 }]), [{ topic: "t", partition: 0, offset: 5 }]);
  await it.return!();
  assert.is(cluster.groups.committed("g", "t", 0), 5, "close commits nothing without autoCommit");
  cluster.close();
});

test("run({ eachBatch }): a batch counts once its handler resolves; a handler that throws stops run() and its batch is read again", async () => {
  const cluster = await setup(1, 30);
  const c = consumer(cluster, { autoCommit: false });
  const seen: number[] = [];
  let fail = true;
  const err = await c.run({ eachBatch: (b) => { if (fail) { fail = false; throw new Error("boom"); } seen.push(...b.records.map((r) => r.offset)); if (seen.length >= 30) void c.close(); } }).catch((e) => e);
  assert.is((err as Error).message, "boom");
  await within(c.run({ eachBatch: (b) => { seen.push(...b.records.map((r) => r.offset)); if (seen.length >= 30) void c.close(); } }), 10_000, "run to end");
  assert.equal(seen, Array.from({ length: 30 }, (_, i) => i), "every offset once, from 0");
  cluster.close();
});

test("heartbeat errors: REBALANCE_IN_PROGRESS rejoins; ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID call onPartitionsLost and rejoin (UNKNOWN_MEMBER_ID with a new member id)", async () => {
  const cluster = await setup(2, 0);
  const lost: string[][] = [];
  const c = consumer(cluster, { onPartitionsLost: (l) => { lost.push(tps(l)); } });
  const d = drain(c, []);
  await until(() => c.assignment().length === 2, 10_000, "assignment");
  const joins = () => cluster.requestsOf(ApiKey.JoinGroup).length;
  let before = joins();
  cluster.pushErrors(ApiKey.Heartbeat, [GROUP_ERR.REBALANCE_IN_PROGRESS]);
  await until(() => joins() > before && c.assignment().length === 2, 10_000, "a rejoin after REBALANCE_IN_PROGRESS");
  assert.is(lost.length, 0);
  before = joins();
  cluster.pushErrors(ApiKey.Heartbeat, [GROUP_ERR.ILLEGAL_GENERATION]);
  await until(() => lost.length === 1 && c.assignment().length === 2, 10_000, "lost, then a rejoin after ILLEGAL_GENERATION");
  assert.equal(lost[0], ["t-0", "t-1"]);
  const memberBefore = cluster.requestsOf(ApiKey.JoinGroup).at(-1)!.request.memberId;
  cluster.groups.expire("g", memberBefore);
  await until(() => lost.length === 2 && c.assignment().length === 2, 10_000, "lost, then a rejoin after UNKNOWN_MEMBER_ID");
  const rejoin = cluster.requestsOf(ApiKey.JoinGroup).filter((r) => r.request.memberId !== memberBefore);
  assert.ok(rejoin.some((r) => r.request.memberId === ""), "rejoined without the expired member id");
  await c.close(); await d;
  cluster.close();
});

test("static membership: close sends no LeaveGroup, a restart with the same groupInstanceId keeps the generation, and the replaced instance is fenced (FENCED_INSTANCE_ID)", async () => {
  const cluster = await setup(2, 0);
  const a = consumer(cluster, { groupInstanceId: "i1" });
  const da = drain(a, []);
  await until(() => a.assignment().length === 2, 10_000, "a assigned");
  const gen = cluster.groups.group("g").generationId;
  const a2 = consumer(cluster, { groupInstanceId: "i1" });
  const d2 = drain(a2, []);
  await until(() => a2.assignment().length === 2, 10_000, "the restarted instance assigned");
  assert.is(cluster.groups.group("g").generationId, gen, "no rebalance");
  const err = await within(da, 10_000, "the fenced member to fail");
  assert.instance(err, KafkaError);
  assert.is((err as KafkaError).code, "FENCED_INSTANCE_ID");
  await a2.close(); await d2;
  assert.is(cluster.requestsOf(ApiKey.LeaveGroup).length, 0);
  cluster.close();
});

test("the coordinator moves: NOT_COORDINATOR makes the member find it again, and commits land there", async () => {
  const cluster = await setup(1, 10);
  const c = consumer(cluster, { autoCommit: false });
  const it = c[Symbol.asyncIterator]();
  await take(it, 10);
  cluster.groups.coordinatorId = 2;
  await c.commit();
  assert.is(cluster.groups.committed("g", "t", 0), 10);
  assert.ok(cluster.requestsOf(ApiKey.OffsetCommit).some((r) => r.brokerId === 2));
  assert.ok(cluster.requestsOf(ApiKey.FindCoordinator).length >= 2);
  await it.return!();
  cluster.close();
});

test("max.poll.interval.ms: a member that stops polling leaves the group and its partitions are lost", async () => {
  const cluster = await setup(1, 5);
  const lost: string[][] = [];
  const c = consumer(cluster, { maxPollIntervalMs: 300, onPartitionsLost: (l) => { lost.push(tps(l)); } });
  const it = c[Symbol.asyncIterator]();
  await take(it, 1);
  await until(() => cluster.requestsOf(ApiKey.LeaveGroup).length === 1, 5_000, "LeaveGroup after the poll timeout");
  await take(it, 1);
  assert.equal(lost, [["t-0"]]);
  await it.return!();
  cluster.close();
});

test("seek, pause/resume and lag", async () => {
  const cluster = await setup(2, 40);
  const c = consumer(cluster, { autoCommit: false });
  const it = c[Symbol.asyncIterator]();
  await take(it, 40);
  assert.equal(c.lag().map((l) => l.lag), [0, 0]);
  c.seek({ topic: "t", partition: 0 }, 0);
  const n0 = c.lag()[0].highWatermark;
  c.pause([{ topic: "t", partition: 1 }]);
  const again = await take(it, n0);
  assert.ok(again.every((r) => r.partition === 0) && again[0].offset === 0, "re-read partition 0 from 0");
  const p = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  await p.send({ topic: "t", partition: 1, value: "late" });
  await sleep(200);
  assert.is(c.lag().find((l) => l.partition === 1)!.lag, 0, "paused: the new record is not fetched");
  c.resume([{ topic: "t", partition: 1 }]);
  const [late] = await take(it, 1);
  assert.is(text(late), "late");
  await p.close(); await it.return!();
  cluster.close();
});

for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
  test(`reads ${codec} batches (whole-batch decoding), none before the committed offset inside a batch`, async () => {
    const cluster = await setup(1, 50, codec);
    const c = consumer(cluster, { autoCommit: false });
    await c.commit([{ topic: "t", partition: 0, offset: 7 }]).catch(() => {});
    cluster.groups.group("g").offsets.set("t/0", { offset: 7, leaderEpoch: -1, metadata: null });
    const it = c[Symbol.asyncIterator]();
    const got = await take(it, 43);
    assert.is(got[0].offset, 7);
    assert.equal(got.map(text), Array.from({ length: 43 }, (_, i) => `v${i + 7}`));
    await it.return!();
    cluster.close();
  });
}

test("invalid options are ClientError INVALID_CONFIG naming the option; calls after close are CONSUMER_CLOSED", async () => {
  const cluster = new FakeCluster();
  for (const [o, name] of [[{ groupId: "" }, "groupId"], [{ heartbeatIntervalMs: 50_000 }, "heartbeatIntervalMs"], [{ assignors: ["sticky"] }, "assignors"], [{ topics: ["a b"] }, "topics"]] as const) {
    try { consumer(cluster, o as any); assert.unreachable(); } catch (e) { assert.is((e as KafkasmError).code, "INVALID_CONFIG"); assert.match((e as Error).message, name); }
  }
  const c = consumer(cluster);
  await c.close();
  try { await c.commit(); assert.unreachable(); } catch (e) { assert.is((e as KafkasmError).code, "CONSUMER_CLOSED"); }
  cluster.close();
});

exitAfterSuite(test);
test.run();
