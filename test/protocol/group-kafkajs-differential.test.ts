// Differential tests of the group APIs against KafkaJS's encoders/decoders (dev-only oracle) for every
// version it implements: JoinGroup v0-5, SyncGroup v0-3, Heartbeat v0-3, LeaveGroup v0-3, OffsetCommit v0-5,
// OffsetFetch v1-4. Request frames must be byte-identical; responses we encode must decode in KafkaJS to
// the same values.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { encodeRequestFrame, encodeResponseFrame } from "../../src/protocol/frame.ts";
import { JoinGroup, JoinGroupServer } from "../../src/protocol/join-group.ts";
import { SyncGroup, SyncGroupServer } from "../../src/protocol/sync-group.ts";
import { Heartbeat, HeartbeatServer } from "../../src/protocol/heartbeat.ts";
import { LeaveGroup, LeaveGroupServer } from "../../src/protocol/leave-group.ts";
import { OffsetCommit, OffsetCommitServer } from "../../src/protocol/offset-commit.ts";
import { OffsetFetch, OffsetFetchServer } from "../../src/protocol/offset-fetch.ts";

const require = createRequire(import.meta.url);
const kjs = (p: string) => require(`kafkajs/src/protocol/${p}`);
const kjsFrame = kjs("request");
const hex = (b: Uint8Array | Buffer) => Buffer.from(b).toString("hex");
const meta = Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 1, 120, 0, 0, 0, 0]);

async function theirs(request: unknown): Promise<string> {
  return hex((await kjsFrame({ correlationId: 42, clientId: "kafkasm-test", request })).buffer);
}
const body = (frame: Uint8Array) => Buffer.from(frame.subarray(8));

test("JoinGroup v0-v5 request frames are byte-identical to KafkaJS's (rebalance timeout from v1, group instance id from v5)", async () => {
  for (let v = 0; v <= 5; v++) {
    const ours = encodeRequestFrame(JoinGroup, v, 42, "kafkasm-test", { groupId: "group-ü", sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000,
      memberId: "m-1", groupInstanceId: "static-1", protocolType: "consumer", protocols: [{ name: "roundrobin", metadata: meta }, { name: "range", metadata: new Uint8Array(0) }] });
    const req = kjs(`requests/joinGroup/v${v}/request`)({ groupId: "group-ü", sessionTimeout: 30000, rebalanceTimeout: 60000, memberId: "m-1",
      groupInstanceId: "static-1", protocolType: "consumer", groupProtocols: [{ name: "roundrobin", metadata: Buffer.from(meta) }, { name: "range" }] });
    assert.is(hex(ours), await theirs(req), `v${v}`);
  }
});

test("JoinGroup v0-v5 responses we encode decode in KafkaJS to the same generation, protocol, leader and member metadata", async () => {
  const res = { throttleTimeMs: 6, errorCode: 0, generationId: 9, protocolType: "consumer", protocolName: "range", leader: "m-1", skipAssignment: false, memberId: "m-2",
    members: [{ memberId: "m-1", groupInstanceId: "static-1", metadata: meta }, { memberId: "m-2", groupInstanceId: null, metadata: new Uint8Array(0) }] };
  for (let v = 0; v <= 5; v++) {
    const d = await kjs(`requests/joinGroup/v${v}/response`).decode(body(encodeResponseFrame(JoinGroupServer, v, 1, res)));
    assert.equal([d.errorCode, d.generationId, d.groupProtocol, d.leaderId, d.memberId], [0, 9, "range", "m-1", "m-2"], `v${v}`);
    if (v >= 2) assert.is(d.clientSideThrottleTime ?? d.throttleTime, 6);
    assert.equal(d.members.map((m: any) => [m.memberId, m.groupInstanceId ?? null, hex(m.memberMetadata)]),
      res.members.map((m) => [m.memberId, v >= 5 ? m.groupInstanceId : null, hex(m.metadata)]), `v${v}`);
  }
});

test("SyncGroup v0-v3 request frames are byte-identical to KafkaJS's; responses decode to the same assignment bytes", async () => {
  for (let v = 0; v <= 3; v++) {
    const ours = encodeRequestFrame(SyncGroup, v, 42, "kafkasm-test", { groupId: "g", generationId: 4, memberId: "m-1", groupInstanceId: "static-1",
      assignments: [{ memberId: "m-1", assignment: meta }, { memberId: "m-2", assignment: new Uint8Array(0) }] });
    const req = kjs(`requests/syncGroup/v${v}/request`)({ groupId: "g", generationId: 4, memberId: "m-1", groupInstanceId: "static-1",
      groupAssignment: [{ memberId: "m-1", memberAssignment: Buffer.from(meta) }, { memberId: "m-2", memberAssignment: Buffer.alloc(0) }] });
    assert.is(hex(ours), await theirs(req), `v${v}`);
    const d = await kjs(`requests/syncGroup/v${v}/response`).decode(body(encodeResponseFrame(SyncGroupServer, v, 1,
      { throttleTimeMs: 8, errorCode: 0, protocolType: null, protocolName: null, assignment: meta })));
    assert.equal([d.errorCode, hex(d.memberAssignment)], [0, hex(meta)], `v${v}`);
    if (v >= 1) assert.is(d.clientSideThrottleTime ?? d.throttleTime, 8);
  }
});

test("Heartbeat v0-v3 request frames are byte-identical to KafkaJS's; responses decode to the same error code", async () => {
  for (let v = 0; v <= 3; v++) {
    const ours = encodeRequestFrame(Heartbeat, v, 42, "kafkasm-test", { groupId: "g", generationId: 7, memberId: "m-1", groupInstanceId: "static-1" });
    assert.is(hex(ours), await theirs(kjs(`requests/heartbeat/v${v}/request`)({ groupId: "g", groupGenerationId: 7, memberId: "m-1", groupInstanceId: "static-1" })), `v${v}`);
    const d = await kjs(`requests/heartbeat/v${v}/response`).decode(body(encodeResponseFrame(HeartbeatServer, v, 1, { throttleTimeMs: 3, errorCode: 27 })));
    assert.is(d.errorCode, 27);
    if (v >= 1) assert.is(d.clientSideThrottleTime ?? d.throttleTime, 3);
  }
});

test("LeaveGroup v0-v3 request frames are byte-identical to KafkaJS's (batched members from v3); responses decode to the same member errors", async () => {
  for (let v = 0; v <= 3; v++) {
    const members = v >= 3 ? [{ memberId: "m-1", groupInstanceId: "static-1" }, { memberId: "m-2", groupInstanceId: null }] : [{ memberId: "m-1" }];
    const ours = encodeRequestFrame(LeaveGroup, v, 42, "kafkasm-test", { groupId: "g", members });
    assert.is(hex(ours), await theirs(kjs(`requests/leaveGroup/v${v}/request`)({ groupId: "g", memberId: "m-1", members })), `v${v}`);
    const res = { throttleTimeMs: 2, errorCode: 0, members: [{ memberId: "m-1", groupInstanceId: "static-1", errorCode: 0 }] };
    const d = await kjs(`requests/leaveGroup/v${v}/response`).decode(body(encodeResponseFrame(LeaveGroupServer, v, 1, res)));
    assert.is(d.errorCode, 0);
    if (v >= 3) assert.equal(d.members, res.members);
  }
});

test("OffsetCommit v0-v5 request frames are byte-identical to KafkaJS's (commit timestamp in v1, retention in v2-v4); responses decode alike", async () => {
  for (let v = 0; v <= 5; v++) {
    const ours = encodeRequestFrame(OffsetCommit, v, 42, "kafkasm-test", { groupId: "g", generationId: 3, memberId: "m-1", retentionTimeMs: 86400000,
      topics: [{ name: "events", partitions: [{ partitionIndex: 0, committedOffset: 2 ** 40 + 3, commitTimestamp: 1700000000000, committedMetadata: null },
        { partitionIndex: 5, committedOffset: 17, commitTimestamp: 1700000000000, committedMetadata: "m-ü" }] }] });
    const req = kjs(`requests/offsetCommit/v${v}/request`)({ groupId: "g", groupGenerationId: 3, memberId: "m-1", retentionTime: 86400000,
      topics: [{ topic: "events", partitions: [{ partition: 0, offset: String(2 ** 40 + 3), timestamp: 1700000000000 }, { partition: 5, offset: "17", timestamp: 1700000000000, metadata: "m-ü" }] }] });
    assert.is(hex(ours), await theirs(req), `v${v}`);
    const res = { throttleTimeMs: 5, topics: [{ name: "events", partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 5, errorCode: 22 }] }] };
    const d = await kjs(`requests/offsetCommit/v${v}/response`).decode(body(encodeResponseFrame(OffsetCommitServer, v, 1, res)));
    assert.equal(d.responses, [{ topic: "events", partitions: [{ partition: 0, errorCode: 0 }, { partition: 5, errorCode: 22 }] }], `v${v}`);
    if (v >= 3) assert.is(d.clientSideThrottleTime ?? d.throttleTime, 5);
  }
});

test("OffsetFetch v1-v4 request frames are byte-identical to KafkaJS's; responses decode to the same offsets, metadata and errors", async () => {
  for (let v = 1; v <= 4; v++) {
    const ours = encodeRequestFrame(OffsetFetch, v, 42, "kafkasm-test", { groups: [{ groupId: "g", topics: [{ name: "events", partitionIndexes: [0, 3] }, { name: "ü", partitionIndexes: [1] }] }] });
    const req = kjs(`requests/offsetFetch/v${v}/request`)({ groupId: "g", topics: [{ topic: "events", partitions: [{ partition: 0 }, { partition: 3 }] }, { topic: "ü", partitions: [{ partition: 1 }] }] });
    assert.is(hex(ours), await theirs(req), `v${v}`);
    const res = { throttleTimeMs: 4, groups: [{ groupId: "", errorCode: 0, topics: [{ name: "events", partitions: [
      { partitionIndex: 0, committedOffset: 2 ** 40 + 9, committedLeaderEpoch: -1, metadata: "x", errorCode: 0 },
      { partitionIndex: 3, committedOffset: -1, committedLeaderEpoch: -1, metadata: null, errorCode: 0 }] }] }] };
    const d = await kjs(`requests/offsetFetch/v${v}/response`).decode(body(encodeResponseFrame(OffsetFetchServer, v, 1, res)));
    assert.equal(d.responses, [{ topic: "events", partitions: [{ partition: 0, offset: String(2 ** 40 + 9), metadata: "x", errorCode: 0 }, { partition: 3, offset: "-1", metadata: null, errorCode: 0 }] }], `v${v}`);
    if (v >= 2) assert.is(d.errorCode, 0);
    if (v >= 3) assert.is(d.clientSideThrottleTime ?? d.throttleTime, 4);
  }
});

test.run();
