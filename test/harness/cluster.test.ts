// Proves the harness's read-back path: records written through the mock cluster by kcat are read
// back by kcat exactly (keys, headers, bytes, compression, offsets), and KAFKA_BROKERS mode works.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { ExternalClusterError, startCluster, type Cluster } from "./cluster.ts";
import { consumeAll, consumeBytes, kcatMetadata, kcatProduce, queryOffsets, runKcat } from "./kcat.ts";

const external = Boolean(process.env.KAFKA_BROKERS?.trim());
const it = external ? test.skip : test;
let cluster: Cluster;
test.before(async () => { cluster = await startCluster({ brokers: 3, topics: [{ name: "basic", partitions: 2 }, { name: "bin", partitions: 1 }] }); });
test.after(async () => { await cluster?.stop(); });

it("a started cluster lists its brokers on 127.0.0.1 in id order, as its metadata does", async () => {
  assert.equal(cluster.brokers.map((b) => b.id), [1, 2, 3]);
  for (const b of cluster.brokers) assert.is(b.host, "127.0.0.1");
  assert.is(cluster.bootstrap, cluster.brokers.map((b) => `127.0.0.1:${b.port}`).join(","));
  const md = await kcatMetadata(cluster.bootstrap);
  assert.equal(md.brokers.map((b) => `${b.id}=${b.name}`).sort(), cluster.brokers.map((b) => `${b.id}=127.0.0.1:${b.port}`));
  assert.is(md.topics.find((t) => t.topic === "basic")?.partitions.length, 2);
});

test("records produced by kcat are consumed back by kcat with keys, headers and offsets", async () => {
  await kcatProduce(cluster.bootstrap, "basic", ["k1:v1", "k2:v2", "k3:"], { keyDelimiter: ":", partition: 1, headers: [["h", "x"], ["h", "y2"]] });
  const got = await consumeAll(cluster.bootstrap, "basic", { count: 3 });
  assert.equal(got.map((r) => [r.topic, r.partition, r.offset, r.key, r.payload]), [["basic", 1, 0, "k1", "v1"], ["basic", 1, 1, "k2", "v2"], ["basic", 1, 2, "k3", ""]]);
  assert.equal(got[0].headers, [["h", "x"], ["h", "y2"]]);
  assert.ok(Math.abs(got[0].ts - Date.now()) < 60_000);
  assert.equal(await queryOffsets(cluster.bootstrap, "basic"), [{ partition: 0, low: 0, high: 0 }, { partition: 1, low: 0, high: 3 }]);
  // Without a count: everything up to the end of each partition.
  assert.is((await consumeAll(cluster.bootstrap, "basic")).length, 3);
  assert.is((await consumeAll(cluster.bootstrap, "basic", { partition: 0 })).length, 0);
});

test("records compressed by kcat with each codec are read back unchanged", async () => {
  for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
    const topic = `z-${codec}`;
    await cluster.createTopic(topic, 1);
    const lines = Array.from({ length: 50 }, (_, i) => `${codec} record ${i} ${"x".repeat(i)}`);
    await kcatProduce(cluster.bootstrap, topic, lines, { compression: codec });
    assert.equal((await consumeAll(cluster.bootstrap, topic, { count: 50 })).map((r) => r.payload), lines);
  }
});

test("consumeBytes returns binary keys and payloads exactly, and null as null", async () => {
  // kcat -P splits its input on a delimiter: use 0x01 and keep that byte out of the random data.
  const values = Array.from({ length: 20 }, (_, i) => new Uint8Array(randomBytes(1 + i * 37)).map((b) => (b === 0x01 ? 0x02 : b)));
  const input = Buffer.concat(values.flatMap((v) => [Buffer.from(v), Buffer.from([0x01])]));
  const r = await runKcat(["-b", cluster.bootstrap, "-P", "-t", "bin", "-D", "\\x01"], { input });
  assert.is(r.exitCode, 0, r.stderr);
  const got = await consumeBytes(cluster.bootstrap, "bin", { count: 20 });
  assert.is(got.length, 20);
  got.forEach((rec, i) => {
    assert.is(rec.offset, i);
    assert.is(rec.key, null);
    assert.equal(rec.payload, values[i]);
  });
});

test("consumeAll reports how many records arrived when fewer than asked come before the timeout", async () => {
  const err = await consumeAll(cluster.bootstrap, "basic", { count: 4, timeoutMs: 5_000 }).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.match(String(err), /got 3 of 4 records/);
});

test("queryOffsets shows the log start moving once a partition holds more than the mock keeps", async () => {
  await cluster.createTopic("big", 1);
  const line = "y".repeat(1000);
  // ~7 MiB in 1 MB batches: the mock drops whole old batches past ~5 MiB per partition.
  await kcatProduce(cluster.bootstrap, "big", Array.from({ length: 7000 }, () => line), { config: { "batch.size": 1_000_000, "linger.ms": 50 }, timeoutMs: 60_000 });
  const [p] = await queryOffsets(cluster.bootstrap, "big");
  assert.is(p.high, 7000);
  assert.ok(p.low > 0 && p.low < 7000, `low watermark ${p.low}`);
});

it("KAFKA_BROKERS gives an external cluster: brokers from metadata, auto-created topics, faults refused", async () => {
  const saved = process.env.KAFKA_BROKERS;
  process.env.KAFKA_BROKERS = cluster.bootstrap;
  try {
    const ext = await startCluster({ topics: [{ name: "ext-auto", partitions: 2 }] });
    assert.is(ext.external, true);
    assert.is(ext.pid, undefined);
    assert.equal(ext.brokers, cluster.brokers);
    assert.ok((await kcatMetadata(cluster.bootstrap, "ext-auto")).topics[0].partitions.length >= 2);
    const e = await ext.brokerDown(1).catch((x: Error) => x);
    assert.instance(e, ExternalClusterError);
    await ext.stop();
  } finally {
    if (saved === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = saved;
  }
});

test.run();
