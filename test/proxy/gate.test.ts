// The proxy's Kafka-aware request gate: API-key and topic allow-lists, frames split anywhere,
// and end to end through kafkasm proxy with the producer (kcat reads back only allowed topics).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { WebSocket } from "ws";
import { PRODUCER_API_KEYS, RequestGate, topicMatcher, type GateRefusal } from "../../src/proxy/gate.ts";
import { startProxy } from "../../src/proxy/proxy.ts";
import { encodeRequestFrame } from "../../src/protocol/frame.ts";
import { Produce } from "../../src/protocol/produce.ts";
import { Metadata } from "../../src/protocol/metadata.ts";
import { ApiVersions } from "../../src/protocol/api-versions.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { Producer } from "../../src/index.ts";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll, queryOffsets } from "../harness/kcat.ts";
import { closed, openWs } from "./helpers.ts";

const produce = (topics: string[], version = 9) => encodeRequestFrame(Produce, version, 7, "c", {
  transactionalId: null, acks: -1, timeoutMs: 1000,
  topics: topics.map((name) => ({ name, partitions: [{ index: 0, records: new Uint8Array([1, 2, 3]) }] })),
});
const metadata = (topics: string[] | null, version = 12) => encodeRequestFrame(Metadata, version, 8, "c", { topics, allowAutoTopicCreation: true });
/** A DeleteTopics v1 request (api key 20): size, key, version, correlation id, client id "c", one topic, timeout. */
const deleteTopics = () => {
  const body = [0, 20, 0, 1, 0, 0, 0, 9, 0, 1, 99, 0, 0, 0, 1, 0, 1, 116, 0, 0, 3, 232];
  return new Uint8Array([0, 0, 0, body.length, ...body]);
};

function run(gate: RequestGate, chunks: Uint8Array[]): { out: Uint8Array; refusal?: GateRefusal } {
  const parts: number[] = [];
  let refusal: GateRefusal | undefined;
  for (const c of chunks) {
    refusal = gate.push(c, (p, f) => parts.push(...p, ...f));
    if (refusal) break;
  }
  return { out: new Uint8Array(parts), refusal };
}

test("allowed producer requests pass byte for byte, whatever the chunking (split at every offset)", () => {
  const stream = new Uint8Array([...encodeRequestFrame(ApiVersions, 3, 1, "c", { clientSoftwareName: "k", clientSoftwareVersion: "1" }),
    ...metadata(["events"]), ...produce(["events"]), ...produce(["events", "events-2"], 3)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["events*"], maxRequestBytes: 1 << 20 });
    const r = run(gate, [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.is(r.refusal, undefined, `cut at ${cut}`);
    assert.equal([...r.out], [...stream], `cut at ${cut}`);
  }
});

test("refuses API keys outside the allow-list (DeleteTopics) and forwards nothing from that frame on", () => {
  const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, maxRequestBytes: 1 << 20 });
  const ok = metadata(["a"]);
  const r = run(gate, [new Uint8Array([...ok, ...deleteTopics(), ...ok])]);
  assert.equal(r.refusal?.reason, "API_NOT_ALLOWED");
  assert.match(r.refusal!.detail, /API key 20/);
  assert.equal([...r.out], [...ok], "only the frame before the refused one");
});

test("with a topic allow-list: Produce or Metadata naming another topic, or Metadata for all topics, is refused", () => {
  const policy = { apiKeys: PRODUCER_API_KEYS, topics: ["events", "logs-*"], maxRequestBytes: 1 << 20 };
  assert.equal(run(new RequestGate(policy), [produce(["events", "secret"])]).refusal?.reason, "TOPIC_NOT_ALLOWED");
  assert.equal(run(new RequestGate(policy), [produce(["logs-web"])]).refusal, undefined);
  assert.equal(run(new RequestGate(policy), [metadata(["payroll"], 1)]).refusal?.reason, "TOPIC_NOT_ALLOWED");
  const all = run(new RequestGate(policy), [metadata(null)]);
  assert.equal(all.refusal?.reason, "TOPIC_NOT_ALLOWED");
  assert.match(all.refusal!.detail, /all topics/);
});

test("garbage, truncated headers and frames over maxRequestBytes are BAD_REQUEST, never a throw", () => {
  const policy = { apiKeys: PRODUCER_API_KEYS, topics: ["t"], maxRequestBytes: 100 };
  assert.equal(run(new RequestGate(policy), [new Uint8Array([0, 0, 1, 0])]).refusal?.reason, "BAD_REQUEST", "size 256 > 100");
  assert.equal(run(new RequestGate(policy), [new Uint8Array([0xff, 0xff, 0xff, 0xff])]).refusal?.reason, "BAD_REQUEST", "negative size");
  assert.equal(run(new RequestGate(policy), [new Uint8Array([0, 0, 0, 2, 0, 0])]).refusal?.reason, "BAD_REQUEST", "too short");
  const p = produce(["t"]);
  const truncated = p.slice(0, 30);
  new DataView(truncated.buffer).setInt32(0, 26);
  assert.equal(run(new RequestGate(policy), [truncated]).refusal?.reason, "BAD_REQUEST", "Produce body cut short");
});

test("hostile input: random bytes in random chunks never throw; the gate forwards only whole allowed frames or refuses", () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.boolean(), (chunks, withTopics) => {
    const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: withTopics ? ["t"] : undefined, maxRequestBytes: 4096 });
    let refusal: GateRefusal | undefined;
    for (const c of chunks) {
      refusal = gate.push(c, (prefix, frame) => {
        assert.equal(new DataView(prefix.buffer).getInt32(0), frame.length);
        assert.ok(PRODUCER_API_KEYS.includes((frame[0] << 8) | frame[1]));
      });
      if (refusal) break;
    }
    if (refusal) assert.ok(["API_NOT_ALLOWED", "TOPIC_NOT_ALLOWED", "BAD_REQUEST"].includes(refusal.reason));
  }), { numRuns: 2000 });
  // Valid frames with mutated bytes (sizes kept): same guarantees.
  const valid = [...metadata(["t"]), ...produce(["t"])];
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (muts) => {
    const bytes = new Uint8Array(valid);
    for (const [i, v] of muts) if (i >= 4) bytes[i] = v;
    new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["t"], maxRequestBytes: 4096 }).push(bytes, () => {});
  }), { numRuns: 2000 });
});

test("topicMatcher: exact names and prefix* patterns only", () => {
  const m = topicMatcher(["a", "web-*"]);
  assert.ok(m("a") && m("web-") && m("web-x"));
  assert.ok(!m("ab") && !m("web") && !m("b"));
});

test("end to end: the producer reaches allowed topics through the gated proxy; a forbidden topic and DeleteTopics are refused and counted", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "web-events", partitions: 1 }, { name: "private", partitions: 1 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), topics: ["web-*"], log: () => {} });
  try {
    const transport = websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never });
    const producer = new Producer({ brokers: [cluster.bootstrap], transport, deliveryTimeoutMs: 2500, requestTimeoutMs: 1000, maxBlockMs: 2000 });
    await producer.send({ topic: "web-events", key: "k", value: "fine" });
    try { await producer.send({ topic: "private", value: "no" }); assert.unreachable(); }
    catch (e) { assert.ok(typeof (e as { code?: string }).code === "string", String(e)); }
    await producer.close({ timeoutMs: 1000 });
    assert.ok((proxy.stats().refused.byReason.TOPIC_NOT_ALLOWED ?? 0) >= 1);

    const ws = await openWs(`${proxy.url}/broker/${cluster.brokers[0].host}:${cluster.brokers[0].port}`);
    const c = closed(ws);
    ws.send(deleteTopics());
    const { code, reason } = await c;
    assert.equal(code, 1008);
    assert.match(reason, /API key 20/);
    assert.equal(proxy.stats().refused.byReason.API_NOT_ALLOWED, 1);

    assert.equal((await consumeAll(cluster.bootstrap, "web-events", { count: 1 }))[0].payload, "fine");
    const [priv] = await queryOffsets(cluster.bootstrap, "private");
    assert.equal(priv.high, 0, "nothing reached the private topic");
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

test.run();
