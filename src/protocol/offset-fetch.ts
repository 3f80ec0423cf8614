/**
 * OffsetFetch (key 9): a group's committed offsets (and metadata, leader epoch) per partition.
 *
 * | version | change |
 * |---|---|
 * | v0 | group_id, topics [name, partition_indexes] → topics [name, partitions [partition_index, committed_offset, metadata, error_code]] (offsets in ZooKeeper; Kafka 4.x's minimum is v1, KIP-896) |
 * | v1 | offsets stored in Kafka |
 * | v2 | topics null = every partition the group committed; response + error_code |
 * | v3 | response + throttle_time_ms |
 * | v4 | same as v3 |
 * | v5 | response partitions + committed_leader_epoch (KIP-320) |
 * | v6 | flexible |
 * | v7 | + require_stable: UNSTABLE_OFFSET_COMMIT while a transaction's offsets are pending (KIP-447) |
 * | v8 | batched: groups [group_id, topics] instead of group_id, topics; response groups [group_id, topics, error_code] (KIP-709) |
 *
 * The request always takes `groups`; v0-v7 send exactly one. Responses always come back as `groups`
 * (v0-v7: one entry, whose `groupId` is "" because those versions do not echo it).
 */
import { ClientError } from "../errors.ts";
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import type { Reader, Writer } from "./wire.ts";

export interface OffsetFetchTopic {
  name: string;
  partitionIndexes: number[];
}

export interface OffsetFetchGroup {
  groupId: string;
  /** Null (v2+) = every partition the group has committed offsets for. */
  topics: OffsetFetchTopic[] | null;
}

export interface OffsetFetchRequest {
  groups: OffsetFetchGroup[];
  /** v7+. */
  requireStable?: boolean;
}

export interface OffsetFetchPartitionResponse {
  partitionIndex: number;
  /** -1 = no committed offset. */
  committedOffset: number;
  /** v5+; -1 when absent. */
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchGroupResponse {
  /** v8+; "" before. */
  groupId: string;
  topics: { name: string; partitions: OffsetFetchPartitionResponse[] }[];
  /** v2+; 0 before. */
  errorCode: number;
}

export interface OffsetFetchResponse {
  /** v3+; 0 before. */
  throttleTimeMs: number;
  groups: OffsetFetchGroupResponse[];
}

function writeTopics(w: Writer, v: number, flex: boolean, topics: OffsetFetchTopic[] | null): void {
  if (topics === null && v < 2) throw new ClientError("INVALID_CONFIG", `Cannot encode OffsetFetch v${v}: fetching every partition (null topics) needs v2+`);
  w.array(flex, topics, (w, t) => w.str(flex, t.name).array(flex, t.partitionIndexes, (w, p) => w.int32(p)).tags(flex));
}

function readTopics(r: Reader, v: number, flex: boolean): OffsetFetchTopic[] | null {
  const read = (r: Reader) => {
    const t = { name: r.str(flex, "topic name"), partitionIndexes: r.int32Array(flex, "partition_indexes") };
    r.tags(flex);
    return t;
  };
  return v >= 2 ? r.nullableArray(flex, read, "topics", flex ? 3 : 6) : r.array(flex, read, "topics", 6);
}

function readTopicResponses(r: Reader, v: number, flex: boolean): OffsetFetchGroupResponse["topics"] {
  return r.array(flex, (r) => {
    const name = r.str(flex, "topic name");
    const partitions = r.array(flex, (r) => {
      const p: OffsetFetchPartitionResponse = {
        partitionIndex: r.int32("partition_index"),
        committedOffset: r.int64("committed_offset"),
        committedLeaderEpoch: v >= 5 ? r.int32("committed_leader_epoch") : -1,
        metadata: r.nullableStr(flex, "metadata"),
        errorCode: r.int16("error_code"),
      };
      r.tags(flex);
      return p;
    }, "partitions", 15);
    r.tags(flex);
    return { name, partitions };
  }, "topics", flex ? 3 : 6);
}

function writeTopicResponses(w: Writer, v: number, flex: boolean, topics: OffsetFetchGroupResponse["topics"]): void {
  w.array(flex, topics, (w, t) => {
    w.str(flex, t.name).array(flex, t.partitions, (w, p) => {
      w.int32(p.partitionIndex).int64(p.committedOffset);
      if (v >= 5) w.int32(p.committedLeaderEpoch);
      w.str(flex, p.metadata).int16(p.errorCode).tags(flex);
    }).tags(flex);
  });
}

export const OffsetFetch: Api<OffsetFetchRequest, OffsetFetchResponse> = {
  name: "OffsetFetch",
  apiKey: ApiKey.OffsetFetch,
  minVersion: 0,
  maxVersion: 8,
  firstFlexibleVersion: 6,

  encodeRequest(w: Writer, v: number, req: OffsetFetchRequest): void {
    const flex = v >= 6;
    if (v < 8) {
      if (req.groups.length !== 1) throw new ClientError("INVALID_CONFIG", `Cannot encode OffsetFetch v${v}: it takes exactly one group, got ${req.groups.length}`);
      w.str(flex, req.groups[0].groupId);
      writeTopics(w, v, flex, req.groups[0].topics);
    } else {
      w.array(true, req.groups, (w, g) => {
        w.compactString(g.groupId);
        writeTopics(w, v, true, g.topics);
        w.tags(true);
      });
    }
    if (v >= 7) w.bool(req.requireStable ?? false);
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): OffsetFetchResponse {
    const flex = v >= 6;
    const throttleTimeMs = v >= 3 ? r.int32("throttle_time_ms") : 0;
    let groups: OffsetFetchGroupResponse[];
    if (v < 8) {
      const topics = readTopicResponses(r, v, flex);
      groups = [{ groupId: "", topics, errorCode: v >= 2 ? r.int16("error_code") : 0 }];
    } else {
      groups = r.array(true, (r) => {
        const g = { groupId: r.compactString("group_id"), topics: readTopicResponses(r, v, true), errorCode: r.int16("group error_code") };
        r.tags(true);
        return g;
      }, "groups", 5);
    }
    r.tags(flex);
    return { throttleTimeMs, groups };
  },
};

/** OffsetFetch with the broker's half (fake broker, tests); a pure IIFE, so client bundles drop it. */
export const OffsetFetchServer: ServerApi<OffsetFetchRequest, OffsetFetchResponse> = /* @__PURE__ */ (() => ({
  ...OffsetFetch,
  decodeRequest(r: Reader, v: number): OffsetFetchRequest {
    const flex = v >= 6;
    let groups: OffsetFetchGroup[];
    if (v < 8) {
      const groupId = r.str(flex, "group_id");
      groups = [{ groupId, topics: readTopics(r, v, flex) }];
    } else {
      groups = r.array(true, (r) => {
        const g = { groupId: r.compactString("group_id"), topics: readTopics(r, v, true) };
        r.tags(true);
        return g;
      }, "groups", 3);
    }
    const req: OffsetFetchRequest = { groups };
    if (v >= 7) req.requireStable = r.bool("require_stable");
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: OffsetFetchResponse): void {
    const flex = v >= 6;
    if (v >= 3) w.int32(res.throttleTimeMs);
    if (v < 8) {
      const g = res.groups[0] ?? { groupId: "", topics: [], errorCode: 0 };
      writeTopicResponses(w, v, flex, g.topics);
      if (v >= 2) w.int16(g.errorCode);
    } else {
      w.array(true, res.groups, (w, g) => {
        w.compactString(g.groupId);
        writeTopicResponses(w, v, true, g.topics);
        w.int16(g.errorCode).tags(true);
      });
    }
    w.tags(flex);
  },
}))();
