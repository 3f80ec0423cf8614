// The demo's read-back and verification against a real cluster: a workload produced by another
// client (KafkaJS, whose default partitioner is Java-compatible murmur2) and read back by kcat must
// pass; the same with a record sent twice must fail. Then `npm start`'s script end to end.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { TelemetryWorkload, verifyTelemetry, type TelemetryEvent } from "../../src/cli/telemetry.ts";

let cluster: Cluster;
const root = new URL("../..", import.meta.url).pathname;

test.before(async () => {
  cluster = await startCluster({ brokers: 3 });
});
test.after(async () => {
  await cluster?.stop();
});

async function produceWithKafkajs(topic: string, events: TelemetryEvent[]): Promise<void> {
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
  if (cluster.external) return;
  await cluster.createTopic("demo-ok", 6);
  const { w, events } = workload(2000);
  await produceWithKafkajs("demo-ok", events);
  const records = await consumeAll(cluster.bootstrap, "demo-ok", { count: 2000, timeoutMs: 20_000 });
  const v = verifyTelemetry(records, { perDevice: w.perDevice, partitions: 6, count: 2000 });
  assert.ok(v.ok, JSON.stringify(v));
});

test("the same workload with one event sent twice fails the duplicate check", async () => {
  if (cluster.external) return;
  await cluster.createTopic("demo-dup", 6);
  const { w, events } = workload(1000);
  events.splice(500, 0, events[400]!);
  await produceWithKafkajs("demo-dup", events);
  const records = await consumeAll(cluster.bootstrap, "demo-dup", { count: 1001, timeoutMs: 20_000 });
  const v = verifyTelemetry(records, { perDevice: w.perDevice, partitions: 6, count: 1000 });
  assert.not.ok(v.ok);
  assert.ok(v.checks.some((c) => c.name === "no duplicates" && !c.ok));
  assert.ok(v.checks.some((c) => c.name === "count" && !c.ok));
});

test.run();
