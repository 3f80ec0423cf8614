import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseAssignmentStrategy, runVerifiableConsumer, type VerifiableListener, type VerifiableSource } from "../../src/cli/verifiable-consumer.ts";
import type { ConsumerBatch, TopicPartitionOffset } from "../../src/consumer/config.ts";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { exitAfterSuite, spawnChild, until } from "../harness/bounded.ts";
import { freshTopic } from "./topics.ts";

const root = new URL("../..", import.meta.url).pathname;
const cli = (args: string[]) => spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "verifiable-consumer", ...args], { cwd: root });
const events = (stdout: string) => stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);
const enc = new TextEncoder();

/** A source handing the given batches (assigning their partitions first); commits listed in `failCommits` fail. */
function fakeSource(batches: ConsumerBatch[], failCommits = new Set<number>()) {
  const commits: TopicPartitionOffset[][] = [];
  let closed = 0, listener!: VerifiableListener;
  const open = (l: VerifiableListener): VerifiableSource => {
    listener = l;
    return {
      async run({ eachBatch }) {
        listener.onPartitionsAssigned(batches.map(({ topic, partition }) => ({ topic, partition })));
        for (const b of batches) { if (closed) return; await eachBatch(b); }
        while (!closed) await new Promise((r) => setTimeout(r, 5));
      },
      async commit(offsets) {
        commits.push(offsets);
        if (failCommits.has(commits.length - 1)) throw new Error("The coordinator is not available.");
      },
      async close() { closed++; listener.onPartitionsRevoked([{ topic: "t", partition: 0 }]); },
    };
  };
  return { open, commits, closed: () => closed };
}
const batch = (partition: number, from: number, n: number): ConsumerBatch => ({
  topic: "t", partition, highWatermark: from + n,
  records: Array.from({ length: n }, (_, i) => ({ topic: "t", partition, offset: from + i, timestamp: 0, key: i % 2 ? null : enc.encode(`k${i}`), value: enc.encode(`v${from + i}`), headers: [], leaderEpoch: 0 })),
});

test("runVerifiableConsumer: events in the contract's order; --max-messages truncates the last batch and its commit; a failed commit reports success false and the error", async () => {
  const src = fakeSource([batch(0, 0, 3), batch(1, 10, 4), batch(0, 3, 5)], new Set([1]));
  const lines: string[] = [];
  const { consumed } = await runVerifiableConsumer(src.open, { maxMessages: 9, autoCommit: false, print: (l) => lines.push(l) });
  const ev = lines.map((l) => JSON.parse(l));
  for (const e of ev) assert.type(e.timestamp, "number");
  assert.equal(ev.map((e) => e.name), ["startup_complete", "partitions_assigned", "records_consumed", "offsets_committed", "records_consumed",
    "offsets_committed", "records_consumed", "offsets_committed", "partitions_revoked", "shutdown_complete"]);
  assert.equal(ev[1].partitions, [{ topic: "t", partition: 0 }, { topic: "t", partition: 1 }, { topic: "t", partition: 0 }]);
  assert.equal(ev[2].partitions, [{ topic: "t", partition: 0, count: 3, minOffset: 0, maxOffset: 2 }]);
  assert.equal({ ...ev[3], timestamp: 0 }, { timestamp: 0, name: "offsets_committed", offsets: [{ topic: "t", partition: 0, offset: 3 }], success: true });
  assert.equal({ ...ev[5], timestamp: 0 }, { timestamp: 0, name: "offsets_committed", offsets: [{ topic: "t", partition: 1, offset: 14 }],
    error: "The coordinator is not available.", success: false });
  // 3 + 4 consumed: only 2 of the third batch's 5 count; its count is the batch's, as Java prints the poll's.
  assert.equal(ev[6].count, 5);
  assert.equal(ev[6].partitions, [{ topic: "t", partition: 0, count: 2, minOffset: 3, maxOffset: 4 }]);
  assert.equal(src.commits.at(-1), [{ topic: "t", partition: 0, offset: 5 }]);
  assert.is(consumed, 9);
  assert.is(src.closed(), 1);
});

test("runVerifiableConsumer: --enable-autocommit prints no offsets_committed; --verbose prints record_data with key and value before its records_consumed", async () => {
  const src = fakeSource([batch(2, 7, 2)]);
  const lines: string[] = [];
  await runVerifiableConsumer(src.open, { maxMessages: 2, autoCommit: true, verbose: true, print: (l) => lines.push(l) });
  const ev = lines.map((l) => JSON.parse(l));
  assert.equal(ev.map((e) => e.name), ["startup_complete", "partitions_assigned", "record_data", "record_data", "records_consumed", "partitions_revoked", "shutdown_complete"]);
  assert.equal({ ...ev[2], timestamp: 0 }, { timestamp: 0, name: "record_data", key: "k0", value: "v7", topic: "t", partition: 2, offset: 7 });
  assert.equal(ev[3].key, null);
  assert.is(src.commits.length, 0);
});

test("runVerifiableConsumer: aborted mid-batch, the batch's commit completes before the consumer closes", async () => {
  const stop = new AbortController();
  const lines: string[] = [];
  let resolveCommit!: () => void;
  const order: string[] = [];
  const src: VerifiableSource = {
    async run({ eachBatch }) { await eachBatch(batch(0, 0, 2)); await new Promise((r) => setTimeout(r, 50)); },
    commit: () => { order.push("commit"); stop.abort(); return new Promise<void>((r) => (resolveCommit = r)).then(() => { order.push("committed"); }); },
    close: async () => { order.push("close"); },
  };
  const running = runVerifiableConsumer(() => src, { maxMessages: -1, autoCommit: false, print: (l) => lines.push(l), signal: stop.signal });
  await until(() => resolveCommit !== undefined, 5000, "the commit");
  resolveCommit();
  await running;
  assert.equal(order, ["commit", "committed", "close"]);
  assert.equal(lines.map((l) => JSON.parse(l).name), ["startup_complete", "records_consumed", "offsets_committed", "shutdown_complete"]);
});

test("parseAssignmentStrategy: Java class names and short names; StickyAssignor is refused", () => {
  assert.equal(parseAssignmentStrategy("org.apache.kafka.clients.consumer.RoundRobinAssignor,range"), ["roundrobin", "range"]);
  assert.throws(() => parseAssignmentStrategy("org.apache.kafka.clients.consumer.StickyAssignor"), /unsupported assignor/);
});

let cluster: Cluster;
test.before(async () => { cluster = await startCluster({ brokers: 3 }); });
test.after(async () => { await cluster?.stop(); });

test("kafkasm verifiable-consumer on the mock cluster: reads what kcat produced; records_consumed add up to --max-messages; offsets_committed reach each partition's end", async () => {
  const { name: topic, partitions } = await freshTopic(cluster, "vconsumer", 3);
  const values = Array.from({ length: 300 }, (_, i) => `m${i}`);
  await kcatProduce(cluster.bootstrap, topic, values);
  const child = cli(["--topic", topic, "--group-id", "vc-1", "--bootstrap-server", cluster.bootstrap, "--max-messages", "300", "--session-timeout", "6000", "--verbose"]);
  assert.is(await child.exited(60_000), 0, child.stderr);
  const ev = events(child.stdout);
  assert.is(ev[0]!.name, "startup_complete");
  assert.is(ev.at(-1)!.name, "shutdown_complete");
  const assigned = ev.find((e) => e.name === "partitions_assigned")!;
  assert.is(assigned.partitions.length, partitions);
  const consumed = ev.filter((e) => e.name === "records_consumed").flatMap((e) => e.partitions);
  assert.is(consumed.reduce((n: number, p: any) => n + p.count, 0), 300);
  assert.equal(ev.filter((e) => e.name === "record_data").map((e) => e.value).sort(), [...values].sort());
  const ends = new Map<number, number>();
  for (const e of ev.filter((e) => e.name === "offsets_committed")) {
    assert.ok(e.success, JSON.stringify(e));
    for (const o of e.offsets) ends.set(o.partition, Math.max(ends.get(o.partition) ?? 0, o.offset));
  }
  const perPartition = new Map<number, number>();
  for (const p of consumed) perPartition.set(p.partition, (perPartition.get(p.partition) ?? 0) + p.count);
  assert.equal(ends, perPartition, "each partition committed up to its last record (offsets start at 0)");
  // Closing revoked what it held (and left the group).
  assert.ok(ev.some((e) => e.name === "partitions_revoked" && e.partitions.length === partitions));
});

test("kafkasm verifiable-consumer: SIGTERM while waiting commits, revokes and prints shutdown_complete (exit 0); the group resumes after the commit", async () => {
  const { name: topic } = await freshTopic(cluster, "vconsumer-term", 1);
  await kcatProduce(cluster.bootstrap, topic, ["a", "b", "c"]);
  const args = ["--topic", topic, "--group-id", "vc-2", "--broker-list", cluster.bootstrap, "--session-timeout", "6000",
    "--assignment-strategy", "org.apache.kafka.clients.consumer.RoundRobinAssignor"];
  const child = cli(args);
  try {
    await until(() => (child.stdout.match(/"offsets_committed"/g) ?? []).length >= 1 && child.stdout.includes('"maxOffset":2'), 30_000, `3 records (${child.stderr})`);
    child.process.kill("SIGTERM");
    assert.is(await child.exited(30_000), 0, child.stderr);
    const ev = events(child.stdout);
    assert.equal(ev.slice(-2).map((e) => e.name), ["partitions_revoked", "shutdown_complete"]);
  } finally {
    child.kill();
  }
  await kcatProduce(cluster.bootstrap, topic, ["d"]);
  const again = cli([...args, "--max-messages", "1", "--verbose"]);
  assert.is(await again.exited(60_000), 0, again.stderr);
  assert.equal(events(again.stdout).filter((e) => e.name === "record_data").map((e) => e.value), ["d"]);
});

test("kafkasm verifiable-consumer: --consumer.config is refused as unsupported; a missing --bootstrap-server exits 2", async () => {
  const a = cli(["--topic", "t", "--group-id", "g", "--bootstrap-server", "127.0.0.1:1", "--consumer.config", "x.properties"]);
  assert.is(await a.exited(30_000), 2);
  assert.match(a.stderr, /--consumer\.config is not supported/);
  const b = cli(["--topic", "t", "--group-id", "g"]);
  assert.is(await b.exited(30_000), 2);
  assert.match(b.stderr, /--bootstrap-server/);
});

exitAfterSuite(test);
test.run();
