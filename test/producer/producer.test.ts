import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, ERR } from "../fake/cluster.ts";
import { Producer, type ProducerOptions, ClientError, KafkaError, serializers } from "../../src/public.ts";
import { getCodec } from "../../bindings/codec.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { ManualClock, flush } from "./helpers.ts";
import { until } from "../harness/bounded.ts";

function setup(opts: Partial<ProducerOptions> = {}, partitions = 3, brokers = 2) {
  const cluster = new FakeCluster({ brokers, topics: [{ name: "t", partitions }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, ...opts });
  return { cluster, producer };
}

test("send resolves with topic, partition, offset and timestamp; records land where the metadata says", async () => {
  const { cluster, producer } = setup();
  const metas = await Promise.all(["a", "b", "c", "d"].map((v, i) => producer.send({ topic: "t", value: v, partition: i % 3, timestamp: 1000 + i })));
  assert.equal(metas.map((m) => [m.partition, m.offset, m.timestamp]), [[0, 0, 1000], [1, 0, 1001], [2, 0, 1002], [0, 1, 1003]]);
  assert.equal(cluster.values("t", 0), ["a", "d"]);
  await producer.close();
});

test("keyed records go to the partition Java chooses: (murmur2(key) & 0x7fffffff) % n, Java's own vectors", async () => {
  const codec = await getCodec();
  // Apache Kafka UtilsTest.testMurmur2.
  const vectors: [string, number][] = [["21", -973932308], ["foobar", -790332482], ["a-little-bit-long-string", -985981536], ["abc", 479470107]];
  for (const [k, h] of vectors) assert.is(codec.murmur2String(k), h);
  const { producer } = setup({}, 7, 1);
  for (const [k, h] of vectors) {
    const m = await producer.send({ topic: "t", key: k, value: "x" });
    assert.is(m.partition, (h & 0x7fffffff) % 7, k);
    const mb = await producer.send({ topic: "t", key: new TextEncoder().encode(k), value: "x" });
    assert.is(mb.partition, (h & 0x7fffffff) % 7, k);
  }
  await producer.close();
});

test("callback send, JSON serializer and headers reach the broker", async () => {
  const { cluster, producer } = setup({ valueSerializer: serializers.json } as Partial<ProducerOptions>);
  const meta = await new Promise<any>((res, rej) => (producer as Producer<string, unknown>).send({ topic: "t", value: { a: 1 }, partition: 1, headers: { h: "v", b: new Uint8Array([1]) } }, (e, m) => (e ? rej(e) : res(m))));
  assert.is(meta.offset, 0);
  const r = cluster.records("t", 1)[0];
  assert.is(new TextDecoder().decode(r.value!), '{"a":1}');
  assert.equal(r.headers.map((h) => h.key), ["h", "b"]);
  await producer.close();
});

test("acks 0: the broker sends no response and send resolves once written, with offset -1", async () => {
  const { cluster, producer } = setup({ acks: 0 });
  const m = await producer.send({ topic: "t", value: "x", partition: 0 });
  assert.is(m.offset, -1);
  // Written is not yet read: the fake broker takes the bytes on a later turn, as a real one would.
  await until(() => cluster.values("t", 0).length > 0, 2000, "the fake broker to append the acks-0 record");
  assert.equal(cluster.values("t", 0), ["x"]);
  assert.is(cluster.requestsOf(ApiKey.Produce)[0].request.acks, 0);
  assert.is(cluster.requestsOf(ApiKey.InitProducerId).length, 0);
  await producer.close();
});

test("one Produce request per broker carries every ready partition of that broker", async () => {
  // A manual clock: on a loaded machine, real milliseconds passing between the appends would give
  // the batches different linger deadlines (and so separate requests).
  const clock = new ManualClock();
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 4 }], setTimeout: (fn, ms) => clock.setTimeout(fn, ms) });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, clock, lingerMs: 20 });
  let done = false;
  const all = Promise.all([0, 1, 2, 3].map((p) => producer.send({ topic: "t", value: `v${p}`, partition: p }))).then(() => { done = true; });
  for (let i = 0; i < 500 && !done; i++) {
    await new Promise((r) => setTimeout(r, 1));
    await clock.advance(5);
  }
  await all;
  const produces = cluster.requestsOf(ApiKey.Produce);
  assert.is(produces.length, 2);
  for (const r of produces) assert.is(r.request.topics[0].partitions.length, 2);
  await producer.close();
});

test("retriable errors are retried: NOT_LEADER_OR_FOLLOWER after a leader move refreshes metadata and delivers exactly once", async () => {
  const { cluster, producer } = setup({ retryBackoffMs: 1 }, 1, 2);
  await producer.send({ topic: "t", value: "first" });
  await flush();
  cluster.setLeader("t", 0, 2);
  const m = await producer.send({ topic: "t", value: "second" });
  assert.is(m.offset, 1);
  assert.equal(cluster.values("t", 0), ["first", "second"]);
  const produces = cluster.requestsOf(ApiKey.Produce);
  assert.ok(produces.length >= 3 && produces[1].brokerId === 1, "the stale leader was tried");
  assert.is(produces.at(-1)!.brokerId, 2);
  await producer.close();
});

test("retry backoff is exponential with ±20% jitter, capped by retryBackoffMaxMs (injected clock)", async () => {
  for (const [random, expected] of [[0, [80, 160, 320, 400]], [0.999, [120, 240, 480, 500]]] as const) {
    const clock = new ManualClock();
    clock.randomValue = random;
    const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
    const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, clock, retryBackoffMs: 100, retryBackoffMaxMs: 500, idempotent: false, acks: 1 });
    cluster.pushErrors(ApiKey.Produce, [ERR.NOT_ENOUGH_REPLICAS, ERR.NOT_ENOUGH_REPLICAS, ERR.NOT_ENOUGH_REPLICAS, ERR.NOT_ENOUGH_REPLICAS]);
    const p = producer.send({ topic: "t", value: "x" });
    const times: number[] = [];
    for (let i = 0; i < 3000 && times.length < 5; i++) {
      const n = cluster.requestsOf(ApiKey.Produce).length;
      await clock.advance(1);
      if (cluster.requestsOf(ApiKey.Produce).length > n) times.push(clock.now());
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // attempt k waits min(100·2^(k−1), 500)·jitter, at most 500
    assert.equal(gaps.map((g) => Math.round(g / 10) * 10), [...expected]);
    assert.is((await p).offset, 0);
    await producer.close();
  }
});

test("a non-retriable error fails at once: rejected, onDeadLetter called, not retried", async () => {
  const dead: unknown[] = [];
  const { cluster, producer } = setup({ onDeadLetter: (r, e) => dead.push([r.value, e.code]) });
  cluster.pushErrors(ApiKey.Produce, [ERR.MESSAGE_TOO_LARGE]);
  const e = await producer.send({ topic: "t", value: "x", partition: 0 }).catch((e) => e);
  assert.instance(e, KafkaError);
  assert.is(e.code, "MESSAGE_TOO_LARGE");
  assert.is(e.errorCode, 10);
  assert.equal(dead, [["x", "MESSAGE_TOO_LARGE"]]);
  assert.is(cluster.requestsOf(ApiKey.Produce).length, 1);
  await producer.close();
});

test("produce() never throws for delivery failures or bad records; they reach onError with the record", async () => {
  const errors: [string, unknown][] = [];
  const { cluster, producer } = setup({ onError: (e, r) => errors.push([e.code, r?.value]) });
  cluster.pushErrors(ApiKey.Produce, [ERR.MESSAGE_TOO_LARGE]);
  producer.produce({ topic: "t", value: "x", partition: 0 });
  producer.produce({ topic: "t", value: 42 as unknown as string });
  producer.produce({ topic: "", value: "y" });
  producer.produce({ topic: "t", value: "z", partition: 99 });
  await producer.flush();
  assert.equal(errors.map((e) => e[0]).sort(), ["INVALID_RECORD", "INVALID_RECORD", "INVALID_RECORD", "MESSAGE_TOO_LARGE"]);
  await producer.close();
});

test("a retriable error that persists fails with DELIVERY_TIMEOUT after deliveryTimeoutMs, naming the last error", async () => {
  const clock = new ManualClock();
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, clock, deliveryTimeoutMs: 2000, requestTimeoutMs: 1000 });
  cluster.inject({ apiKey: ApiKey.Produce, count: Infinity, action: { error: ERR.NOT_ENOUGH_REPLICAS } });
  const p = producer.send({ topic: "t", value: "x" }).catch((e) => e);
  await clock.advance(1999);
  let settled = false;
  void p.then(() => (settled = true));
  await flush();
  assert.is(settled, false);
  await clock.advance(10);
  const e = await p;
  assert.instance(e, ClientError);
  assert.is(e.code, "DELIVERY_TIMEOUT");
  assert.match(e.message, /NOT_ENOUGH_REPLICAS/);
  assert.ok(cluster.requestsOf(ApiKey.Produce).length > 3);
  await producer.close({ timeoutMs: 0 });
});

test("retries are bounded by `retries`", async () => {
  const { cluster, producer } = setup({ retries: 2, retryBackoffMs: 1 });
  cluster.inject({ apiKey: ApiKey.Produce, count: Infinity, action: { error: ERR.NOT_ENOUGH_REPLICAS } });
  const e = await producer.send({ topic: "t", value: "x", partition: 0 }).catch((e) => e);
  assert.is(e.code, "NOT_ENOUGH_REPLICAS");
  assert.is(cluster.requestsOf(ApiKey.Produce).length, 3);
  await producer.close();
});

test("a record over maxRequestSize fails at once with RECORD_TOO_LARGE naming size and limit; nothing is sent", async () => {
  const { cluster, producer } = setup({ maxRequestSize: 1000 });
  const e = await producer.send({ topic: "t", value: "é".repeat(600) }).catch((e) => e);
  assert.is(e.code, "RECORD_TOO_LARGE");
  assert.match(e.message, /\d+ bytes.*maxRequestSize 1000/);
  const ok = await producer.send({ topic: "t", value: "x".repeat(600), partition: 0 });
  assert.is(ok.offset, 0);
  assert.is(cluster.requestsOf(ApiKey.Produce).length, 1);
  await producer.close();
});

test("bufferMemory full: send waits for room up to maxBlockMs, then rejects with BUFFER_EXHAUSTED; beyond bufferMemory of waiting records, at once", async () => {
  const clock = new ManualClock();
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }], setTimeout: (fn, ms) => clock.setTimeout(fn, ms) });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, clock, bufferMemory: 4096, maxBlockMs: 500, batchSize: 2048 });
  await producer.send({ topic: "t", value: "warm-up" }).then(undefined, (e) => e);
  // The broker holds every response for 10 s: memory is not freed.
  cluster.inject({ apiKey: ApiKey.Produce, count: Infinity, action: { delayMs: 10_000 } });
  const results: unknown[] = [];
  const messages: string[] = [];
  for (let i = 0; i < 10; i++) producer.send({ topic: "t", value: "x".repeat(1000) }).then((m) => results.push(m.offset), (e) => { results.push(e.code); messages.push(e.message); });
  await clock.advance(1);
  // A few fit in batches; of the rest, at most 4 KB (3 records) may wait; the others fail at once.
  const immediate = results.length;
  assert.ok(immediate >= 1 && results.every((r) => r === "BUFFER_EXHAUSTED"), String(results));
  assert.match(messages[0], /records waiting for room in bufferMemory already hold \d+ bytes of bufferMemory 4096/);
  await clock.advance(498);
  assert.is(results.length, immediate);
  await clock.advance(2);
  assert.ok(results.length > immediate && results.every((r) => r === "BUFFER_EXHAUSTED"), String(results));
  assert.match(messages.at(-1)!, /stayed full for maxBlockMs 500/);
  const accepted = 10 - results.length;
  assert.ok(accepted >= 3 && accepted <= 5, `accepted ${accepted}`);
  // The fake answers one connection's requests in turn: each held response takes 10 s.
  await clock.advance(60_000);
  await flush();
  assert.is(results.length, 10);
  await producer.close();
});

test("bufferMemory: waiting sends go through in order once acknowledgements free memory", async () => {
  const { cluster, producer } = setup({ bufferMemory: 4096, batchSize: 1024 }, 1, 1);
  await producer.send({ topic: "t", value: "warm-up" }); // codec and metadata ready: records go to batches first
  // 4 KB in batches (one 500-byte record per 1 KB batch) plus up to 4 KB waiting: 10 fit.
  const n = 10;
  const ps = Array.from({ length: n }, (_, i) => producer.send({ topic: "t", value: `${i}`.padEnd(500, ".") }));
  const metas = await Promise.all(ps);
  assert.equal(metas.map((m) => m.offset), Array.from({ length: n }, (_, i) => i + 1));
  assert.equal(cluster.values("t", 0).slice(1).map((v) => parseInt(v!, 10)), Array.from({ length: n }, (_, i) => i));
  await producer.close();
});

test("an unknown topic: send waits for metadata up to maxBlockMs and fails naming the topic", async () => {
  const { producer } = setup({ maxBlockMs: 300, retryBackoffMs: 50 });
  const t0 = Date.now();
  const e = await producer.send({ topic: "missing", value: "x" }).catch((e) => e);
  assert.ok(Date.now() - t0 >= 290);
  assert.instance(e, ClientError);
  assert.match(e.message, /"missing".*maxBlockMs 300.*UNKNOWN_TOPIC_OR_PARTITION/);
  await producer.close();
});

test("an auto-created topic is waited for, then written", async () => {
  const cluster = new FakeCluster({ brokers: 1, autoCreateTopics: true, defaultPartitions: 2 });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  const m = await producer.send({ topic: "fresh", value: "x", partition: 1 });
  assert.is(m.partition, 1);
  await producer.close();
});

test("close() delivers pending records; close({timeoutMs}) rejects what is left with PRODUCER_CLOSED; sends after close fail", async () => {
  const { cluster, producer } = setup({ lingerMs: 50 });
  const ps = [1, 2, 3].map((i) => producer.send({ topic: "t", value: `${i}`, partition: 0 }));
  await producer.close();
  assert.equal((await Promise.all(ps)).map((m) => m.offset), [0, 1, 2]);
  const e = await producer.send({ topic: "t", value: "late" }).catch((e) => e);
  assert.is(e.code, "PRODUCER_CLOSED");

  const { cluster: c2, producer: p2 } = setup();
  await p2.send({ topic: "t", value: "warm", partition: 0 });
  c2.inject({ apiKey: ApiKey.Produce, count: Infinity, action: { dropResponse: true } });
  const errs: string[] = [];
  const pending = [1, 2, 3, 4].map((i) => p2.send({ topic: "t", value: `${i}`, partition: i % 2 }).then(() => "ok", (e) => e.code));
  p2.produce({ topic: "t", value: "ff" });
  await flush();
  const t0 = Date.now();
  await p2.close({ timeoutMs: 100 });
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(await Promise.all(pending), ["PRODUCER_CLOSED", "PRODUCER_CLOSED", "PRODUCER_CLOSED", "PRODUCER_CLOSED"]);
  void errs;
  void cluster;
});

test("a malformed Produce response is treated like a lost one: retried (deduplicated), and a broker that keeps sending garbage ends in DELIVERY_TIMEOUT naming PROTOCOL_ERROR", async () => {
  const { cluster, producer } = setup({ retryBackoffMs: 5, deliveryTimeoutMs: 1500, requestTimeoutMs: 1000 });
  await producer.send({ topic: "t", value: "warm", partition: 0 });
  const corrupt = (f: Uint8Array) => { const g = f.subarray(0, f.length - 3).slice(); new DataView(g.buffer).setInt32(0, g.length - 4); return g; };
  cluster.inject({ apiKey: ApiKey.Produce, action: { malformed: corrupt } });
  const m = await producer.send({ topic: "t", value: "x", partition: 0 });
  assert.is(m.offset, 1);
  assert.equal(cluster.values("t", 0), ["warm", "x"], "the retry was recognised as a duplicate");
  cluster.inject({ apiKey: ApiKey.Produce, count: Infinity, action: { malformed: corrupt } });
  const e = await producer.send({ topic: "t", value: "y", partition: 0 }).catch((e) => e);
  assert.is(e.code, "DELIVERY_TIMEOUT");
  assert.match(e.message, /Cannot decode a Produce v\d+ response/);
  await producer.close({ timeoutMs: 0 });
});

test("without onError or onDeadLetter, the first fire-and-forget failure is logged, not dropped silently", async () => {
  const { cluster, producer } = setup();
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    cluster.pushErrors(ApiKey.Produce, [ERR.MESSAGE_TOO_LARGE, ERR.MESSAGE_TOO_LARGE]);
    producer.produce({ topic: "t", value: "a", partition: 0 });
    await producer.flush();
    producer.produce({ topic: "t", value: "b", partition: 0 });
    await producer.flush();
  } finally {
    console.warn = warn;
  }
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /MESSAGE_TOO_LARGE/);
  await producer.close();
});

test.run();
