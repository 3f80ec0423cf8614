/**
 * OffsetCommit (key 8): store a group's committed offsets (the next offset to consume) with the coordinator.
 *
 * | version | change |
 * |---|---|
 * | v0 | group_id, topics [name, partitions [partition_index, committed_offset, committed_metadata]] → topics [name, partitions [partition_index, error_code]] |
 * | v1 | + generation_id, member_id; partitions + commit_timestamp (v1 only) (Kafka 4.x's minimum is v2, KIP-896) |
 * | v2 | + retention_time_ms (v2-v4; -1 = the broker's offsets.retention.minutes) |
 * | v3 | response + throttle_time_ms |
 * | v4 | same as v3 |
 * | v5 | retention_time_ms removed |
 * | v6 | partitions + committed_leader_epoch (KIP-320) |
 * | v7 | + group_instance_id (KIP-345) |
 * | v8 | flexible |
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import type { Reader, Writer } from "./wire.ts";

export interface OffsetCommitPartition {
  partitionIndex: number;
  committedOffset: number;
  /** v6+; -1 = unknown. */
  committedLeaderEpoch?: number;
  /** v1 only; -1 = the broker's time. */
  commitTimestamp?: number;
  committedMetadata: string | null;
}

export interface OffsetCommitTopic {
  name: string;
  partitions: OffsetCommitPartition[];
}

export interface OffsetCommitRequest {
  groupId: string;
  /** v1+; -1 for a commit outside the group (simple consumer). */
  generationId?: number;
  /** v1+; "" outside the group. */
  memberId?: string;
  /** v7+. */
  groupInstanceId?: string | null;
  /** v2-v4; -1 = the broker's default. */
  retentionTimeMs?: number;
  topics: OffsetCommitTopic[];
}

export interface OffsetCommitResponse {
  /** v3+; 0 before. */
  throttleTimeMs: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export const OffsetCommit: Api<OffsetCommitRequest, OffsetCommitResponse> = {
  name: "OffsetCommit",
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 8,
  firstFlexibleVersion: 8,

  encodeRequest(w: Writer, v: number, req: OffsetCommitRequest): void {
    const flex = v >= 8;
    w.str(flex, req.groupId);
    if (v >= 1) w.int32(req.generationId ?? -1).str(flex, req.memberId ?? "");
    if (v >= 7) w.str(flex, req.groupInstanceId ?? null);
    if (v >= 2 && v <= 4) w.int64(req.retentionTimeMs ?? -1);
    w.array(flex, req.topics, (w, t) => {
      w.str(flex, t.name).array(flex, t.partitions, (w, p) => {
        w.int32(p.partitionIndex).int64(p.committedOffset);
        if (v >= 6) w.int32(p.committedLeaderEpoch ?? -1);
        if (v === 1) w.int64(p.commitTimestamp ?? -1);
        w.str(flex, p.committedMetadata).tags(flex);
      }).tags(flex);
    }).tags(flex);
  },

  decodeResponse(r: Reader, v: number): OffsetCommitResponse {
    const flex = v >= 8;
    const throttleTimeMs = v >= 3 ? r.int32("throttle_time_ms") : 0;
    const topics = r.array(flex, (r) => {
      const name = r.str(flex, "topic name");
      const partitions = r.array(flex, (r) => {
        const p = { partitionIndex: r.int32("partition_index"), errorCode: r.int16("error_code") };
        r.tags(flex);
        return p;
      }, "partitions", 6);
      r.tags(flex);
      return { name, partitions };
    }, "topics", flex ? 3 : 6);
    r.tags(flex);
    return { throttleTimeMs, topics };
  },
};

/** OffsetCommit with the broker's half (fake broker, tests); a pure IIFE, so client bundles drop it. */
export const OffsetCommitServer: ServerApi<OffsetCommitRequest, OffsetCommitResponse> = /* @__PURE__ */ (() => ({
  ...OffsetCommit,
  decodeRequest(r: Reader, v: number): OffsetCommitRequest {
    const flex = v >= 8;
    const req: OffsetCommitRequest = { groupId: r.str(flex, "group_id"), topics: [] };
    if (v >= 1) {
      req.generationId = r.int32("generation_id");
      req.memberId = r.str(flex, "member_id");
    }
    if (v >= 7) req.groupInstanceId = r.nullableStr(flex, "group_instance_id");
    if (v >= 2 && v <= 4) req.retentionTimeMs = r.int64("retention_time_ms");
    req.topics = r.array(flex, (r) => {
      const name = r.str(flex, "topic name");
      const partitions = r.array(flex, (r) => {
        const p: OffsetCommitPartition = { partitionIndex: r.int32("partition_index"), committedOffset: r.int64("committed_offset"), committedMetadata: null };
        if (v >= 6) p.committedLeaderEpoch = r.int32("committed_leader_epoch");
        if (v === 1) p.commitTimestamp = r.int64("commit_timestamp");
        p.committedMetadata = r.nullableStr(flex, "committed_metadata");
        r.tags(flex);
        return p;
      }, "partitions", 13);
      r.tags(flex);
      return { name, partitions };
    }, "topics", flex ? 3 : 6);
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: OffsetCommitResponse): void {
    const flex = v >= 8;
    if (v >= 3) w.int32(res.throttleTimeMs);
    w.array(flex, res.topics, (w, t) => {
      w.str(flex, t.name).array(flex, t.partitions, (w, p) => w.int32(p.partitionIndex).int16(p.errorCode).tags(flex)).tags(flex);
    }).tags(flex);
  },
}))();
