import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseLatencyBuckets, producerFrame, proxyFrame, renderFrame } from "../../src/cli/top.ts";
import type { BrokerMetrics, PartitionMetrics, ProducerMetrics } from "../../src/public.ts";
import { startProxy } from "../../src/proxy/proxy.ts";
import { startCluster } from "../harness/cluster.ts";
import { exitAfterSuite, spawnChild } from "../harness/bounded.ts";
import { freshTopic } from "./topics.ts";

const root = new URL("../..", import.meta.url).pathname;
const top = (args: string[]) => spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "top", ...args], { cwd: root });

function metrics(time: number, sent: number, bytes: number, broker: Partial<BrokerMetrics>, errors: Record<string, number>): ProducerMetrics {
  const b: BrokerMetrics = { nodeId: 1, connections: 1, connects: 1, disconnects: 0, bytesOut: 0, bytesIn: 0, requests: 0, inFlight: 0,
    requestErrors: 0, rttAvgMs: 0, rttMaxMs: 0, throttleTimeMs: 0, throttleTimeMaxMs: 0, ...broker };
  const p = { topic: "t", partition: 0, errors } as PartitionMetrics;
  return { time, bufferUsed: 0, bufferMemory: 0, recordsSent: sent, recordsFailed: 0, batchesSent: 0, bytesSent: bytes, requests: b.requests,
    retries: 0, epochBumps: 0, producerId: -1, producerEpoch: -1, brokers: { "h:1": b }, partitions: { "t/0": p } };
}

test("producerFrame: rates, errors and per-broker RTT are of the interval, not since the start", () => {
  const before = metrics(1000, 100, 1048576, { requests: 10, rttAvgMs: 2 }, { NOT_LEADER_OR_FOLLOWER: 3 });
  // 10 more answered requests averaging 12 ms: running average (10*2 + 10*12) / 20 = 7.
  const after = metrics(3000, 2100, 5 * 1048576, { requests: 20, rttAvgMs: 7 }, { NOT_LEADER_OR_FOLLOWER: 5, REQUEST_TIMED_OUT: 1 });
  const f = producerFrame(before, after, [4, 1, 3, 2, 100]);
  assert.is(f.intervalSec, 2);
  assert.is(f.recordsPerSec, 1000);
  assert.is(f.mbPerSec, 2);
  assert.equal(f.errors, { NOT_LEADER_OR_FOLLOWER: 2, REQUEST_TIMED_OUT: 1 });
  assert.is(f.brokers["h:1"]!.rttMs, 12);
  assert.is(f.p50Ms, 3);
  assert.is(f.p99Ms, 100);
  assert.equal(producerFrame(after, after, []).brokers["h:1"]!.rttMs, null, "no answers in the interval");
  assert.ok(renderFrame(f, "x").some((l) => l.includes("REQUEST_TIMED_OUT 1")));
});

test("proxyFrame: bytes/s, refusals of the interval, latency quantiles from the histogram difference", () => {
  const text = (counts: number[]) => ["0.001", "0.01", "0.1", "+Inf"].flatMap((le, i) => [
    `kafkasm_proxy_broker_request_duration_seconds_bucket{api="Produce",le="${le}"} ${counts[i]}`,
    `kafkasm_proxy_broker_request_duration_seconds_bucket{api="Metadata",le="${le}"} 1`,
  ]).join("\n");
  const stats = (bytes: number, refused: Record<string, number>) => ({ connections: { open: 2 }, refused: { byReason: refused }, bytes: { toBroker: bytes, toClient: 0 } });
  const before = { time: 0, stats: stats(0, { BAD_TOKEN: 1 }), buckets: parseLatencyBuckets(text([0, 0, 0, 0])) };
  // 100 Produce requests in the interval: 60 ≤ 1 ms, 39 in (1, 10] ms, 1 in (10, 100] ms.
  const after = { time: 500, stats: stats(1048576, { BAD_TOKEN: 1, TARGET_NOT_ALLOWED: 4 }), buckets: parseLatencyBuckets(text([60, 99, 100, 100])) };
  const f = proxyFrame(before, after);
  assert.is(f.mbPerSec, 2);
  assert.equal(f.errors, { TARGET_NOT_ALLOWED: 4 });
  assert.is(f.p50Ms, 1);
  assert.is(f.p99Ms, 10);
  assert.is(f.connections, 2);
});

test("kafkasm top --brokers --topic --once --json: a frame of a live load on the mock cluster", async () => {
  const cluster = await startCluster({ brokers: 2 });
  try {
    const { name: topic } = await freshTopic(cluster, "top", 2);
    // The mock picks leaders at random (both can land on one broker): put one on each, as the test needs.
    if (!cluster.external) for (let p = 0; p < 2; p++) await cluster.setLeader(topic, p, cluster.brokers[p].id);
    const child = top(["--brokers", cluster.bootstrap, "--topic", topic, "--once", "--json", "--interval-ms", "700"]);
    assert.is(await child.exited(60_000), 0, child.stderr);
    const frame = JSON.parse(child.stdout.trim().split("\n").pop()!);
    assert.is(frame.source, "producer");
    assert.ok(frame.recordsPerSec > 0, JSON.stringify(frame));
    assert.ok(frame.p50Ms !== null && frame.p50Ms <= frame.p99Ms, JSON.stringify(frame));
    assert.equal(frame.errors, {});
    const brokers = Object.values(frame.brokers) as { rttMs: number | null }[];
    assert.ok(brokers.length >= 2 && brokers.some((b) => typeof b.rttMs === "number"), JSON.stringify(frame.brokers));
  } finally {
    await cluster.stop();
  }
});

test("kafkasm top --proxy URL --token: a frame of the proxy's stats; a wrong token fails with the HTTP status", async () => {
  const proxy = await startProxy({ allow: ["127.0.0.1:1"], token: "secret", statsPath: "/stats", metricsPath: "/metrics", log: () => {} });
  try {
    const url = `${proxy.url.replace("ws", "http")}/stats`;
    const child = top(["--proxy", url, "--token", "secret", "--once", "--json", "--interval-ms", "100"]);
    assert.is(await child.exited(30_000), 0, child.stderr);
    const frame = JSON.parse(child.stdout.trim());
    assert.is(frame.source, "proxy");
    assert.is(frame.connections, 0);
    const s = proxy.stats();
    assert.is(frame.totals.bytes, s.bytes.toBroker + s.bytes.toClient);
    const bad = top(["--proxy", url, "--token", "wrong", "--once", "--json"]);
    assert.is(await bad.exited(30_000), 1);
    assert.match(bad.stderr, /HTTP 401/);
  } finally {
    await proxy.close();
  }
});

test("kafkasm top: --brokers and --proxy are exclusive (exit 2)", async () => {
  const child = top(["--brokers", "127.0.0.1:1", "--proxy", "http://127.0.0.1:1/stats"]);
  assert.is(await child.exited(30_000), 2);
});

exitAfterSuite(test);
test.run();
