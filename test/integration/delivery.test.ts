// Delivery against the librdkafka mock cluster, read back with kcat: acks 0/1 without idempotence,
// 10,000 concurrent idempotent sends, close() with pending records, Java-compatible partitioning,
// and every compression codec.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ApiKey, startCluster, type Cluster } from "../harness/cluster.ts";
import { consumeAll, consumeBytes, kcatProduce, queryOffsets } from "../harness/kcat.ts";
import { consume } from "../../src/cli/consume.ts";
import { Producer, KafkasmError, nodeTransport, type RecordMetadata } from "../../src/index.ts";
import { tick } from "./helpers.ts";
import { noise } from "../compression/corpus.ts";

const it = process.env.KAFKA_BROKERS ? test.skip : test;
let cluster: Cluster;
const brokers = () => cluster.bootstrap.split(",");

test.before(async () => {
  cluster = await startCluster({ brokers: 3 });
});
test.after(async () => {
  await cluster.stop();
});

it("acks 1 without idempotence, under injected retriable errors: none lost", async () => {
  await cluster.createTopic("acks1", 3);
  const producer = new Producer({ brokers: brokers(), acks: 1, retryBackoffMs: 10 });
  await cluster.pushRequestErrors(ApiKey.Produce, [6, 7, 13, 19, 19, 7]);
  const sends: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < 2000; i++) {
    sends.push(producer.send({ topic: "acks1", key: `k${i % 10}`, value: `v${i}` }));
    if (i % 100 === 99) await tick();
  }
  await Promise.all(sends);
  await producer.close();
  const got = new Set((await consumeAll(cluster.bootstrap, "acks1", { count: 2000 })).map((r) => r.payload));
  assert.is(got.size, 2000);
});

it("acks 0: sends resolve without a broker response (offset -1) and the records arrive", async () => {
  await cluster.createTopic("acks0", 1);
  const producer = new Producer({ brokers: brokers(), acks: 0 });
  const metas = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic: "acks0", value: `v${i}` })));
  assert.ok(metas.every((m) => m.offset === -1));
  await producer.close();
  assert.equal((await consumeAll(cluster.bootstrap, "acks0", { count: 50 })).map((r) => r.payload), Array.from({ length: 50 }, (_, i) => `v${i}`));
});

it("10,000 concurrent single sends with idempotence → 10,000 distinct offsets", async () => {
  await cluster.createTopic("many", 4);
  const producer = new Producer({ brokers: brokers(), acks: "all", idempotent: true });
  const metas = await Promise.all(Array.from({ length: 10_000 }, (_, i) => producer.send({ topic: "many", value: `v${i}` })));
  await producer.close();
  assert.is(new Set(metas.map((m) => `${m.partition}/${m.offset}`)).size, 10_000);
  const offsets = await queryOffsets(cluster.bootstrap, "many");
  assert.is(offsets.reduce((n, o) => n + o.high - o.low, 0), 10_000);
  for (const m of metas) assert.ok(m.offset < offsets.find((o) => o.partition === m.partition)!.high);
});

it("close({timeoutMs}) with records pending: each is delivered or rejected with a typed error; delivered ones are in the log", async () => {
  await cluster.createTopic("closing", 1);
  await cluster.setLeader("closing", 0, 1);
  const producer = new Producer({ brokers: brokers(), batchSize: 256, maxInFlight: 1 });
  await producer.send({ topic: "closing", value: "warm-up" });
  await cluster.setRtt(1, 250);
  const outcomes = Array.from({ length: 200 }, (_, i) => producer.send({ topic: "closing", value: `v${i}` }).then((m) => m, (e) => e));
  await new Promise((r) => setTimeout(r, 50));
  await producer.close({ timeoutMs: 600 });
  const results = await Promise.all(outcomes);
  await cluster.setRtt(1, 0);
  const delivered = results.filter((r) => !(r instanceof Error)) as RecordMetadata[];
  const failed = results.filter((r) => r instanceof Error);
  for (const e of failed) {
    assert.instance(e, KafkasmError);
    assert.is((e as KafkasmError).code, "PRODUCER_CLOSED");
  }
  assert.ok(delivered.length > 0 && failed.length > 0, `${delivered.length} delivered, ${failed.length} failed`);
  const log = new Set((await consumeAll(cluster.bootstrap, "closing")).map((r) => r.payload));
  for (const m of delivered) assert.ok(log.has(`v${results.indexOf(m)}`));
});

it("close() without a timeout delivers everything pending", async () => {
  await cluster.createTopic("closeall", 2);
  const producer = new Producer({ brokers: brokers(), lingerMs: 100 });
  const sends = Array.from({ length: 300 }, (_, i) => producer.send({ topic: "closeall", value: `v${i}` }));
  await producer.close();
  assert.is((await Promise.all(sends)).length, 300);
  assert.is((await consumeAll(cluster.bootstrap, "closeall", { count: 300 })).length, 300);
});

it("keyed records land on the partition the Java client chooses (Kafka's murmur2 vectors), the same as librdkafka's murmur2 partitioner", async () => {
  await cluster.createTopic("keys", 7);
  // Apache Kafka UtilsTest.testMurmur2 vectors: key → murmur2.
  const vectors: [string, number][] = [["21", -973932308], ["foobar", -790332482], ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829], ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971], ["abc", 479470107]];
  const producer = new Producer({ brokers: brokers() });
  for (const [k] of vectors) await producer.send({ topic: "keys", key: k, value: "kafkasm" });
  await producer.close();
  await kcatProduce(cluster.bootstrap, "keys", vectors.map(([k]) => `${k}|kcat`), { keyDelimiter: "|", config: { partitioner: "murmur2" } });
  const recs = await consumeAll(cluster.bootstrap, "keys", { count: vectors.length * 2 });
  for (const [k, h] of vectors) {
    const parts = recs.filter((r) => r.key === k).map((r) => r.partition);
    assert.equal(parts, [(h & 0x7fffffff) % 7, (h & 0x7fffffff) % 7], k);
  }
});

for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
  it(`compression ${compression}: kcat reads back every record with its key and headers`, async () => {
    const topic = `z-${compression}`;
    await cluster.createTopic(topic, 2);
    const producer = new Producer({ brokers: brokers(), compression });
    await Promise.all(Array.from({ length: 500 }, (_, i) => producer.send({ topic, key: `k${i % 7}`, value: `value ${i} `.repeat(5), headers: { n: `${i}` } })));
    await producer.close();
    const recs = await consumeAll(cluster.bootstrap, topic, { count: 500 });
    const byN = new Map(recs.map((r) => [Object.fromEntries(r.headers).n, r]));
    for (let i = 0; i < 500; i++) {
      assert.is(byN.get(`${i}`)?.payload, `value ${i} `.repeat(5));
      assert.is(byN.get(`${i}`)?.key, `k${i % 7}`);
    }
  });
}

/** Codec bits (attributes & 7) of every RecordBatch in raw Fetch bytes. */
function codecBits(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let pos = 0; pos + 23 <= bytes.length;) {
    out.push(dv.getInt16(pos + 21) & 7);
    pos += 12 + dv.getInt32(pos + 8);
  }
  return out;
}

for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
  it(`compression ${compression}: a batch compression does not shrink is stored uncompressed, and kcat reads its exact bytes back`, async () => {
    const topic = `zfallback-${compression}`;
    await cluster.createTopic(topic, 2);
    const producer = new Producer({ brokers: brokers(), compression, lingerMs: 5, batchSize: 4096 });
    const random = Array.from({ length: 40 }, (_, i) => noise(500, i + 1));
    const text = Array.from({ length: 40 }, (_, i) => new TextEncoder().encode(`{"n":${i},"status":"ok","unit":"celsius"}`.repeat(8)));
    await Promise.all([
      ...random.map((value, i) => producer.send({ topic, key: `r${i}`, value, partition: 0 })),
      ...text.map((value, i) => producer.send({ topic, key: `t${i}`, value, partition: 1 })),
    ]);
    await producer.close();
    const recs = await consumeBytes(cluster.bootstrap, topic, { count: 80 });
    assert.equal(recs.filter((r) => r.partition === 0).map((r) => r.payload), random);
    assert.equal(recs.filter((r) => r.partition === 1).map((r) => r.payload), text);
    // What the broker stores, batch by batch: raw Fetch bytes.
    const bits = new Map<number, number[]>([[0, []], [1, []]]);
    for await (const _ of consume({ brokers: brokers(), topic, count: 80, transport: nodeTransport, onRawRecords: (p, b) => bits.get(p)!.push(...codecBits(b)) }));
    const attribute = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[compression];
    assert.ok(bits.get(0)!.length > 0 && bits.get(0)!.every((c) => c === 0), `partition 0 (random): ${bits.get(0)}`);
    assert.ok(bits.get(1)!.length > 0 && bits.get(1)!.every((c) => c === attribute), `partition 1 (text): ${bits.get(1)}`);
  });
}

test.run();
