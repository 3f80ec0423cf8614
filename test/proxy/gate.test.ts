// The proxy's Kafka-aware request gate: API-key and topic allow-lists, frames split anywhere,
// and end to end through kafkasm proxy with the producer (kcat reads back only allowed topics).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { WebSocket } from "ws";
import { PRODUCER_API_KEYS, RequestGate, topicMatcher, type GateRefusal } from "../../src/proxy/gate.ts";
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, readRequestHeader } from "../../src/protocol/frame.ts";
import { Produce } from "../../src/protocol/produce.ts";
import { Metadata, MetadataServer } from "../../src/protocol/metadata.ts";
import { ApiVersions } from "../../src/protocol/api-versions.ts";
import { FindCoordinator } from "../../src/protocol/find-coordinator.ts";
import { InitProducerId } from "../../src/protocol/init-producer-id.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { Producer } from "../../src/index.ts";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll, queryOffsets } from "../harness/kcat.ts";
import { within, exitAfterSuite } from "../harness/bounded.ts";
import { closed, openWs, startProxy } from "./helpers.ts";

const produce = (topics: string[], version = 9, correlationId = 7) => encodeRequestFrame(Produce, version, correlationId, "c", {
  transactionalId: null, acks: -1, timeoutMs: 1000,
  topics: topics.map((name) => ({ name, partitions: [{ index: 0, records: new Uint8Array([1, 2, 3]) }] })),
});
const apiVersions = (correlationId: number) => encodeRequestFrame(ApiVersions, 3, correlationId, "c", { clientSoftwareName: "k", clientSoftwareVersion: "1" });
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
    ...metadata(["events"]), ...produce(["events"]), ...produce(["events", "events-2"], 3, 9)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["events*"], maxRequestSize: 1 << 20 });
    const r = run(gate, [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.is(r.refusal, undefined, `cut at ${cut}`);
    assert.equal([...r.out], [...stream], `cut at ${cut}`);
  }
});

test("refuses API keys outside the allow-list (DeleteTopics) and forwards nothing from that frame on", () => {
  const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, maxRequestSize: 1 << 20 });
  const ok = metadata(["a"]);
  const r = run(gate, [new Uint8Array([...ok, ...deleteTopics(), ...ok])]);
  assert.equal(r.refusal?.reason, "API_NOT_ALLOWED");
  assert.match(r.refusal!.detail, /API key 20/);
  assert.equal([...r.out], [...ok], "only the frame before the refused one");
});

test("with a topic allow-list: Produce naming another topic is refused; so is Metadata v0 (it cannot be rewritten)", () => {
  const policy = { apiKeys: PRODUCER_API_KEYS, topics: ["events", "logs-*"], maxRequestSize: 1 << 20 };
  assert.equal(run(new RequestGate(policy), [produce(["events", "secret"])]).refusal?.reason, "TOPIC_NOT_ALLOWED");
  assert.equal(run(new RequestGate(policy), [produce(["logs-web"])]).refusal, undefined);
  assert.equal(run(new RequestGate(policy), [metadata(["payroll"], 0)]).refusal?.reason, "TOPIC_NOT_ALLOWED");
});

/** A broker's Metadata answer listing `topics` (one partition each, leader 1). */
const metadataAnswer = (version: number, correlationId: number, topics: string[]) => encodeResponseFrame(MetadataServer, version, correlationId, {
  throttleTimeMs: 0, brokers: [{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }], clusterId: "c", controllerId: 1,
  clusterAuthorizedOperations: -2147483648,
  topics: topics.map((name) => ({ errorCode: 0, name, topicId: new Uint8Array(16), isInternal: false, topicAuthorizedOperations: -2147483648,
    partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }] })),
});

for (const version of [1, 4, 9, 12]) {
  test(`Metadata v${version} naming a forbidden topic: the broker is asked without it, and the client's answer has it with TOPIC_AUTHORIZATION_FAILED`, () => {
    const denied: string[] = [];
    const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["events"], maxRequestSize: 1 << 20, onTopicsDenied: (d) => denied.push(d) });
    const up = run(gate, [metadata(["events", "payroll"], version)]);
    assert.is(up.refusal, undefined);
    const { header, reader } = readRequestHeader(up.out.subarray(4), () => Metadata as never);
    assert.equal(MetadataServer.decodeRequest(reader, header.apiVersion).topics, ["events"], "the broker is asked for the allowed topic only");
    assert.match(denied[0], /payroll/);
    // The broker answers; the answer may arrive split anywhere, after an unrelated response.
    const other = new Uint8Array([0, 0, 0, 6, 0, 0, 0, 99, 1, 2]);
    const answer = new Uint8Array([...other, ...metadataAnswer(version, 8, ["events"])]);
    for (const cut of [0, 3, 7, 10, 13, 20, answer.length]) {
      const g2 = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["events"], maxRequestSize: 1 << 20 });
      run(g2, [apiVersions(99), metadata(["events", "payroll"], version)]);
      const got: number[] = [];
      for (const part of [answer.subarray(0, cut), answer.subarray(cut)]) assert.is(g2.pushResponse(part, (b) => got.push(...b)), undefined);
      assert.equal(got.slice(0, other.length), [...other], "unrelated responses pass unchanged");
      const res = decodeResponseFrame(Metadata, version, new Uint8Array(got.slice(other.length + 4)));
      assert.equal(res.topics.map((t) => [t.name, t.errorCode]), [["events", 0], ["payroll", 29]], `cut ${cut}`);
      assert.equal(res.brokers[0].port, 9092);
    }
  });
}

test("Metadata for all topics is forwarded, and the answer lists only allowed topics (no enumeration)", () => {
  const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["web-*"], maxRequestSize: 1 << 20 });
  const up = run(gate, [metadata(null)]);
  assert.equal([...up.out], [...metadata(null)]);
  const got: number[] = [];
  gate.pushResponse(metadataAnswer(12, 8, ["web-a", "payroll", "web-b", "secrets"]), (b) => got.push(...b));
  const res = decodeResponseFrame(Metadata, 12, new Uint8Array(got.slice(4)));
  assert.equal(res.topics.map((t) => t.name), ["web-a", "web-b"]);
});

test("a transactional id outside transactionalIds: the gate answers FindCoordinator and InitProducerId with TRANSACTIONAL_ID_AUTHORIZATION_FAILED itself, after the broker's answers to earlier requests (split anywhere), and forwards nothing", () => {
  const findTxn = (v: number, id: number) => encodeRequestFrame(FindCoordinator, v, id, "c", { keyType: 1, keys: ["other-app"] });
  const initTxn = (id: number) => encodeRequestFrame(InitProducerId, 4, id, "c", { transactionalId: "other-app", transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  for (const v of [1, 3, 4]) {
    const answer = metadataAnswer(12, 8, ["t"]);
    for (let cut = 0; cut <= answer.length; cut += 7) {
      const denied: string[] = [];
      const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["t"], transactionalIds: ["web-*"], maxRequestSize: 1 << 20, onTransactionalIdDenied: (d) => denied.push(d) });
      const toBroker: number[] = [];
      const toClient: number[] = [];
      const reply = (b: Uint8Array) => toClient.push(...b);
      // Metadata (in flight at the broker), then the two refused requests.
      assert.is(gate.push(new Uint8Array([...metadata(["t"]), ...findTxn(v, 9), ...initTxn(10)]), (p, f) => toBroker.push(...p, ...f), reply), undefined);
      assert.equal(toBroker, [...metadata(["t"])], "only the Metadata request reaches the broker");
      assert.equal(toClient, [], "no answer may overtake the broker's answer to the earlier Metadata request");
      for (const part of [answer.subarray(0, cut), answer.subarray(cut)]) assert.is(gate.pushResponse(part, (b) => toClient.push(...b)), undefined);
      const out = new Uint8Array(toClient);
      assert.equal([...out.subarray(0, answer.length)], [...answer], `cut ${cut}: the broker's answer first, unchanged`);
      let at = answer.length;
      const frame = () => { const size = new DataView(out.buffer).getInt32(at); const f = out.subarray(at + 4, at + 4 + size); at += 4 + size; return f; };
      const fc1 = decodeResponseFrame(FindCoordinator, v, frame());
      assert.equal(fc1.coordinators.map((c) => [c.errorCode, c.nodeId]), [[53, -1]], `FindCoordinator v${v}`);
      const ip = decodeResponseFrame(InitProducerId, 4, frame());
      assert.equal([ip.errorCode, ip.producerId, ip.producerEpoch], [53, -1, -1]);
      assert.is(at, out.length, "nothing else");
      assert.is(gate.inFlightCount, 0);
      assert.is(denied.length, 2);
    }
  }
  // Nothing in flight: answered at once. Without a way to reply (a bare gate), it is a refusal instead.
  const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, maxRequestSize: 1 << 20 });
  const got: Uint8Array[] = [];
  assert.is(gate.push(initTxn(3), () => assert.unreachable("forwarded"), (b) => got.push(b)), undefined);
  assert.is(decodeResponseFrame(InitProducerId, 4, got[0].subarray(4)).errorCode, 53);
  assert.equal(run(new RequestGate({ apiKeys: PRODUCER_API_KEYS, maxRequestSize: 1 << 20 }), [initTxn(3)]).refusal?.reason, "TRANSACTIONAL_ID_NOT_ALLOWED");
});

test("a broker response frame with an impossible size is BAD_RESPONSE", () => {
  const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["t"], maxRequestSize: 1 << 20 });
  assert.equal(gate.pushResponse(new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 1]), () => {})?.reason, "BAD_RESPONSE");
});

test("garbage, truncated headers and frames over maxRequestSize are BAD_REQUEST, never a throw", () => {
  const policy = { apiKeys: PRODUCER_API_KEYS, topics: ["t"], maxRequestSize: 100 };
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
    const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: withTopics ? ["t"] : undefined, maxRequestSize: 4096 });
    let refusal: GateRefusal | undefined;
    for (const c of chunks) {
      refusal = gate.push(c, (prefix, frame) => {
        assert.equal(new DataView(prefix.buffer).getInt32(0), frame.length);
        assert.ok(PRODUCER_API_KEYS.includes((frame[0] << 8) | frame[1]));
      });
      if (refusal) break;
    }
    if (refusal) assert.ok(["API_NOT_ALLOWED", "TOPIC_NOT_ALLOWED", "TRANSACTIONAL_ID_NOT_ALLOWED", "BAD_REQUEST"].includes(refusal.reason));
  }), { numRuns: 2000 });
  // The broker side (hostile broker): random bytes never throw either.
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
    const gate = new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["t"], maxRequestSize: 4096 });
    gate.push(metadata(["t", "x"]), () => {});
    for (const c of chunks) if (gate.pushResponse(c, () => {})) break;
  }), { numRuns: 2000 });
  // Valid frames with mutated bytes (sizes kept): same guarantees.
  const valid = [...metadata(["t"]), ...produce(["t"])];
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (muts) => {
    const bytes = new Uint8Array(valid);
    for (const [i, v] of muts) if (i >= 4) bytes[i] = v;
    new RequestGate({ apiKeys: PRODUCER_API_KEYS, topics: ["t"], maxRequestSize: 4096 }).push(bytes, () => {});
  }), { numRuns: 2000 });
});

test("topicMatcher: exact names and prefix* patterns only", () => {
  const m = topicMatcher(["a", "web-*"]);
  assert.ok(m("a") && m("web-") && m("web-x"));
  assert.ok(!m("ab") && !m("web") && !m("b"));
});

test("end to end: the producer reaches allowed topics through the gated proxy while a forbidden one fails fast with TOPIC_AUTHORIZATION_FAILED; DeleteTopics closes the connection", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "web-events", partitions: 1 }, { name: "private", partitions: 1 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), topics: ["web-*"], log: () => {} });
  try {
    const transport = websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never });
    // Retrying the denied topic would take the whole 30 s delivery timeout (20 s blocked on metadata):
    // failing within 10 s tells "at once" from "after retries" with room for a loaded machine.
    const producer = new Producer({ brokers: [cluster.bootstrap], transport, deliveryTimeoutMs: 30_000, requestTimeoutMs: 10_000, maxBlockMs: 20_000 });
    // Both at once: one Metadata request names both topics.
    const started = Date.now();
    const [ok, denied] = await within(Promise.allSettled([
      producer.send({ topic: "web-events", key: "k", value: "fine" }),
      producer.send({ topic: "private", value: "no" }),
    ]), 60_000, "both sends to settle");
    assert.equal(ok.status, "fulfilled", String((ok as PromiseRejectedResult).reason));
    assert.equal(denied.status, "rejected");
    assert.equal(((denied as PromiseRejectedResult).reason as { code: string }).code, "TOPIC_AUTHORIZATION_FAILED");
    assert.ok(Date.now() - started < 10_000, `failed at once, not after retries (${Date.now() - started} ms)`);
    await within(producer.send({ topic: "web-events", key: "k", value: "still fine" }), 60_000, "the second send");
    await within(producer.close({ timeoutMs: 10_000 }), 20_000, "producer.close()");
    assert.ok((proxy.stats().refused.byReason.TOPIC_NOT_ALLOWED ?? 0) >= 1);

    const ws = await openWs(`${proxy.url}/broker/${cluster.brokers[0].host}:${cluster.brokers[0].port}`);
    const c = closed(ws);
    ws.send(deleteTopics());
    const { code, reason } = await c;
    assert.equal(code, 1008);
    assert.equal(reason, "API_NOT_ALLOWED", "the close reason is the short fixed code; the detail goes to the log");
    assert.equal(proxy.stats().refused.byReason.API_NOT_ALLOWED, 1);

    assert.equal((await consumeAll(cluster.bootstrap, "web-events", { count: 2 })).map((r) => r.payload), ["fine", "still fine"]);
    const [priv] = await queryOffsets(cluster.bootstrap, "private");
    assert.equal(priv.high, 0, "nothing reached the private topic");
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
