// Differential tests of the group APIs against @platformatic/kafka's encoders/decoders (dev-only oracle,
// independent of ours and of KafkaJS) for every version both have: JoinGroup v0-9, SyncGroup v0-5,
// Heartbeat v0-4, LeaveGroup v0-5, OffsetCommit v0-8, OffsetFetch v0-8 (3.6.2's ranges). Request bodies must
// be byte-identical; responses we encode must parse in platformatic to the same values.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { JoinGroup, JoinGroupServer, type JoinGroupResponse } from "../../src/protocol/join-group.ts";
import { SyncGroup, SyncGroupServer } from "../../src/protocol/sync-group.ts";
import { Heartbeat, HeartbeatServer } from "../../src/protocol/heartbeat.ts";
import { LeaveGroup, LeaveGroupServer } from "../../src/protocol/leave-group.ts";
import { OffsetCommit, OffsetCommitServer } from "../../src/protocol/offset-commit.ts";
import { OffsetFetch, OffsetFetchServer, type OffsetFetchResponse } from "../../src/protocol/offset-fetch.ts";
import { hex, ourBody, plt, theirParse } from "./platformatic-oracle.ts";

const meta = Uint8Array.from([0, 1, 0, 0, 0, 1, 0, 1, 120, 255, 255, 255, 255, 0, 0, 0, 0]);



test("JoinGroup v0-v9: request bytes match (instance id v5+, reason v8+) and responses parse to the same members and skip_assignment", async () => {
  const protocols = [{ name: "cooperative-sticky", metadata: meta }, { name: "range", metadata: new Uint8Array(0) }];
  const res: JoinGroupResponse = { throttleTimeMs: 6, errorCode: 0, generationId: 9, protocolType: "consumer", protocolName: "range", leader: "m-1",
    skipAssignment: true, memberId: "m-2", members: [{ memberId: "m-1", groupInstanceId: "static-1", metadata: meta }, { memberId: "m-2", groupInstanceId: null, metadata: new Uint8Array(0) }] };
  for (let v = 0; v <= 9; v++) {
    const m = await plt(`apis/consumer/join-group-v${v}.js`);
    const theirs = m.createRequest("group-ü", 30000, 60000, "m-1", "static-1", "consumer", protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })), "rejoin: ü");
    assert.is(ourBody(JoinGroup, v, { groupId: "group-ü", sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000, memberId: "m-1", groupInstanceId: "static-1",
      protocolType: "consumer", protocols, reason: "rejoin: ü" }), hex(theirs.buffer), `v${v} request`);
    const d = theirParse(m, JoinGroupServer, v, res);
    assert.equal([d.errorCode, d.generationId, d.protocolName, d.leader, d.memberId], [0, 9, "range", "m-1", "m-2"], `v${v}`);
    if (v >= 2) assert.is(d.throttleTimeMs, 6);
    if (v >= 7) assert.is(d.protocolType, "consumer");
    if (v >= 9) assert.is(d.skipAssignment, true);
    assert.equal(d.members.map((x: any) => [x.memberId, x.groupInstanceId ?? null, hex(x.metadata)]),
      res.members.map((x) => [x.memberId, v >= 5 ? x.groupInstanceId : null, hex(x.metadata)]), `v${v} members`);
  }
});

test("SyncGroup v0-v5: request bytes match (protocol type and name v5+) and responses parse to the same assignment bytes", async () => {
  const assignments = [{ memberId: "m-1", assignment: meta }, { memberId: "m-2", assignment: new Uint8Array(0) }];
  for (let v = 0; v <= 5; v++) {
    const m = await plt(`apis/consumer/sync-group-v${v}.js`);
    const theirs = m.createRequest("g", 4, "m-1", "static-1", "consumer", "range", assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })));
    assert.is(ourBody(SyncGroup, v, { groupId: "g", generationId: 4, memberId: "m-1", groupInstanceId: "static-1", protocolType: "consumer", protocolName: "range", assignments }), hex(theirs.buffer), `v${v} request`);
    const d = theirParse(m, SyncGroupServer, v, { throttleTimeMs: 8, errorCode: 0, protocolType: "consumer", protocolName: "range", assignment: meta });
    assert.is(hex(d.assignment), hex(meta), `v${v}`);
    if (v >= 1) assert.is(d.throttleTimeMs, 8);
    if (v >= 5) assert.equal([d.protocolType, d.protocolName], ["consumer", "range"]);
  }
});

test("Heartbeat v0-v4: request bytes match and responses parse to the same throttle time", async () => {
  for (let v = 0; v <= 4; v++) {
    const m = await plt(`apis/consumer/heartbeat-v${v}.js`);
    assert.is(ourBody(Heartbeat, v, { groupId: "g", generationId: 7, memberId: "m-1", groupInstanceId: "static-1" }), hex(m.createRequest("g", 7, "m-1", "static-1").buffer), `v${v}`);
    const d = theirParse(m, HeartbeatServer, v, { throttleTimeMs: 3, errorCode: 0 });
    assert.is(d.errorCode, 0);
    if (v >= 1) assert.is(d.throttleTimeMs, 3);
  }
});

test("LeaveGroup v0-v5: request bytes match (one member v0-2, batched v3+, reasons v5+) and responses parse to the same members", async () => {
  for (let v = 0; v <= 5; v++) {
    const m = await plt(`apis/consumer/leave-group-v${v}.js`);
    const members = v >= 3 ? [{ memberId: "m-1", groupInstanceId: "static-1", reason: "closing" }, { memberId: "m-2", groupInstanceId: null, reason: null }] : [{ memberId: "m-1" }];
    assert.is(ourBody(LeaveGroup, v, { groupId: "g", members }), hex(m.createRequest("g", members).buffer), `v${v}`);
    const res = { throttleTimeMs: 2, errorCode: 0, members: [{ memberId: "m-1", groupInstanceId: "static-1", errorCode: 0 }] };
    const d = theirParse(m, LeaveGroupServer, v, res);
    assert.is(d.errorCode, 0);
    if (v >= 3) assert.equal(d.members.map((x: any) => [x.memberId, x.groupInstanceId, x.errorCode]), [["m-1", "static-1", 0]]);
  }
});

test("OffsetCommit v0-v8: request bytes match (leader epoch v6+, instance id v7+) and responses parse to the same partition errors", async () => {
  const topics = [{ name: "events", partitions: [
    { partitionIndex: 0, committedOffset: 2 ** 40 + 3, committedLeaderEpoch: 5, committedMetadata: null },
    { partitionIndex: 5, committedOffset: 17, committedLeaderEpoch: -1, committedMetadata: "m-ü" }] }];
  for (let v = 0; v <= 8; v++) {
    const m = await plt(`apis/consumer/offset-commit-v${v}.js`);
    // platformatic writes commit_timestamp (v1) and retention_time_ms (v2-v4) as -1, "the broker's"
    const theirs = m.createRequest("g", 3, "m-1", "static-1", topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, committedOffset: BigInt(p.committedOffset) })) })));
    assert.is(ourBody(OffsetCommit, v, { groupId: "g", generationId: 3, memberId: "m-1", groupInstanceId: "static-1", retentionTimeMs: -1, topics }), hex(theirs.buffer), `v${v}`);
    // v1 reuses v0's parser without re-exporting it
    const d = theirParse(v === 1 ? await plt("apis/consumer/offset-commit-v0.js") : m, OffsetCommitServer, v, { throttleTimeMs: 5, topics: [{ name: "events", partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 5, errorCode: 0 }] }] });
    assert.equal(d.topics.map((t: any) => [t.name, t.partitions.map((p: any) => [p.partitionIndex, p.errorCode])]), [["events", [[0, 0], [5, 0]]]], `v${v}`);
    if (v >= 3) assert.is(d.throttleTimeMs, 5);
  }
});

test("OffsetFetch v0-v8: request bytes match (require_stable v7+, batched groups v8) and responses parse to the same offsets, epochs and metadata", async () => {
  const topics = [{ name: "events", partitionIndexes: [0, 3] }, { name: "ü", partitionIndexes: [1] }];
  const partitions = [{ partitionIndex: 0, committedOffset: 2 ** 40 + 9, committedLeaderEpoch: 4, metadata: "x", errorCode: 0 },
    { partitionIndex: 3, committedOffset: -1, committedLeaderEpoch: -1, metadata: null, errorCode: 0 }];
  for (let v = 0; v <= 8; v++) {
    const m = await plt(`apis/consumer/offset-fetch-v${v}.js`);
    const groups = v >= 8 ? [{ groupId: "g", topics }, { groupId: "h", topics: null }] : [{ groupId: "g", topics }];
    assert.is(ourBody(OffsetFetch, v, { groups, requireStable: true }), hex(m.createRequest(groups, true).buffer), `v${v} request`);
    const res: OffsetFetchResponse = { throttleTimeMs: 4, groups: [{ groupId: "g", errorCode: 0, topics: [{ name: "events", partitions }] }] };
    const d = theirParse(m, OffsetFetchServer, v, res);
    const theirTopics = v >= 8 ? d.groups[0].topics : d.topics;
    if (v >= 8) assert.is(d.groups[0].groupId, "g");
    assert.equal(theirTopics.map((t: any) => [t.name, t.partitions.map((p: any) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata, p.errorCode])]),
      [["events", partitions.map((p) => [p.partitionIndex, BigInt(p.committedOffset), v >= 5 ? p.committedLeaderEpoch : -1, p.metadata, 0])]], `v${v}`);
    if (v >= 3) assert.is(d.throttleTimeMs, 4);
  }
});

test.run();
