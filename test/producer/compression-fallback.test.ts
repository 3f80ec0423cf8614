// Compression fallback: a batch that compression does not shrink is sent uncompressed (attributes 0).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer } from "../../src/public.ts";
import { noise } from "../compression/corpus.ts";

const CODECS = [["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4]] as const;

function setup(compression: "gzip" | "snappy" | "lz4" | "zstd", extra: Record<string, unknown> = {}) {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, compression, lingerMs: 5, batchSize: 4096, ...extra });
  return { cluster, producer };
}

for (const [name, attribute] of CODECS) {
  test(`${name}: incompressible values go out uncompressed (codec bits 0), records intact`, async () => {
    const { cluster, producer } = setup(name);
    const values = Array.from({ length: 20 }, (_, i) => noise(300, i + 1));
    const metas = await Promise.all(values.map((value, i) => producer.send({ topic: "t", key: `k${i}`, value, partition: 0 })));
    await producer.close();
    assert.equal(metas.map((m) => m.offset), values.map((_, i) => i));
    const log = cluster.partition("t", 0).log;
    assert.ok(log.length >= 1);
    for (const b of log) assert.is(b.batch.attributes & 7, 0, `batch at ${b.baseOffset} has codec bits ${b.batch.attributes & 7}`);
    const recs = cluster.records("t", 0);
    assert.equal(recs.map((r) => r.value), values);
    assert.equal(recs.map((r) => new TextDecoder().decode(r.key!)), values.map((_, i) => `k${i}`));
  });

  test(`${name}: compressible values go out compressed (codec bits ${attribute})`, async () => {
    const { cluster, producer } = setup(name);
    const values = Array.from({ length: 20 }, (_, i) => `{"device":"sensor-${i % 3}","reading":${i},"unit":"celsius","status":"ok"}`.repeat(4));
    await Promise.all(values.map((value) => producer.send({ topic: "t", value, partition: 0 })));
    await producer.close();
    const log = cluster.partition("t", 0).log;
    assert.ok(log.length >= 1);
    for (const b of log) assert.is(b.batch.attributes & 7, attribute);
    assert.equal(cluster.values("t", 0), values);
  });
}

test("idempotent: compressed and uncompressed (fallback) batches of one partition carry consecutive sequences", async () => {
  const { cluster, producer } = setup("lz4", { idempotent: true, maxInFlight: 1, batchSize: 1024 });
  // Alternate compressible and incompressible runs so that both kinds of batch follow each other.
  const sends: Promise<unknown>[] = [];
  const expected: Uint8Array[] = [];
  for (let run = 0; run < 6; run++) {
    for (let i = 0; i < 5; i++) {
      const value = run % 2 === 0 ? noise(200, run * 10 + i + 1) : new TextEncoder().encode("compressible ".repeat(15));
      expected.push(value);
      sends.push(producer.send({ topic: "t", value, partition: 0 }));
    }
    await producer.flush();
  }
  await Promise.all(sends);
  await producer.close();
  const log = cluster.partition("t", 0).log;
  const kinds = new Set(log.map((b) => b.batch.attributes & 7));
  assert.ok(kinds.has(0) && kinds.has(3), `both kinds of batch were sent: ${[...kinds]}`);
  let seq = 0;
  for (const b of log) {
    assert.ok(b.batch.producerId >= 0);
    assert.is(b.batch.baseSequence, seq);
    seq += b.batch.records.length;
  }
  assert.equal(cluster.records("t", 0).map((r) => r.value), expected);
});

test("transactional: a fallback batch keeps the transactional attribute and the producer's id", async () => {
  const { cluster, producer } = setup("zstd", { transactionalId: "tx-z" });
  await producer.initTransactions();
  producer.beginTransaction();
  await Promise.all([1, 2, 3].map((i) => producer.send({ topic: "t", value: noise(400, i), partition: 0 })));
  await producer.commitTransaction();
  await producer.close();
  const log = cluster.partition("t", 0).log;
  assert.ok(log.length >= 1);
  for (const b of log) {
    assert.is(b.batch.attributes & 7, 0);
    assert.is(b.batch.attributes & 0x10, 0x10);
    assert.is(b.batch.producerId, cluster.transactions.get("tx-z")!.producerId);
  }
  assert.equal(cluster.records("t", 0).map((r) => r.value), [1, 2, 3].map((i) => noise(400, i)));
});

test.run();
