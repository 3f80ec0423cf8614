// Sample requests and responses of the group APIs, every optional field set to a non-default value so a
// round trip at any version proves each field present in that version survives.
import type { ServerApi } from "../../src/protocol/api.ts";
import { JoinGroupServer, type JoinGroupRequest, type JoinGroupResponse } from "../../src/protocol/join-group.ts";
import { SyncGroupServer, type SyncGroupRequest, type SyncGroupResponse } from "../../src/protocol/sync-group.ts";
import { HeartbeatServer, type HeartbeatRequest, type HeartbeatResponse } from "../../src/protocol/heartbeat.ts";
import { LeaveGroupServer, type LeaveGroupRequest, type LeaveGroupResponse } from "../../src/protocol/leave-group.ts";
import { OffsetCommitServer, type OffsetCommitRequest, type OffsetCommitResponse } from "../../src/protocol/offset-commit.ts";
import { OffsetFetchServer, type OffsetFetchRequest, type OffsetFetchResponse } from "../../src/protocol/offset-fetch.ts";

export interface GroupSample<Req, Res> {
  api: ServerApi<Req, Res>;
  requests: Req[];
  responses: Res[];
  /** Request fields the newest version no longer has. */
  goneAtNewest?: string[];
}

const meta = Uint8Array.from([0, 3, 0, 0, 0, 1, 0, 6, 101, 118, 101, 110, 116, 115, 255, 255, 255, 255]);

const joinGroup: GroupSample<JoinGroupRequest, JoinGroupResponse> = {
  api: JoinGroupServer,
  requests: [
    { groupId: "g-ü", sessionTimeoutMs: 45000, rebalanceTimeoutMs: 300000, memberId: "m-1", groupInstanceId: "instance-1", protocolType: "consumer",
      protocols: [{ name: "cooperative-sticky", metadata: meta }, { name: "range", metadata: new Uint8Array(0) }], reason: "rejoining" },
    { groupId: "g", sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: "", groupInstanceId: null, protocolType: "consumer", protocols: [], reason: null },
  ],
  responses: [
    { throttleTimeMs: 7, errorCode: 0, generationId: 12, protocolType: "consumer", protocolName: "range", leader: "m-1", skipAssignment: true, memberId: "m-1",
      members: [{ memberId: "m-1", groupInstanceId: "instance-1", metadata: meta }, { memberId: "m-2", groupInstanceId: null, metadata: new Uint8Array(0) }] },
    { throttleTimeMs: 0, errorCode: 79, generationId: -1, protocolType: null, protocolName: "", leader: "", skipAssignment: false, memberId: "m-new", members: [] },
  ],
};

const syncGroup: GroupSample<SyncGroupRequest, SyncGroupResponse> = {
  api: SyncGroupServer,
  requests: [
    { groupId: "g", generationId: 12, memberId: "m-1", groupInstanceId: "instance-1", protocolType: "consumer", protocolName: "range",
      assignments: [{ memberId: "m-1", assignment: meta }, { memberId: "m-2", assignment: new Uint8Array(0) }] },
    { groupId: "g", generationId: 3, memberId: "m-2", groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] },
  ],
  responses: [
    { throttleTimeMs: 5, errorCode: 0, protocolType: "consumer", protocolName: "range", assignment: meta },
    { throttleTimeMs: 0, errorCode: 27, protocolType: null, protocolName: null, assignment: new Uint8Array(0) },
  ],
};

const heartbeat: GroupSample<HeartbeatRequest, HeartbeatResponse> = {
  api: HeartbeatServer,
  requests: [{ groupId: "g", generationId: 12, memberId: "m-1", groupInstanceId: "instance-1" }, { groupId: "g", generationId: 0, memberId: "m", groupInstanceId: null }],
  responses: [{ throttleTimeMs: 3, errorCode: 27 }, { throttleTimeMs: 0, errorCode: 0 }],
};

const leaveGroup: GroupSample<LeaveGroupRequest, LeaveGroupResponse> = {
  api: LeaveGroupServer,
  requests: [
    { groupId: "g", members: [{ memberId: "m-1", groupInstanceId: "instance-1", reason: "the consumer is closing" }] },
    { groupId: "g", members: [{ memberId: "m-2", groupInstanceId: null, reason: null }] },
  ],
  responses: [
    { throttleTimeMs: 2, errorCode: 0, members: [{ memberId: "m-1", groupInstanceId: "instance-1", errorCode: 0 }, { memberId: "m-3", groupInstanceId: null, errorCode: 25 }] },
    { throttleTimeMs: 0, errorCode: 16, members: [] },
  ],
};

const offsetCommit: GroupSample<OffsetCommitRequest, OffsetCommitResponse> = {
  api: OffsetCommitServer,
  requests: [
    { groupId: "g", generationId: 12, memberId: "m-1", groupInstanceId: "instance-1", retentionTimeMs: 86400000, topics: [
      { name: "events", partitions: [
        { partitionIndex: 0, committedOffset: 2 ** 40 + 5, committedLeaderEpoch: 4, commitTimestamp: 1700000000000, committedMetadata: "meta-ü" },
        { partitionIndex: 3, committedOffset: 0, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null },
      ] },
      { name: "other", partitions: [] },
    ] },
    { groupId: "g", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, topics: [] },
  ],
  goneAtNewest: ["retentionTimeMs", "commitTimestamp"],
  responses: [
    { throttleTimeMs: 9, topics: [{ name: "events", partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 3, errorCode: 22 }] }] },
    { throttleTimeMs: 0, topics: [] },
  ],
};

const offsetFetch: GroupSample<OffsetFetchRequest, OffsetFetchResponse> = {
  api: OffsetFetchServer,
  requests: [
    { groups: [{ groupId: "g", topics: [{ name: "events", partitionIndexes: [0, 1, 7] }, { name: "ü", partitionIndexes: [] }] }], requireStable: true },
    { groups: [{ groupId: "g2", topics: [] }], requireStable: false },
  ],
  responses: [
    { throttleTimeMs: 4, groups: [{ groupId: "g", errorCode: 0, topics: [{ name: "events", partitions: [
      { partitionIndex: 0, committedOffset: 2 ** 40 + 1, committedLeaderEpoch: 3, metadata: "m", errorCode: 0 },
      { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: null, errorCode: 0 },
    ] }] }] },
    { throttleTimeMs: 0, groups: [{ groupId: "g", errorCode: 16, topics: [] }] },
  ],
};

export const groupSamples: GroupSample<any, any>[] = [joinGroup, syncGroup, heartbeat, leaveGroup, offsetCommit, offsetFetch];
