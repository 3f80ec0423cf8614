import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, ERR } from "../fake/cluster.ts";
import { Producer, type ProducerOptions } from "../../src/public.ts";
import { getCodec } from "../../bindings/codec.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { readRequestHeader } from "../../src/protocol/frame.ts";
import { Produce, ProduceServer } from "../../src/protocol/produce.ts";
import { decodeRecordBatches } from "../../src/protocol/record-batch.ts";
import { incrementSequence, restampBatch } from "../../src/producer/idempotence.ts";
import { flush } from "./helpers.ts";

function setup(opts: Partial<ProducerOptions> = {}, clusterOpts: ConstructorParameters<typeof FakeCluster>[0] = {}) {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 1 }], ...clusterOpts });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, retryBackoffMs: 5, ...opts });
  return { cluster, producer };
}

/** Sequences and epochs of the Produce requests the fake received for t/0. */
function sent(cluster: FakeCluster): { seq: number; epoch: number }[] {
  return cluster.requestsOf(ApiKey.Produce).flatMap((r) => r.request.topics.flatMap((t: any) => t.partitions.map((p: any) => {
    const b = decodeRecordBatches(p.records)[0];
    return { seq: b.baseSequence, epoch: b.producerEpoch };
  })));
}

const values = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `v${from + i}`);

test("sequences wrap from 2^31 − 1 to 0; restamping a batch rewrites producer fields and a valid CRC", async () => {
  assert.is(incrementSequence(2147483647, 1), 0);
  assert.is(incrementSequence(2147483640, 10), 2);
  assert.is(incrementSequence(5, 3), 8);
  const codec = await getCodec();
  const b = codec.newBatchBuilder(1024);
  b.append(1, "k", "v");
  b.append(2, null, "w");
  const bytes = b.build({ producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false });
  b.release();
  restampBatch(bytes, 123456789012, 7, 2147483647, (x) => codec.crc32c(x));
  const [d] = decodeRecordBatches(bytes); // checks the CRC
  assert.is(d.producerId, 123456789012);
  assert.is(d.producerEpoch, 7);
  assert.is(d.baseSequence, 2147483647);
  assert.is(d.records.length, 2);
});

test("idempotent, 5 in flight: the first in-flight batch fails, the later ones get OUT_OF_ORDER_SEQUENCE; all are resent in sequence order, exactly once", async () => {
  const { cluster, producer } = setup({ batchSize: 200 });
  await producer.send({ topic: "t", value: "warm" });
  cluster.pushErrors(ApiKey.Produce, [ERR.NOT_LEADER_OR_FOLLOWER]);
  const before = cluster.requestsOf(ApiKey.Produce).length;
  const metas = await Promise.all(values(60).map((v) => producer.send({ topic: "t", value: v.padEnd(40, ".") })));
  assert.equal(cluster.values("t", 0).map((v) => v!.replace(/\.+$/, "")), ["warm", ...values(60)]);
  assert.equal(metas.map((m) => m.offset), Array.from({ length: 60 }, (_, i) => i + 1));
  const seqs = sent(cluster).slice(before);
  // Five went out before the first answer; the resends start again at the first one's sequence.
  const firstWave = seqs.slice(0, 5).map((s) => s.seq);
  assert.is(firstWave.length, 5);
  assert.ok(firstWave.every((s, i) => i === 0 || s > firstWave[i - 1]), String(firstWave));
  assert.is(seqs[5].seq, firstWave[0], "resent from the failed batch's sequence");
  assert.is(cluster.requestsOf(ApiKey.InitProducerId).length, 1, "no epoch bump for an ordinary retry");
  await producer.close();
});

test("idempotent, a new partition: the first batch (sequence 0) goes alone until acknowledged, so a later batch cannot land while it fails (a broker with no state for the producer accepts any first sequence: Kafka 3.6 then answers the resent first batch OUT_OF_ORDER_SEQUENCE_NUMBER)", async () => {
  const { cluster, producer } = setup({ batchSize: 200 });
  cluster.pushErrors(ApiKey.Produce, [ERR.NOT_LEADER_OR_FOLLOWER]); // the first Produce: a topic not ready yet
  const outcomes = await Promise.all(values(60).map((v) => producer.send({ topic: "t", value: v.padEnd(40, ".") }).then((m) => m.offset, (e) => e.code)));
  assert.equal(outcomes, Array.from({ length: 60 }, (_, i) => i), "every record delivered, in order");
  assert.equal(cluster.values("t", 0).map((v) => v!.replace(/\.+$/, "")), values(60));
  const seqs = sent(cluster).map((x) => x.seq);
  assert.equal(seqs.slice(0, 2), [0, 0], "sequence 0 was sent alone, and again alone after it failed");
  assert.ok(seqs.slice(2).every((q, i, a) => i === 0 || q > a[i - 1]), `then pipelined in sequence order: ${seqs}`);
  await producer.close();
});

test("idempotent: a response lost after the broker wrote the batch (request timeout) is resent and deduplicated", async () => {
  const { cluster, producer } = setup({ requestTimeoutMs: 150, deliveryTimeoutMs: 5000 });
  await producer.send({ topic: "t", value: "warm" });
  cluster.inject({ apiKey: ApiKey.Produce, action: { dropResponse: true } });
  const metas = await Promise.all(values(5).map((v) => producer.send({ topic: "t", value: v })));
  assert.equal(cluster.values("t", 0), ["warm", ...values(5)]);
  assert.equal(metas.map((m) => m.offset), [1, 2, 3, 4, 5], "the duplicate answer carries the original offset");
  await producer.close();
});

test("idempotent: DUPLICATE_SEQUENCE_NUMBER counts as success", async () => {
  const { cluster, producer } = setup({ requestTimeoutMs: 150 }, { duplicateAnswer: "error" });
  await producer.send({ topic: "t", value: "warm" });
  cluster.inject({ apiKey: ApiKey.Produce, action: { dropResponse: true } });
  const m = await producer.send({ topic: "t", value: "once" });
  assert.is(m.offset, -1);
  assert.equal(cluster.values("t", 0), ["warm", "once"]);
  await producer.close();
});

test("idempotent: a connection lost with batches in flight → resent in order, exactly once", async () => {
  const { cluster, producer } = setup({ batchSize: 200 });
  await producer.send({ topic: "t", value: "warm" });
  cluster.closeAfter(1, 3); // the third request is not processed; the first two were
  const metas = await Promise.all(values(40).map((v) => producer.send({ topic: "t", value: v.padEnd(40, ".") })));
  assert.equal(cluster.values("t", 0).map((v) => v!.replace(/\.+$/, "")), ["warm", ...values(40)]);
  assert.equal(new Set(metas.map((m) => m.offset)).size, 40);
  await producer.close();
});

test("idempotent: OUT_OF_ORDER_SEQUENCE for the first unacknowledged batch fails it and bumps the epoch (InitProducerId v3+ with the current id/epoch); later records start at sequence 0", async () => {
  const dead: string[] = [];
  const { cluster, producer } = setup({ onDeadLetter: (_r, e) => dead.push(e.code) });
  await producer.send({ topic: "t", value: "warm" });
  cluster.pushErrors(ApiKey.Produce, [ERR.OUT_OF_ORDER_SEQUENCE_NUMBER]);
  const e = await producer.send({ topic: "t", value: "lost" }).catch((e) => e);
  assert.is(e.code, "OUT_OF_ORDER_SEQUENCE_NUMBER");
  assert.equal(dead, ["OUT_OF_ORDER_SEQUENCE_NUMBER"]);
  const m = await producer.send({ topic: "t", value: "after" });
  assert.is(m.offset, 1);
  const inits = cluster.requestsOf(ApiKey.InitProducerId);
  assert.is(inits.length, 2);
  assert.ok(inits[1].apiVersion >= 3);
  assert.is(inits[1].request.producerId, inits[0].request.producerId === -1 ? 1000 : -2);
  assert.is(inits[1].request.producerEpoch, 0);
  const last = sent(cluster).at(-1)!;
  assert.equal(last, { seq: 0, epoch: 1 });
  assert.equal(cluster.values("t", 0), ["warm", "after"]);
  await producer.close();
});

test("idempotent: UNKNOWN_PRODUCER_ID bumps the epoch and resends the batch, delivered once", async () => {
  const { cluster, producer } = setup();
  await producer.send({ topic: "t", value: "warm" });
  cluster.pushErrors(ApiKey.Produce, [ERR.UNKNOWN_PRODUCER_ID]);
  const m = await producer.send({ topic: "t", value: "x" });
  assert.is(m.offset, 1);
  assert.equal(cluster.values("t", 0), ["warm", "x"]);
  assert.equal(sent(cluster).at(-1), { seq: 0, epoch: 1 });
  await producer.close();
});

test("idempotent: an epoch bump restamps a copy of the batch, never the frame handed to the transport (which may still hold it)", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const frames: Uint8Array[] = []; // exactly what write() was handed, not copies
  const transport: typeof cluster.transport = async (address, handlers) => {
    const socket = await cluster.transport(address, handlers);
    return { write: (data) => (frames.push(data), socket.write(data)), close: () => socket.close() };
  };
  const producer = new Producer({ brokers: cluster.bootstrap, transport, retryBackoffMs: 5 });
  await producer.send({ topic: "t", value: "warm" });
  cluster.pushErrors(ApiKey.Produce, [ERR.UNKNOWN_PRODUCER_ID]);
  const before = frames.length;
  await producer.send({ topic: "t", value: "x" });
  const produced = frames.slice(before).map((f) => readRequestHeader(f.subarray(4), () => Produce as never))
    .filter(({ header }) => header.apiKey === ApiKey.Produce)
    .map(({ header, reader }) => decodeRecordBatches(ProduceServer.decodeRequest(reader, header.apiVersion).topics[0].partitions[0].records as Uint8Array)[0]);
  assert.equal(produced.map((b) => [b.baseSequence, b.producerEpoch]), [[1, 0], [0, 1]]);
  await producer.close();
});

test("without InitProducerId v3 (old broker), a gap gets a new ProducerId instead of an epoch bump", async () => {
  const { cluster, producer } = setup({}, { apiVersions: { [ApiKey.InitProducerId]: { minVersion: 0, maxVersion: 2 } } });
  await producer.send({ topic: "t", value: "warm" });
  cluster.pushErrors(ApiKey.Produce, [ERR.UNKNOWN_PRODUCER_ID]);
  await producer.send({ topic: "t", value: "x" });
  const inits = cluster.requestsOf(ApiKey.InitProducerId);
  assert.is(inits.length, 2);
  assert.ok(inits.every((r) => r.apiVersion === 2));
  assert.equal(cluster.values("t", 0), ["warm", "x"]);
  await producer.close();
});

test("without idempotence, maxInFlight > 1 can reorder on retry (documented); maxInFlight 1 keeps order", async () => {
  for (const maxInFlight of [5, 1]) {
    const { cluster, producer } = setup({ acks: 1, idempotent: false, maxInFlight, batchSize: 100 });
    await producer.send({ topic: "t", value: "warm" });
    cluster.pushErrors(ApiKey.Produce, [ERR.NOT_ENOUGH_REPLICAS]);
    await Promise.all(values(6).map((v) => producer.send({ topic: "t", value: v.padEnd(60, ".") })));
    const got = cluster.values("t", 0).slice(1).map((v) => v!.replace(/\.+$/, ""));
    assert.equal([...got].sort(), values(6), "none lost, none duplicated");
    if (maxInFlight === 5) assert.not.equal(got, values(6), "a later batch overtook the retried one");
    else assert.equal(got, values(6));
    await producer.close();
  }
});

test("10,000 concurrent single sends with idempotence → 10,000 distinct offsets", async () => {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 4 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  const metas = await Promise.all(Array.from({ length: 10_000 }, (_, i) => producer.send({ topic: "t", key: `k${i % 97}`, value: `v${i}` })));
  const ids = new Set(metas.map((m) => `${m.partition}:${m.offset}`));
  assert.is(ids.size, 10_000);
  let total = 0;
  for (let p = 0; p < 4; p++) total += cluster.values("t", p).length;
  assert.is(total, 10_000);
  await producer.close();
});

test("a broker going down and up mid-run: every record exactly once, in per-key order", async () => {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2, leaders: [1, 2] }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, retryBackoffMs: 5, batchSize: 300 });
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < 300; i++) {
    all.push(producer.send({ topic: "t", key: `k${i % 5}`, value: `k${i % 5}:${i}` }));
    if (i === 100) { cluster.brokerDown(2); cluster.setLeader("t", 1, 1); }
    if (i === 200) { cluster.brokerUp(2); cluster.setLeader("t", 1, 2); }
    if (i % 10 === 0) await flush(1);
  }
  await Promise.all(all);
  const seen = new Map<string, number>();
  let count = 0;
  for (const p of [0, 1]) for (const v of cluster.values("t", p)) {
    const [k, n] = v!.split(":");
    assert.ok((seen.get(k) ?? -1) < Number(n), `order of ${k}`);
    seen.set(k, Number(n));
    count++;
  }
  assert.is(count, 300);
  await producer.close();
});

test.run();
