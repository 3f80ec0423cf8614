// The gate's consumer policy (off by default): group and topic allow-lists for Fetch, ListOffsets,
// the offset APIs and the group APIs; refused groups answered as a broker's group ACL would; and end
// to end through kafkasm proxy with the Consumer over WebSocket against the librdkafka mock.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WebSocket } from "ws";
import { PRODUCER_API_KEYS, RequestGate, type GatePolicy, type GateRefusal } from "../../src/proxy/gate.ts";
import { decodeResponseFrame, encodeRequestFrame } from "../../src/protocol/frame.ts";
import { Metadata } from "../../src/protocol/metadata.ts";
import { Produce } from "../../src/protocol/produce.ts";
import { FindCoordinator } from "../../src/protocol/find-coordinator.ts";
import { JoinGroup } from "../../src/protocol/join-group.ts";
import { SyncGroup } from "../../src/protocol/sync-group.ts";
import { Heartbeat } from "../../src/protocol/heartbeat.ts";
import { LeaveGroup } from "../../src/protocol/leave-group.ts";
import { OffsetFetch } from "../../src/protocol/offset-fetch.ts";
import { OffsetCommit } from "../../src/protocol/offset-commit.ts";
import { ListOffsets } from "../../src/protocol/list-offsets.ts";
import { Fetch } from "../../src/protocol/fetch.ts";
import { encodeSubscription } from "../../src/protocol/consumer-protocol.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { Consumer, type ConsumerRecord } from "../../src/consumer/consumer.ts";
import { KafkaError } from "../../src/errors.ts";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { within, exitAfterSuite } from "../harness/bounded.ts";
import { closed, openWs, startProxy } from "./helpers.ts";

const MAX = 1 << 20;
const findGroup = (group: string, v = 3, id = 1) => encodeRequestFrame(FindCoordinator, v, id, "c", { keyType: 0, keys: [group] });
const subscription = (topics: string[]) => encodeSubscription({ topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null });
const joinGroup = (group: string, topics: string[], v = 7, id = 2, protocolType = "consumer") => encodeRequestFrame(JoinGroup, v, id, "c", {
  groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", groupInstanceId: null, protocolType,
  protocols: [{ name: "range", metadata: subscription(topics) }],
});
const syncGroup = (group: string, id = 3) => encodeRequestFrame(SyncGroup, 5, id, "c", { groupId: group, generationId: 1, memberId: "m", groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [] });
const heartbeat = (group: string, id = 4) => encodeRequestFrame(Heartbeat, 4, id, "c", { groupId: group, generationId: 1, memberId: "m", groupInstanceId: null });
const leaveGroup = (group: string, id = 5) => encodeRequestFrame(LeaveGroup, 4, id, "c", { groupId: group, members: [{ memberId: "m", groupInstanceId: null }] });
const offsetFetch = (group: string, topics: string[] | null, v = 7, id = 6) => encodeRequestFrame(OffsetFetch, v, id, "c", {
  groups: [{ groupId: group, topics: topics && topics.map((name) => ({ name, partitionIndexes: [0] })) }], requireStable: true,
});
const offsetCommit = (group: string, topics: string[], id = 7) => encodeRequestFrame(OffsetCommit, 8, id, "c", {
  groupId: group, generationId: 1, memberId: "m", groupInstanceId: null,
  topics: topics.map((name) => ({ name, partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] })),
});
const listOffsets = (topics: string[], id = 8) => encodeRequestFrame(ListOffsets, 7, id, "c", {
  replicaId: -1, isolationLevel: 0, topics: topics.map((name) => ({ name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2 }] })),
});
const fetch = (topics: string[], o: { v?: number; id?: number; replicaId?: number; forgotten?: string[] } = {}) => encodeRequestFrame(Fetch, o.v ?? 12, o.id ?? 9, "c", {
  replicaId: o.replicaId ?? -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: topics.map((topic) => ({ topic, topicId: new Uint8Array(16), partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] })),
  forgottenTopicsData: (o.forgotten ?? []).map((topic) => ({ topic, topicId: new Uint8Array(16), partitions: [0] })), rackId: "",
});
const metadata = (topics: string[]) => encodeRequestFrame(Metadata, 12, 10, "c", { topics, allowAutoTopicCreation: false });
const produce = (topic: string) => encodeRequestFrame(Produce, 9, 11, "c", { transactionalId: null, acks: -1, timeoutMs: 1000, topics: [{ name: topic, partitions: [{ index: 0, records: new Uint8Array([1]) }] }] });

const policy = (o: Partial<GatePolicy> = {}): GatePolicy => ({ apiKeys: PRODUCER_API_KEYS, topics: ["web-*"], consumer: { groups: ["web-*"] }, maxRequestSize: MAX, ...o });

function run(gate: RequestGate, chunks: Uint8Array[], reply?: (b: Uint8Array) => void): { out: Uint8Array; refusal?: GateRefusal } {
  const parts: number[] = [];
  let refusal: GateRefusal | undefined;
  for (const c of chunks) {
    refusal = gate.push(c, (p, f) => parts.push(...p, ...f), reply);
    if (refusal) break;
  }
  return { out: new Uint8Array(parts), refusal };
}
const refusal = (p: GatePolicy, frame: Uint8Array) => run(new RequestGate(p), [frame], () => {}).refusal;

test("without a consumer policy (the default), Fetch, ListOffsets, the offset APIs and the group APIs are API_NOT_ALLOWED", () => {
  const p = policy({ consumer: undefined });
  for (const f of [fetch(["web-a"]), listOffsets(["web-a"]), offsetFetch("web-g", ["web-a"]), offsetCommit("web-g", ["web-a"]),
    joinGroup("web-g", ["web-a"]), syncGroup("web-g"), heartbeat("web-g"), leaveGroup("web-g")]) {
    assert.equal(refusal(p, f)?.reason, "API_NOT_ALLOWED");
  }
  // FindCoordinator is a producer API (transactions): a group lookup only locates a broker, and passes as before.
  assert.is(refusal(p, findGroup("any")), undefined);
});

test("a consumer's whole session in an allowed group on allowed topics passes byte for byte, split at every offset", () => {
  const stream = new Uint8Array([...metadata(["web-a"]), ...findGroup("web-g"), ...joinGroup("web-g", ["web-a"]), ...syncGroup("web-g"),
    ...offsetFetch("web-g", ["web-a"]), ...listOffsets(["web-a"]), ...fetch(["web-a"], { forgotten: ["web-b"] }), ...heartbeat("web-g"),
    ...offsetCommit("web-g", ["web-a"]), ...leaveGroup("web-g"), ...fetch(["web-a"], { v: 4, id: 12 }), ...offsetFetch("web-g", ["web-a"], 8, 13)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = run(new RequestGate(policy()), [stream.subarray(0, cut), stream.subarray(cut)], () => assert.unreachable("answered by the gate"));
    assert.is(r.refusal, undefined, `cut at ${cut}: ${r.refusal?.detail}`);
    assert.equal([...r.out], [...stream], `cut at ${cut}`);
  }
});

test("a refused group: FindCoordinator, JoinGroup and OffsetFetch are answered with GROUP_AUTHORIZATION_FAILED (30) after the broker's earlier answers, split anywhere; nothing reaches the broker", () => {
  const earlier = metadata(["web-a"]);
  // The broker's answer to that Metadata request (correlation id 10): any bytes framed as one answer will do.
  const answer = new Uint8Array([0, 0, 0, 9, 0, 0, 0, 10, 1, 2, 3, 4, 5]);
  for (const [fv, jv, ov] of [[1, 0, 2], [3, 5, 7], [4, 9, 8]]) {
    for (let cut = 0; cut <= answer.length; cut++) {
      const denied: string[] = [];
      const gate = new RequestGate(policy({ onGroupDenied: (d) => denied.push(d) }));
      const toBroker: number[] = [], toClient: number[] = [];
      const reply = (b: Uint8Array) => toClient.push(...b);
      const refused = gate.push(new Uint8Array([...earlier, ...findGroup("backend", fv), ...joinGroup("backend", ["web-a"], jv), ...offsetFetch("backend", ["web-a"], ov)]),
        (p, f) => toBroker.push(...p, ...f), reply);
      assert.is(refused, undefined);
      assert.equal(toBroker, [...earlier], "only the earlier request reaches the broker");
      assert.equal(toClient, [], "no answer overtakes the broker's");
      for (const part of [answer.subarray(0, cut), answer.subarray(cut)]) assert.is(gate.pushResponse(part, (b) => toClient.push(...b)), undefined);
      const out = new Uint8Array(toClient);
      assert.equal([...out.subarray(0, answer.length)], [...answer]);
      let at = answer.length;
      const frame = () => { const size = new DataView(out.buffer).getInt32(at); const f = out.subarray(at + 4, at + 4 + size); at += 4 + size; return f; };
      assert.equal(decodeResponseFrame(FindCoordinator, fv, frame()).coordinators.map((c) => [c.errorCode, c.nodeId]), [[30, -1]]);
      const jg = decodeResponseFrame(JoinGroup, jv, frame());
      assert.equal([jg.errorCode, jg.generationId], [30, -1]);
      const of = decodeResponseFrame(OffsetFetch, ov, frame());
      assert.equal(of.groups.map((g) => g.errorCode), [30]);
      assert.is(at, out.length, "nothing else");
      assert.is(gate.inFlightCount, 0);
      assert.is(denied.length, 3);
    }
  }
});

test("a refused group in SyncGroup, Heartbeat, LeaveGroup, OffsetCommit (or OffsetFetch v0-v1, which has no group error) closes with GROUP_NOT_ALLOWED", () => {
  for (const f of [syncGroup("backend"), heartbeat("backend"), leaveGroup("backend"), offsetCommit("backend", ["web-a"]), offsetFetch("backend", ["web-a"], 1)]) {
    const r = run(new RequestGate(policy()), [new Uint8Array([...heartbeat("web-g", 99), ...f])], () => {});
    assert.equal(r.refusal?.reason, "GROUP_NOT_ALLOWED", r.refusal?.detail);
    assert.equal([...r.out], [...heartbeat("web-g", 99)], "the allowed frame before it went through, the refused one did not");
  }
  // Without a way to reply (a bare gate), the answered ones are refusals too.
  for (const f of [findGroup("backend"), joinGroup("backend", ["web-a"]), offsetFetch("backend", ["web-a"])]) {
    assert.equal(run(new RequestGate(policy()), [f]).refusal?.reason, "GROUP_NOT_ALLOWED");
  }
});

test("topics outside the allow-list: Fetch (and its forgotten topics), ListOffsets, OffsetCommit, OffsetFetch and a JoinGroup subscription are TOPIC_NOT_ALLOWED", () => {
  for (const f of [fetch(["web-a", "payroll"]), fetch(["web-a"], { forgotten: ["payroll"] }), listOffsets(["payroll"]), offsetCommit("web-g", ["payroll"]),
    offsetFetch("web-g", ["payroll"]), joinGroup("web-g", ["web-a", "payroll"])]) {
    assert.equal(refusal(policy(), f)?.reason, "TOPIC_NOT_ALLOWED");
  }
  // What cannot be checked by name is refused under a topic allow-list, and passes without one.
  assert.equal(refusal(policy(), fetch(["web-a"], { v: 13 }))?.reason, "TOPIC_NOT_ALLOWED", "Fetch v13 names topics by id");
  assert.equal(refusal(policy(), offsetFetch("web-g", null))?.reason, "TOPIC_NOT_ALLOWED", "OffsetFetch of all the group's topics");
  assert.is(refusal(policy({ topics: undefined }), fetch(["anything"], { v: 13 })), undefined);
  assert.is(refusal(policy({ topics: undefined }), offsetFetch("web-g", null)), undefined);
  // A group that is not a consumer group (Connect, a custom protocol) has no subscription to check.
  assert.equal(refusal(policy(), joinGroup("web-g", ["web-a"], 7, 2, "connect"))?.reason, "GROUP_NOT_ALLOWED");
  // A replica id is a follower broker's fetch, never a client's.
  assert.equal(refusal(policy(), fetch(["web-a"], { replicaId: 1 }))?.reason, "BAD_REQUEST");
});

test("consumer.topics lets consumers read topics producers may not write: Metadata and Fetch pass for them, Produce does not", () => {
  const p = policy({ consumer: { groups: ["web-*"], topics: ["clicks"] } });
  assert.is(refusal(p, fetch(["clicks"])), undefined);
  assert.equal(refusal(p, fetch(["web-a"]))?.reason, "TOPIC_NOT_ALLOWED", "consumer.topics replaces topics for reads");
  const r = run(new RequestGate(p), [metadata(["clicks", "web-a"])]);
  assert.equal([...r.out], [...metadata(["clicks", "web-a"])], "Metadata for both is forwarded unchanged");
  assert.equal(refusal(p, produce("clicks"))?.reason, "TOPIC_NOT_ALLOWED");
  assert.is(refusal(p, produce("web-a")), undefined);
});

test("startProxy refuses a consumer policy without groups, or one allowing every group", async () => {
  for (const consumer of [{ groups: [] }, { groups: ["*"] }, { groups: ["web-*"], topics: [] }, { groups: "web-*" }]) {
    await startProxy({ allow: ["127.0.0.1:9"], consumer: consumer as never, log: () => {} }).then(
      (p) => { void p.close(); assert.unreachable(`started with ${JSON.stringify(consumer)}`); },
      (e) => assert.is((e as { code: string }).code, "INVALID_CONFIG"),
    );
  }
});

test("end to end over real sockets: the Consumer reads through the gated proxy in an allowed group and commits; another group fails with GROUP_AUTHORIZATION_FAILED; a raw SyncGroup for it closes 1008", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "web-clicks", partitions: 2 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), topics: ["web-*"], consumer: { groups: ["web-*"] }, log: () => {} });
  try {
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    await kcatProduce(cluster.bootstrap, "web-clicks", values);
    const transport = websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never });
    const options = { brokers: [cluster.bootstrap], transport, topics: ["web-clicks"], autoOffsetReset: "earliest" as const, autoCommit: false,
      sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitMs: 100 };
    const read = async (groupId: string, n: number) => {
      const c = new Consumer({ ...options, groupId });
      const got: ConsumerRecord[] = [];
      try {
        for await (const r of c) {
          got.push(r);
          if (got.length === n) { await c.commit(); break; }
        }
      } finally {
        await c.close();
      }
      return got;
    };
    const got = await within(read("web-app", values.length), 60_000, "the consumer to read every record");
    assert.equal(got.map((r) => new TextDecoder().decode(r.value!)).sort(), [...values].sort());

    const denied = await within(read("backend", 1).then(() => undefined, (e) => e), 60_000, "the refused group's consumer to fail");
    assert.instance(denied, KafkaError);
    assert.is((denied as KafkaError).code, "GROUP_AUTHORIZATION_FAILED");
    assert.ok((proxy.stats().refused.byReason.GROUP_NOT_ALLOWED ?? 0) >= 1, "counted");

    const ws = await openWs(`${proxy.url}/broker/${cluster.brokers[0].host}:${cluster.brokers[0].port}`);
    const c = closed(ws);
    ws.send(syncGroup("backend"));
    assert.equal(await c, { code: 1008, reason: "GROUP_NOT_ALLOWED" });
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
