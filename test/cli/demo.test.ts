// The demo's read-back and verification against a real cluster: a workload produced by another
// client (KafkaJS, whose default partitioner is Java-compatible murmur2) and read back by kcat must
// pass; the same with a record sent twice must fail. Then `npm start`'s script end to end.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exitAfterSuite, spawnChild, within } from "../harness/bounded.ts";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { freshTopic } from "./topics.ts";
import { TelemetryWorkload, verifyTelemetry, type TelemetryEvent } from "../../src/cli/telemetry.ts";

let cluster: Cluster;
const root = new URL("../..", import.meta.url).pathname;

test.before(async () => {
  cluster = await startCluster({ brokers: 3 });
});
test.after(async () => {
  await cluster?.stop();
});

function produceWithKafkajs(topic: string, events: TelemetryEvent[]): Promise<void> {
  return within(kafkajsProduce(topic, events), 90_000, `KafkaJS to produce ${events.length} events`);
}

async function kafkajsProduce(topic: string, events: TelemetryEvent[]): Promise<void> {
  const { Kafka, logLevel } = (await import("kafkajs")).default;
  const kafka = new Kafka({ clientId: "demo-test", brokers: cluster.bootstrap.split(","), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.key, value: e.value, headers: e.headers })) });
  await producer.disconnect();
}

function workload(count: number) {
  const w = new TelemetryWorkload({ count, devices: 30 });
  const events: TelemetryEvent[] = [];
  for (let e = w.next(); e; e = w.next()) events.push(e);
  return { w, events };
}

test("a workload produced by KafkaJS and read back with kcat passes every check", async () => {
  const topic = await freshTopic(cluster, "demo-ok", 6);
  const { w, events } = workload(2000);
  await produceWithKafkajs(topic.name, events);
  const records = await consumeAll(cluster.bootstrap, topic.name, { count: 2000, timeoutMs: 20_000 });
  const v = verifyTelemetry(records, { perDevice: w.perDevice, partitions: topic.partitions, count: 2000 });
  assert.ok(v.ok, JSON.stringify(v));
});

test("the same workload with one event sent twice fails the duplicate check", async () => {
  const topic = await freshTopic(cluster, "demo-dup", 6);
  const { w, events } = workload(1000);
  events.splice(500, 0, events[400]!);
  await produceWithKafkajs(topic.name, events);
  const records = await consumeAll(cluster.bootstrap, topic.name, { count: 1001, timeoutMs: 20_000 });
  const v = verifyTelemetry(records, { perDevice: w.perDevice, partitions: topic.partitions, count: 1000 });
  assert.not.ok(v.ok);
  assert.ok(v.checks.some((c) => c.name === "no duplicates" && !c.ok));
  assert.ok(v.checks.some((c) => c.name === "count" && !c.ok));
});

async function runDemo(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/demo.ts", ...args], { cwd: root });
  try {
    const code = await child.exited(120_000);
    return { code, out: child.stdout + child.stderr };
  } finally {
    child.kill();
  }
}

test("npm start's demo: produces through kafkasm, verifies every record with kcat, exits 0", async () => {
  const r = await runDemo(["--events", "5000"]);
  assert.is(r.code, 0, r.out);
  for (const check of ["count", "nothing missing", "no duplicates", "per-key order", "Java partitioning", "headers"]) {
    assert.match(r.out, new RegExp(`✓ ${check}`), check);
  }
  assert.match(r.out, /5,000 read back, 5,000 acknowledged/);
  assert.match(r.out, /events\/s/);
  assert.match(r.out, /OK/);
});

test("the demo's offsets-only verification (for runs larger than the mock keeps) passes too", async () => {
  const r = await runDemo(["--events", "3000", "--read-back", "offsets", "--acks", "1"]);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /✓ count +3,000 new offsets/);
  assert.match(r.out, /✓ Java partitioning/);
});

test("the demo fails (exit 1) when a record is sent twice, skipped, or sent out of order", async () => {
  const cases: [string, RegExp][] = [["duplicate", /✗ no duplicates/], ["drop", /✗ nothing missing/], ["reorder", /✗ per-key order/]];
  const runs = await Promise.all(cases.map(([how]) => runDemo(["--events", "2000", "--inject", how])));
  runs.forEach((r, k) => {
    assert.is(r.code, 1, r.out);
    assert.match(r.out, cases[k]![1]);
    assert.match(r.out, /FAILED/);
  });
});

exitAfterSuite(test);
test.run();
