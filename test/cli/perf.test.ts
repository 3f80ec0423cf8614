import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { runPerf, type PerfProducer } from "../../src/cli/perf.ts";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { queryOffsets } from "../harness/kcat.ts";
import { freshTopic } from "./topics.ts";

const root = new URL("../..", import.meta.url).pathname;

/** A producer that acknowledges asynchronously, records how many were outstanding, fails every 100th. */
function fakeProducer(ackDelayMs: number) {
  let outstanding = 0, maxOutstanding = 0, sent = 0;
  const p: PerfProducer & { stats(): { maxOutstanding: number; sent: number } } = {
    send(_record, cb) {
      const n = sent++;
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      setTimeout(() => { outstanding--; cb(n % 100 === 99 ? Object.assign(new Error("boom"), { code: "REQUEST_TIMEOUT" }) : null); }, ackDelayMs);
    },
    flush: () => new Promise((r) => setTimeout(r, ackDelayMs + 5)),
    stats: () => ({ maxOutstanding, sent }),
  };
  return p;
}

test("runPerf: counts acks and failures, samples latency, reports progress", async () => {
  const p = fakeProducer(2);
  const progress: number[] = [];
  const r = await runPerf(p, { topic: "t", records: 5000, recordSize: 10, onProgress: (x) => progress.push(x.done), progressIntervalMs: 5 });
  assert.is(p.stats().sent, 5000);
  assert.is(r.failed, 50);
  assert.is(r.records, 4950);
  assert.match(r.firstError!, /^REQUEST_TIMEOUT: boom/);
  assert.ok(r.p50Ms >= 1 && r.p50Ms <= r.p99Ms && r.p99Ms <= r.maxMs, JSON.stringify(r));
  assert.ok(progress.length > 0);
});

test("runPerf: never lets more than its window of bytes go unacknowledged", async () => {
  const p = fakeProducer(5);
  await runPerf(p, { topic: "t", records: 20_000, recordSize: 1000, windowBytes: 1_070_000 });
  // window = 1,070,000 / (1000 + 70) = 1000 records
  assert.ok(p.stats().maxOutstanding <= 1000, `max outstanding ${p.stats().maxOutstanding}`);
});

test("runPerf: --throughput limits the rate", async () => {
  const p = fakeProducer(1);
  const r = await runPerf(p, { topic: "t", records: 2000, recordSize: 10, throughput: 10_000 });
  assert.ok(r.seconds >= 0.17, `took ${r.seconds}s for 2000 records at 10,000/s`);
});

test("kafkasm perf against the mock cluster: exit 0, last stdout line is the JSON summary, offsets match", async () => {
  const cluster: Cluster = await startCluster({ brokers: 3 });
  try {
    const { name: topic } = await freshTopic(cluster, "perf", 3);
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "perf", "--brokers", cluster.bootstrap, "--topic", topic,
      "--records", "30000", "--record-size", "100", "--acks", "1"], { cwd: root, encoding: "utf8", timeout: 90_000 });
    assert.is(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!);
    for (const k of ["records", "recordsPerSec", "mbPerSec", "p50Ms", "p99Ms"]) assert.ok(k in summary, k);
    assert.is(summary.records, 30_000);
    assert.ok(summary.recordsPerSec > 0 && summary.p50Ms <= summary.p99Ms, r.stdout);
    assert.match(r.stderr, /records sent/);
    const offsets = await queryOffsets(cluster.bootstrap, topic);
    assert.is(offsets.reduce((s, o) => s + o.high, 0), 30_000);
  } finally {
    await cluster.stop();
  }
});

test.run();
