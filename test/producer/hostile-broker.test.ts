// A hostile broker: answers that parse but make no sense (Metadata with 0 partitions, partition index
// 2147483646, duplicate partitions, leader -5, a broker with node id -3, InitProducerId epoch -2,
// Produce answers for partitions not sent), and broken streams (truncated frames, wrong correlation
// ids, garbage, huge sizes, silence), over the in-memory transport and real TCP, plus a fuzz loop over
// random mutations of valid answers. Every send must settle within its timeouts with a typed error,
// no exception may reach the process (uncaughtException / unhandledRejection), and no answer may make
// the producer allocate in proportion to a number in it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, type RequestContext } from "../fake/cluster.ts";
import { listenTcp } from "../fake/tcp.ts";
import { ClientError, KafkasmError, Producer, type ProducerOptions, type Transport } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import type { MetadataResponse } from "../../src/protocol/metadata.ts";
import type { ProduceResponse } from "../../src/protocol/produce.ts";
import { nodeTransport } from "../../src/transport/node.ts";
import { exitAfterSuite, until, within } from "../harness/bounded.ts";
import { ManualClock } from "./helpers.ts";
import { getCodec } from "../../bindings/codec.ts";
import { loadChecks } from "../../src/producer/metadata.ts";

/** Exceptions that escaped to the process while a test ran; each test asserts there were none. */
const escaped: unknown[] = [];
process.on("uncaughtException", (e) => escaped.push(e));
process.on("unhandledRejection", (e) => escaped.push(e));
// Each test counts only what escaped while it ran (an earlier failure must not fail every later test).
// The codec and the checks chunk load once per process: loaded here, so a cold start on a loaded machine
// does not eat the first test's maxBlockMs (these tests are about answers, not load time).
test.before(async () => { await Promise.all([getCodec(), loadChecks()]); });
test.before.each(() => { escaped.length = 0; });
const API_NAMES: Record<number, string> = { [ApiKey.ApiVersions]: "ApiVersions", [ApiKey.Metadata]: "Metadata", [ApiKey.InitProducerId]: "InitProducerId", [ApiKey.Produce]: "Produce" };

const TIMEOUTS = { requestTimeoutMs: 400, deliveryTimeoutMs: 1000, maxBlockMs: 1000, retryBackoffMs: 10, retryBackoffMaxMs: 40, lingerMs: 0 };
/** The longest a send may take: maxBlockMs waiting for metadata, then deliveryTimeoutMs; plus slack for a loaded machine. */
const SETTLE_MS = TIMEOUTS.maxBlockMs + TIMEOUTS.deliveryTimeoutMs + 5_000;

function producerFor(cluster: FakeCluster, extra: Partial<ProducerOptions> = {}): Producer {
  return new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, ...TIMEOUTS, ...extra } as ProducerOptions);
}

/** Sends `n` records to `topic` and returns each outcome: "ok" or the typed error, within SETTLE_MS. */
async function outcomes(producer: Producer, topic: string, n: number): Promise<(string | KafkasmError)[]> {
  const sends = Array.from({ length: n }, (_, i) => producer.send({ topic, value: `v${i}` }).then(() => "ok", (e: unknown) => {
    assert.instance(e, KafkasmError, `an untyped rejection: ${e}`);
    return e as KafkasmError;
  }));
  return within(Promise.all(sends), SETTLE_MS, `${n} sends to ${topic} to settle`);
}

/** A Metadata handler that answers what the default handler would, changed by `edit`. */
function editMetadata(cluster: FakeCluster, edit: (res: MetadataResponse) => void): void {
  const original = cluster.defaultHandler(ApiKey.Metadata)!;
  cluster.handle(ApiKey.Metadata, async (ctx: RequestContext) => {
    const res = structuredClone(await original(ctx)) as MetadataResponse;
    edit(res);
    return res;
  });
}

function assertNothingEscaped(): void {
  assert.equal(escaped.map(String), [], "exceptions reached the process");
}

/** The record failed after maxBlockMs because the topic's metadata answer was rejected as a PROTOCOL_ERROR. */
function assertMetadataRejected(o: string | KafkasmError, what: string): void {
  assert.instance(o, ClientError, `${what}: ${o}`);
  const e = o as ClientError;
  assert.is(e.code, "DELIVERY_TIMEOUT", `${what}: ${e.message}`);
  assert.is((e.cause as KafkasmError | undefined)?.code, "PROTOCOL_ERROR", `${what}: ${e.message}`);
}

const badMetadata: [string, (res: MetadataResponse) => void][] = [
  ["0 partitions and no error", (res) => { res.topics[0].partitions = []; }],
  ["partition index 2147483646", (res) => { res.topics[0].partitions[0].partitionIndex = 2147483646; }],
  ["partition index -1", (res) => { res.topics[0].partitions[0].partitionIndex = -1; }],
  ["the same partition twice", (res) => { res.topics[0].partitions[1].partitionIndex = 0; }],
  ["leader -5", (res) => { res.topics[0].partitions[0].leaderId = -5; }],
  ["a broker with node id -3", (res) => { res.brokers[0].nodeId = -3; }],
  ["a broker at port 0", (res) => { res.brokers[0].port = 0; }],
];

for (const [what, edit] of badMetadata) {
  test(`Metadata with ${what}: sends fail with a typed error (PROTOCOL_ERROR as the cause) within maxBlockMs, nothing escapes, nothing huge is allocated`, async () => {
    const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2 }] });
    editMetadata(cluster, edit);
    // Room for the rejected answer to arrive before the deadline on a loaded machine (the cause is asserted).
    const producer = producerFor(cluster, { maxBlockMs: 3000 });
    const heapBefore = process.memoryUsage().heapUsed;
    for (const o of await outcomes(producer, "t", 3)) assertMetadataRejected(o, what);
    // 2147483646 partitions would be ~100 GB of PartitionStates; a few MB of noise is not that.
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 200 * 1024 * 1024, "heap grew by hundreds of MB");
    await within(producer.close(), 10_000, "close");
    assertNothingEscaped();
  });
}

test("records of a rejected topic that reach maxBlockMs at different times all fail with the PROTOCOL_ERROR cause (the first failures do not forget the topic under the later ones)", async () => {
  const clock = new ManualClock();
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 2 }] });
  editMetadata(cluster, (res) => { res.topics[0].partitions = []; });
  const producer = producerFor(cluster, { clock, maxBlockMs: 1000 });
  const outcome = (p: Promise<unknown>) => p.then(() => "ok", (e: KafkasmError) => e);
  const first = outcome(producer.send({ topic: "t", value: "a" }));
  await until(() => cluster.requestsOf(ApiKey.Metadata).length > 0, 5000, "a Metadata request");
  await clock.advance(5);
  const second = outcome(producer.send({ topic: "t", value: "b" }));
  await clock.advance(995); // the first record's deadline
  assertMetadataRejected(await first, "first");
  await clock.advance(5); // the second's: too soon for another Metadata answer (retryBackoffMs 10)
  assertMetadataRejected(await second, "second");
  await producer.close();
  assertNothingEscaped();
});

test("Metadata where one topic is nonsense and another is fine: records of the healthy topic are delivered, the other's fail", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "bad", partitions: 1 }, { name: "good", partitions: 2 }] });
  editMetadata(cluster, (res) => { for (const t of res.topics) if (t.name === "bad") t.partitions = []; });
  const producer = producerFor(cluster);
  const [bad, good] = await Promise.all([outcomes(producer, "bad", 2), outcomes(producer, "good", 2)]);
  assert.equal(good, ["ok", "ok"]);
  for (const o of bad) assertMetadataRejected(o, "bad topic");
  // Both topics went out in the same Metadata requests.
  assert.ok(cluster.requestsOf(ApiKey.Metadata).some((r) => r.request.topics?.length === 2), "one Metadata request named both topics");
  await within(producer.close(), 10_000, "close");
  assertNothingEscaped();
});

test("Metadata naming topics not asked for: ignored, the records are delivered", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  editMetadata(cluster, (res) => {
    res.topics.push({ ...res.topics[0], name: "not-asked", partitions: [{ ...res.topics[0].partitions[0], partitionIndex: 2147483646 }] });
  });
  const producer = producerFor(cluster);
  assert.equal(await outcomes(producer, "t", 2), ["ok", "ok"]);
  await within(producer.close(), 10_000, "close");
  assertNothingEscaped();
});

for (const [what, answer] of [["epoch -2", { producerId: 5, producerEpoch: -2 }], ["ProducerId -7", { producerId: -7, producerEpoch: 0 }]] as const) {
  test(`InitProducerId without error but with ${what}: sends fail within deliveryTimeoutMs with a typed error, nothing escapes`, async () => {
    const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
    cluster.handle(ApiKey.InitProducerId, () => ({ throttleTimeMs: 0, errorCode: 0, ...answer }));
    const producer = producerFor(cluster, { idempotent: true });
    for (const o of await outcomes(producer, "t", 3)) {
      assert.instance(o, KafkasmError);
      assert.is((o as KafkasmError).code, "DELIVERY_TIMEOUT", String(o));
    }
    assert.is(cluster.requestsOf(ApiKey.Produce).length, 0, "no batch went out stamped with a nonsensical producer id or epoch");
    await within(producer.close(), 10_000, "close");
    assertNothingEscaped();
  });
}

test("a Produce answer naming a partition that was not sent: the request fails as a whole (retriable) and the resend is delivered", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 2 }] });
  cluster.inject({ apiKey: ApiKey.Produce, action: { respond: async (ctx) => {
    const res = await cluster.defaultHandler(ApiKey.Produce)!(ctx) as ProduceResponse;
    res.topics[0].partitions.push({ ...res.topics[0].partitions[0], index: 1, baseOffset: 77 });
    return res;
  } } });
  const producer = producerFor(cluster, { partitioner: () => 0 });
  assert.equal(await outcomes(producer, "t", 1), ["ok"]);
  assert.is(cluster.requestsOf(ApiKey.Produce).length, 2, "the answer for an unsent partition was not taken as an acknowledgement");
  await within(producer.close(), 10_000, "close");
  assertNothingEscaped();
});

/** Ways to break a response frame (size prefix included). */
const breakers: [string, (frame: Uint8Array) => Uint8Array][] = [
  ["a truncated frame (the size says more than arrives)", (f) => f.subarray(0, Math.max(5, f.length >> 1))],
  ["a wrong correlation id", (f) => { const g = f.slice(); g[7] ^= 0x55; return g; }],
  ["garbage after the correlation id", (f) => { const g = f.slice(); for (let i = 8; i < g.length; i++) g[i] = (i * 131) & 0xff; return g; }],
  ["a frame size of 2^31 − 1", (f) => { const g = f.slice(); new DataView(g.buffer).setInt32(0, 0x7fffffff); return g; }],
  ["a negative frame size", (f) => { const g = f.slice(); new DataView(g.buffer).setInt32(0, -8); return g; }],
];

for (const apiKey of [ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.InitProducerId, ApiKey.Produce]) {
  for (const [what, breakFrame] of breakers) {
    test(`${API_NAMES[apiKey]} answered with ${what}, every time: sends settle with a typed error within their timeouts`, async () => {
      const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
      cluster.inject({ apiKey, count: Infinity, action: { malformed: breakFrame } });
      const producer = producerFor(cluster, { idempotent: apiKey === ApiKey.InitProducerId });
      for (const o of await outcomes(producer, "t", 2)) assert.instance(o, KafkasmError, String(o));
      await within(producer.close({ timeoutMs: 2_000 }), 10_000, "close");
      assertNothingEscaped();
    });
  }
  test(`${API_NAMES[apiKey]} never answered (silence): sends settle with a typed error within their timeouts`, async () => {
    const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
    cluster.inject({ apiKey, count: Infinity, action: { dropResponse: true } });
    const producer = producerFor(cluster, { idempotent: apiKey === ApiKey.InitProducerId });
    for (const o of await outcomes(producer, "t", 2)) assert.instance(o, KafkasmError, String(o));
    await within(producer.close({ timeoutMs: 2_000 }), 10_000, "close");
    assertNothingEscaped();
  });
}

test("a frame size of 100 MiB followed by a trickle of bytes: memory grows with the bytes that arrive, not with the size the broker wrote", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  cluster.inject({ apiKey: ApiKey.Metadata, count: Infinity, action: { malformed: (f) => {
    const g = f.slice(0, 4 + 64);
    new DataView(g.buffer).setInt32(0, 100 * 1024 * 1024 - 1);
    return g;
  } } });
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().arrayBuffers - base); }, 1);
  try {
    const producer = producerFor(cluster);
    for (const o of await outcomes(producer, "t", 2)) assert.instance(o, KafkasmError, String(o));
    await within(producer.close(), 10_000, "close");
  } finally {
    clearInterval(sampler);
  }
  // Several Metadata attempts each announced 100 MiB; what arrived was 64 bytes apiece.
  assert.ok(peak < 32 * 1024 * 1024, `array buffers grew by ${peak} bytes`);
  assertNothingEscaped();
});

test("a transport that hands the connection null instead of bytes: the connection closes with a typed error, nothing escapes to the process", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  // Wraps the fake's transport: every chunk from the broker arrives as null, from a timer (as a socket event would).
  const transport: Transport = (address, handlers) => cluster.transport(address, {
    onData: () => { setTimeout(() => handlers.onData(null as unknown as Uint8Array), 0); },
    onClose: (e) => handlers.onClose(e),
  });
  const producer = new Producer({ brokers: cluster.bootstrap, transport, ...TIMEOUTS });
  for (const o of await outcomes(producer, "t", 2)) assert.instance(o, KafkasmError, String(o));
  await within(producer.close(), 10_000, "close");
  assertNothingEscaped();
});

test("over real TCP: nonsensical Metadata and a garbage Produce answer settle every send with a typed error; the process lives", async () => {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "zero", partitions: 1 }, { name: "t", partitions: 2 }] });
  editMetadata(cluster, (res) => { for (const t of res.topics) if (t.name === "zero") t.partitions = []; });
  cluster.inject({ apiKey: ApiKey.Produce, count: Infinity, action: { malformed: breakers[2][1] } });
  const front = await listenTcp(cluster);
  try {
    const producer = new Producer({ brokers: front.bootstrap, transport: nodeTransport, ...TIMEOUTS });
    const [zero, t] = await Promise.all([outcomes(producer, "zero", 2), outcomes(producer, "t", 2)]);
    for (const o of zero) assertMetadataRejected(o, "zero");
    for (const o of t) assert.instance(o, KafkasmError, String(o));
    await within(producer.close({ timeoutMs: 2_000 }), 10_000, "close");
  } finally {
    await front.close();
  }
  assertNothingEscaped();
});

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => ((x ^= x << 13, x ^= x >>> 17, x ^= x << 5) >>> 0) / 4294967296;
}

const EXTREMES = [-2147483648, -2, -1, 0, 1, 2, 2147483646, 2147483647];

/** Sets one random numeric field anywhere in `obj` to an extreme or random value (int32 range, so it still encodes). */
function mutateNumber(obj: unknown, rand: () => number): void {
  const slots: [Record<string, unknown>, string][] = [];
  (function walk(o: unknown) {
    if (o === null || typeof o !== "object" || o instanceof Uint8Array) return;
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "number" && !/throttle|Operations/.test(k)) slots.push([o as Record<string, unknown>, k]);
      else walk(v);
    }
  })(obj);
  if (slots.length === 0) return;
  const [o, k] = slots[Math.floor(rand() * slots.length)];
  let v = rand() < 0.7 ? EXTREMES[Math.floor(rand() * EXTREMES.length)] : Math.floor(rand() * 65536) - 32768;
  if (/Epoch|errorCode/.test(k)) v = Math.max(-32768, Math.min(32767, v)); // int16 fields
  o[k] = v;
}

test("fuzz: random field mutations of valid Metadata, InitProducerId and Produce answers settle every send with metadata or a typed error", async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const rand = prng(seed * 7919);
    const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 3 }] });
    for (const apiKey of [ApiKey.Metadata, ApiKey.InitProducerId, ApiKey.Produce]) {
      const original = cluster.defaultHandler(apiKey)!;
      cluster.handle(apiKey, async (ctx) => {
        const res = await original(ctx);
        if (res === undefined || rand() < 0.4) return res;
        const copy = structuredClone(res);
        for (let i = 0, n = 1 + Math.floor(rand() * 3); i < n; i++) mutateNumber(copy, rand);
        return copy;
      });
    }
    const producer = producerFor(cluster, { idempotent: rand() < 0.5 });
    const out = await outcomes(producer, "t", 6);
    if (process.env.HOSTILE_DEBUG) console.log(seed, out.map((o) => (typeof o === "string" ? o : o.code)).join(","));
    await within(producer.close({ timeoutMs: 2_000 }), 10_000, `close (seed ${seed})`);
    assert.equal(escaped.map(String), [], `seed ${seed}: exceptions reached the process`);
  }
});

test("an unknown error code in every answer settles sends with KafkaErrors", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  cluster.inject({ apiKey: ApiKey.Produce, count: Infinity, action: { error: 32000 } });
  const producer = producerFor(cluster);
  for (const o of await outcomes(producer, "t", 2)) assert.is((o as KafkasmError).code, "UNKNOWN_ERROR_32000");
  await within(producer.close(), 10_000, "close");
  assertNothingEscaped();
});

exitAfterSuite(test);
test.run();
