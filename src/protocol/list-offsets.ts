/**
 * ListOffsets (key 2): the offset for a timestamp (-1 = latest/high watermark, -2 = earliest, -3 = max
 * timestamp in v7+).
 *
 * | version | change |
 * |---|---|
 * | v1 | one offset per partition (timestamp, offset); v0's max_num_offsets / old_style_offsets are not spoken here (Kafka 4.x's minimum is v1) |
 * | v2 | + isolation_level; + throttle_time_ms |
 * | v3 | same as v2 |
 * | v4 | + current_leader_epoch (request), leader_epoch (response) |
 * | v5 | same as v4 |
 * | v6 | flexible |
 * | v7 | timestamp -3 = max timestamp (KIP-734) |
 * | v8 | timestamp -4 = earliest local (KIP-405) |
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import type { Reader, Writer } from "./wire.ts";

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

export interface ListOffsetsPartition {
  partitionIndex: number;
  /** v4+; -1 = unknown. */
  currentLeaderEpoch?: number;
  timestamp: number;
}

export interface ListOffsetsRequest {
  /** -1 for clients. */
  replicaId?: number;
  /** v2+: 0 = read uncommitted, 1 = read committed. */
  isolationLevel?: number;
  topics: { name: string; partitions: ListOffsetsPartition[] }[];
}

export interface ListOffsetsPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  timestamp: number;
  offset: number;
  /** v4+; -1 when absent. */
  leaderEpoch: number;
}

export interface ListOffsetsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: ListOffsetsPartitionResponse[] }[];
}

export const ListOffsets: Api<ListOffsetsRequest, ListOffsetsResponse> = {
  name: "ListOffsets",
  apiKey: ApiKey.ListOffsets,
  minVersion: 1,
  maxVersion: 8,
  firstFlexibleVersion: 6,

  encodeRequest(w: Writer, v: number, req: ListOffsetsRequest): void {
    const flex = v >= 6;
    w.int32(req.replicaId ?? -1);
    if (v >= 2) w.int8(req.isolationLevel ?? 0);
    w.array(flex, req.topics, (w, t) => {
      w.str(flex, t.name);
      w.array(flex, t.partitions, (w, p) => {
        w.int32(p.partitionIndex);
        if (v >= 4) w.int32(p.currentLeaderEpoch ?? -1);
        w.int64(p.timestamp).tags(flex);
      });
      w.tags(flex);
    });
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): ListOffsetsResponse {
    const flex = v >= 6;
    const throttleTimeMs = v >= 2 ? r.int32("throttle_time_ms") : 0;
    const topics = r.array(flex, (r) => {
      const name = r.str(flex, "topic name");
      const partitions = r.array(flex, (r) => {
        const p: ListOffsetsPartitionResponse = {
          partitionIndex: r.int32("partition_index"),
          errorCode: r.int16("error_code"),
          timestamp: r.int64("timestamp"),
          offset: r.int64("offset"),
          leaderEpoch: v >= 4 ? r.int32("leader_epoch") : -1,
        };
        r.tags(flex);
        return p;
      }, "partitions", 22);
      r.tags(flex);
      return { name, partitions };
    }, "topics", 3);
    r.tags(flex);
    return { throttleTimeMs, topics };
  },
};

/** ListOffsets with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const ListOffsetsServer: ServerApi<ListOffsetsRequest, ListOffsetsResponse> = /* @__PURE__ */ (() => ({
  ...ListOffsets,
  decodeRequest(r: Reader, v: number): ListOffsetsRequest {
    const flex = v >= 6;
    const replicaId = r.int32("replica_id");
    const isolationLevel = v >= 2 ? r.int8("isolation_level") : 0;
    const topics = r.array(flex, (r) => {
      const name = r.str(flex, "topic name");
      const partitions = r.array(flex, (r) => {
        const p: ListOffsetsPartition = { partitionIndex: r.int32("partition_index"), currentLeaderEpoch: v >= 4 ? r.int32("current_leader_epoch") : -1, timestamp: r.int64("timestamp") };
        r.tags(flex);
        return p;
      }, "partitions", 12);
      r.tags(flex);
      return { name, partitions };
    }, "topics", 3);
    r.tags(flex);
    return { replicaId, isolationLevel, topics };
  },

  encodeResponse(w: Writer, v: number, res: ListOffsetsResponse): void {
    const flex = v >= 6;
    if (v >= 2) w.int32(res.throttleTimeMs);
    w.array(flex, res.topics, (w, t) => {
      w.str(flex, t.name);
      w.array(flex, t.partitions, (w, p) => {
        w.int32(p.partitionIndex).int16(p.errorCode).int64(p.timestamp).int64(p.offset);
        if (v >= 4) w.int32(p.leaderEpoch);
        w.tags(flex);
      });
      w.tags(flex);
    });
    w.tags(flex);
  },
}))();
