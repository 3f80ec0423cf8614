// What a caller sends cannot corrupt the producer: byte arrays that lie about their size, topic names
// Kafka would refuse, a record too large (the error names the exact batch size it checked), and a
// topic whose metadata never arrives does not hold back records of other topics.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { ClientError, KafkasmError, Producer } from "../../src/public.ts";
import { getCodec } from "../../bindings/codec.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { within } from "../harness/bounded.ts";

const escaped: unknown[] = [];
process.on("uncaughtException", (e) => escaped.push(e));
process.on("unhandledRejection", (e) => escaped.push(e));

/** Reports a length other than its own. */
class Liar extends Uint8Array {
  static claim = 1;
  override get length(): number { return Liar.claim; }
  override get byteLength(): number { return Liar.claim; }
}

function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

for (const claim of [1, 0, 1_000_000]) {
  test(`a Uint8Array subclass whose length getter says ${claim}: staged by its real length, no other partition's batch is touched, every record is delivered intact`, async () => {
    Liar.claim = claim;
    const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 2 }] });
    const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 50 });
    const liar = new Liar(200_000).fill(0x4c);
    const sends = [
      producer.send({ topic: "t", partition: 0, value: bytes(1000, 0x61) }),
      producer.send({ topic: "t", partition: 1, value: liar }),
      producer.send({ topic: "t", partition: 0, value: bytes(1000, 0x62) }),
    ];
    await within(Promise.all(sends), 10_000, "the three sends");
    const values = (p: number) => cluster.records("t", p).map((r) => r.value!);
    assert.equal(values(0), [bytes(1000, 0x61), bytes(1000, 0x62)]);
    assert.equal(values(1).map((v) => [v.length, v.every((x) => x === 0x4c)]), [[200_000, true]]);
    await producer.close();
    assert.equal(escaped, []);
  });
}

test("the codec stages a lying Uint8Array by its real length (RecordBatchBuilder directly)", async () => {
  Liar.claim = 3;
  const codec = await getCodec();
  const a = codec.newBatchBuilder(1 << 20);
  const b = codec.newBatchBuilder(1 << 20);
  assert.ok(b.append(0, null, bytes(64, 0x11)));
  assert.ok(a.append(0, null, new Liar(100_000).fill(0x22)));
  const ref = codec.newBatchBuilder(1 << 20);
  ref.append(0, null, bytes(64, 0x11));
  const header = { producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false };
  assert.equal(b.build(header), ref.build(header), "the other builder's staged record is intact");
  assert.ok(a.build(header).length > 100_000);
  for (const x of [a, b, ref]) x.release();
});

const badTopics = ["", ".", "..", "x".repeat(250), "a".repeat(40_000), "with space", "ünïcode", "slash/topic"];
const RULE = 'is not 1 to 249 of [a-zA-Z0-9._-] (nor "." or "..")';

test("topic names Kafka would refuse fail at send time with INVALID_RECORD naming the topic (truncated) and the rule; nothing is asked of the broker", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "ok.topic_1-x", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  for (const topic of [...badTopics, undefined as unknown as string, 42 as unknown as string]) {
    const rule = RULE;
    const e = await producer.send({ topic, value: "v" }).then(() => undefined, (e: unknown) => e);
    assert.instance(e, ClientError, JSON.stringify(String(topic).slice(0, 20)));
    assert.is((e as ClientError).code, "INVALID_RECORD");
    assert.ok((e as ClientError).message.includes(rule), (e as ClientError).message);
    assert.ok((e as ClientError).message.length < 400, "the message does not carry a 40,000-character name");
    if (typeof topic === "string") assert.ok((e as ClientError).message.includes(JSON.stringify(topic.slice(0, 10)).slice(0, -1)), (e as ClientError).message);
  }
  await producer.send({ topic: "ok.topic_1-x", value: "v" });
  for (const r of cluster.requestsOf(ApiKey.Metadata)) assert.equal(r.request.topics, ["ok.topic_1-x"]);
  await producer.close();
});

test("records of a healthy topic pass records waiting for a topic whose metadata never arrives; per-partition order holds; the stuck ones fail after maxBlockMs", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "good", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, maxBlockMs: 1_500, retryBackoffMs: 20, lingerMs: 0 });
  const stuck = producer.send({ topic: "missing", value: "m" }).then(() => "ok", (e: KafkasmError) => e.code);
  const good = Array.from({ length: 50 }, (_, i) => producer.send({ topic: "good", value: `g${i}` }));
  const metas = await within(Promise.all(good), 1_000, "the healthy topic's records, well before maxBlockMs");
  assert.equal(metas.map((m) => m.offset), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(cluster.values("good", 0), Array.from({ length: 50 }, (_, i) => `g${i}`));
  assert.is(await within(stuck, 10_000, "the stuck record"), "DELIVERY_TIMEOUT");
  await producer.close();
});

test("records wait behind an earlier record of their own topic: order is kept when its metadata arrives late", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "other", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, maxBlockMs: 5_000, retryBackoffMs: 20, lingerMs: 0 });
  const late = Array.from({ length: 20 }, (_, i) => producer.send({ topic: "late", value: `l${i}` }));
  await producer.send({ topic: "other", value: "o" });
  cluster.createTopic("late", 1);
  await within(Promise.all(late), 10_000, "the late topic's records");
  assert.equal(cluster.values("late", 0), Array.from({ length: 20 }, (_, i) => `l${i}`));
  await producer.close();
});

test("a callback that sends while waiting records are processed: its record is neither lost nor ahead of older records of its topic", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "late", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, maxBlockMs: 5_000, retryBackoffMs: 20, lingerMs: 0 });
  const done: Promise<unknown>[] = [];
  // Queued while the codec loads: the first fails in the pass (partition 5 does not exist), and its
  // callback sends "from-callback"; "l1" and "l2" come after it in the queue and must stay ahead.
  producer.send({ topic: "late", partition: 5, value: "bad" }, () => { done.push(producer.send({ topic: "late", partition: 0, value: "from-callback" })); });
  done.push(producer.send({ topic: "late", partition: 0, value: "l1" }), producer.send({ topic: "late", partition: 0, value: "l2" }));
  await within((async () => { while (done.length < 3) await new Promise((r) => setTimeout(r, 5)); await Promise.all(done); })(), 10_000, "the three records");
  assert.equal(cluster.values("late", 0), ["l1", "l2", "from-callback"]);
  await producer.close();
});

test("RECORD_TOO_LARGE checks the exact size of a batch holding the record alone, and says that size and the limit", async () => {
  const codec = await getCodec();
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const maxRequestSize = 10_000;
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, maxRequestSize, batchSize: 4096 });
  const headers = { h: "é", n: null };
  const sizeOf = (value: string) => {
    const b = codec.newBatchBuilder(1 << 20);
    b.append(1, "k", value, headers);
    const n = b.build({ producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false }).length;
    b.release();
    return n;
  };
  // The largest value whose batch fits exactly: it is sent.
  let len = maxRequestSize - 61;
  while (sizeOf("v".repeat(len)) > maxRequestSize) len--;
  assert.is(sizeOf("v".repeat(len)), maxRequestSize);
  await producer.send({ topic: "t", key: "k", value: "v".repeat(len), headers });
  // One byte more (a 2-byte character): refused, naming its exact size.
  const over = "v".repeat(len - 1) + "é";
  const e = await producer.send({ topic: "t", key: "k", value: over, headers }).then(() => undefined, (e: unknown) => e) as ClientError;
  assert.is(e?.code, "RECORD_TOO_LARGE");
  assert.ok(e.message.includes(`${sizeOf(over)} bytes, over maxRequestSize ${maxRequestSize}`), e.message);
  await producer.close();
});

test.run();
