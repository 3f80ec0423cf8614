/**
 * Fetch (key 1): read record batches from partition leaders. Records come back as the raw bytes of
 * the partition's RecordBatches (a view into the response frame) for `decodeRecordBatches`; the last
 * batch may be partial, as brokers cut at max bytes.
 *
 * | version | change |
 * |---|---|
 * | v4 | + isolation_level; response + last_stable_offset, aborted_transactions (Kafka 4.x's minimum) |
 * | v5 | + log_start_offset (request and response) |
 * | v6 | same as v5 |
 * | v7 | incremental fetch sessions: + session_id, session_epoch, forgotten_topics_data; response + error_code, session_id |
 * | v8 | same as v7 |
 * | v9 | + current_leader_epoch per partition |
 * | v10 | same as v9 (zstd) |
 * | v11 | + rack_id; response + preferred_read_replica |
 * | v12 | flexible; + last_fetched_epoch; tagged: request cluster_id (0); partition diverging_epoch (0), current_leader (1), snapshot_id (2) |
 * | v13 | topics by topic_id (UUID) instead of name, in topics, forgotten_topics_data and responses |
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import { type Reader, type Uuid, type Writer, ZERO_UUID, writeTaggedFields } from "./wire.ts";

export interface FetchPartition {
  partition: number;
  /** v9+; -1 = unknown. */
  currentLeaderEpoch?: number;
  fetchOffset: number;
  /** v12+; -1 = unknown. */
  lastFetchedEpoch?: number;
  /** v5+; -1 for clients. */
  logStartOffset?: number;
  partitionMaxBytes: number;
}

export interface FetchTopic {
  /** Used up to v12. */
  topic: string;
  /** Used from v13. */
  topicId?: Uuid;
  partitions: FetchPartition[];
}

export interface FetchRequest {
  /** v12+ tagged field 0. */
  clusterId?: string | null;
  replicaId?: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  /** 0 = read uncommitted, 1 = read committed. */
  isolationLevel?: number;
  /** v7+: 0 = no session. */
  sessionId?: number;
  /** v7+: -1 = no session (full fetch). */
  sessionEpoch?: number;
  topics: FetchTopic[];
  /** v7+. */
  forgottenTopicsData?: { topic: string; topicId?: Uuid; partitions: number[] }[];
  /** v11+. */
  rackId?: string;
}

export interface FetchPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  /** v5+; -1 when absent. */
  logStartOffset: number;
  /** v12+ tagged fields; undefined when absent. */
  divergingEpoch?: { epoch: number; endOffset: number };
  currentLeader?: { leaderId: number; leaderEpoch: number };
  snapshotId?: { endOffset: number; epoch: number };
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
  /** v11+; -1 when absent. */
  preferredReadReplica: number;
  /** Raw RecordBatches (possibly ending in a partial batch), a view into the frame. */
  records: Uint8Array | null;
}

export interface FetchTopicResponse {
  /** Empty from v13 (topics are named by id). */
  topic: string;
  /** v13+; all zeros before. */
  topicId: Uuid;
  partitions: FetchPartitionResponse[];
}

export interface FetchResponse {
  throttleTimeMs: number;
  /** v7+. */
  errorCode: number;
  /** v7+. */
  sessionId: number;
  responses: FetchTopicResponse[];
}

function writeTopicRef(w: Writer, v: number, flex: boolean, t: { topic: string; topicId?: Uuid }): void {
  if (v >= 13) {
    if (!t.topicId) throw new RangeError(`Cannot encode Fetch v${v}: topic "${t.topic}" has no topicId`);
    w.uuid(t.topicId);
  } else {
    w.str(flex, t.topic);
  }
}

export const Fetch: Api<FetchRequest, FetchResponse> = {
  name: "Fetch",
  apiKey: ApiKey.Fetch,
  minVersion: 4,
  maxVersion: 13,
  firstFlexibleVersion: 12,

  encodeRequest(w: Writer, v: number, req: FetchRequest): void {
    const flex = v >= 12;
    w.int32(req.replicaId ?? -1).int32(req.maxWaitMs).int32(req.minBytes).int32(req.maxBytes).int8(req.isolationLevel ?? 0);
    if (v >= 7) w.int32(req.sessionId ?? 0).int32(req.sessionEpoch ?? -1);
    w.array(flex, req.topics, (w, t) => {
      writeTopicRef(w, v, flex, t);
      w.array(flex, t.partitions, (w, p) => {
        w.int32(p.partition);
        if (v >= 9) w.int32(p.currentLeaderEpoch ?? -1);
        w.int64(p.fetchOffset);
        if (v >= 12) w.int32(p.lastFetchedEpoch ?? -1);
        if (v >= 5) w.int64(p.logStartOffset ?? -1);
        w.int32(p.partitionMaxBytes).tags(flex);
      });
      w.tags(flex);
    });
    if (v >= 7) {
      w.array(flex, req.forgottenTopicsData ?? [], (w, t) => {
        writeTopicRef(w, v, flex, t);
        w.array(flex, t.partitions, (w, p) => w.int32(p)).tags(flex);
      });
    }
    if (v >= 11) w.str(flex, req.rackId ?? "");
    if (flex) {
      const clusterId = req.clusterId;
      writeTaggedFields(w, [clusterId !== undefined && clusterId !== null ? [0, (t) => t.compactString(clusterId)] : undefined]);
    }
  },

  decodeResponse(r: Reader, v: number): FetchResponse {
    const flex = v >= 12;
    const throttleTimeMs = r.int32("throttle_time_ms");
    const errorCode = v >= 7 ? r.int16("error_code") : 0;
    const sessionId = v >= 7 ? r.int32("session_id") : 0;
    const responses = r.array(flex, (r) => {
      const topic = v >= 13 ? "" : r.str(flex, "topic");
      const topicId = v >= 13 ? r.uuid("topic_id") : ZERO_UUID;
      const partitions = r.array(flex, (r) => {
        const p: FetchPartitionResponse = {
          partitionIndex: r.int32("partition_index"),
          errorCode: r.int16("error_code"),
          highWatermark: r.int64("high_watermark"),
          lastStableOffset: r.int64("last_stable_offset"),
          logStartOffset: v >= 5 ? r.int64("log_start_offset") : -1,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: null,
        };
        p.abortedTransactions = r.nullableArray(flex, (r) => {
          const a = { producerId: r.int64("aborted producer_id"), firstOffset: r.int64("aborted first_offset") };
          r.tags(flex);
          return a;
        }, "aborted_transactions", 16);
        if (v >= 11) p.preferredReadReplica = r.int32("preferred_read_replica");
        p.records = r.nullableByteArray(flex, "records");
        if (flex) {
          r.taggedFields((tag, t) => {
            switch (tag) {
              case 0: p.divergingEpoch = { epoch: t.int32("diverging epoch"), endOffset: t.int64("diverging end_offset") }; break;
              case 1: p.currentLeader = { leaderId: t.int32("current_leader leader_id"), leaderEpoch: t.int32("current_leader leader_epoch") }; break;
              case 2: p.snapshotId = { endOffset: t.int64("snapshot end_offset"), epoch: t.int32("snapshot epoch") }; break;
              default: return false;
            }
            t.tags(true);
            return true;
          }, "partition tagged fields");
        }
        return p;
      }, "partitions", 30);
      r.tags(flex);
      return { topic, topicId, partitions };
    }, "responses", 3);
    r.tags(flex);
    return { throttleTimeMs, errorCode, sessionId, responses };
  },
};

/** Fetch with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const FetchServer: ServerApi<FetchRequest, FetchResponse> = /* @__PURE__ */ (() => ({
  ...Fetch,
  decodeRequest(r: Reader, v: number): FetchRequest {
    const flex = v >= 12;
    const readTopicRef = (r: Reader) => (v >= 13 ? { topic: "", topicId: r.uuid("topic_id") } : { topic: r.str(flex, "topic") });
    const req: FetchRequest = {
      replicaId: r.int32("replica_id"), maxWaitMs: r.int32("max_wait_ms"), minBytes: r.int32("min_bytes"),
      maxBytes: r.int32("max_bytes"), isolationLevel: r.int8("isolation_level"), topics: [],
    };
    if (v >= 7) {
      req.sessionId = r.int32("session_id");
      req.sessionEpoch = r.int32("session_epoch");
    }
    req.topics = r.array(flex, (r) => {
      const ref = readTopicRef(r);
      const partitions = r.array(flex, (r) => {
        const p: FetchPartition = { partition: r.int32("partition"), fetchOffset: 0, partitionMaxBytes: 0 };
        if (v >= 9) p.currentLeaderEpoch = r.int32("current_leader_epoch");
        p.fetchOffset = r.int64("fetch_offset");
        if (v >= 12) p.lastFetchedEpoch = r.int32("last_fetched_epoch");
        if (v >= 5) p.logStartOffset = r.int64("log_start_offset");
        p.partitionMaxBytes = r.int32("partition_max_bytes");
        r.tags(flex);
        return p;
      }, "partitions", 16);
      r.tags(flex);
      return { ...ref, partitions };
    }, "topics", 3);
    if (v >= 7) {
      req.forgottenTopicsData = r.array(flex, (r) => {
        const ref = readTopicRef(r);
        const partitions = r.int32Array(flex, "forgotten partitions");
        r.tags(flex);
        return { ...ref, partitions };
      }, "forgotten_topics_data", 3);
    }
    if (v >= 11) req.rackId = r.str(flex, "rack_id");
    if (flex) {
      r.taggedFields((tag, t) => {
        if (tag !== 0) return false;
        req.clusterId = t.compactNullableString("cluster_id");
        return true;
      });
    }
    return req;
  },

  encodeResponse(w: Writer, v: number, res: FetchResponse): void {
    const flex = v >= 12;
    w.int32(res.throttleTimeMs);
    if (v >= 7) w.int16(res.errorCode).int32(res.sessionId);
    w.array(flex, res.responses, (w, t) => {
      if (v >= 13) w.uuid(t.topicId);
      else w.str(flex, t.topic);
      w.array(flex, t.partitions, (w, p) => {
        w.int32(p.partitionIndex).int16(p.errorCode).int64(p.highWatermark).int64(p.lastStableOffset);
        if (v >= 5) w.int64(p.logStartOffset);
        w.array(flex, p.abortedTransactions, (w, a) => w.int64(a.producerId).int64(a.firstOffset).tags(flex));
        if (v >= 11) w.int32(p.preferredReadReplica);
        w.byteArray(flex, p.records);
        if (flex) {
          const d = p.divergingEpoch, c = p.currentLeader, s = p.snapshotId;
          writeTaggedFields(w, [
            d ? [0, (t) => t.int32(d.epoch).int64(d.endOffset).uvarint(0)] : undefined,
            c ? [1, (t) => t.int32(c.leaderId).int32(c.leaderEpoch).uvarint(0)] : undefined,
            s ? [2, (t) => t.int64(s.endOffset).int32(s.epoch).uvarint(0)] : undefined,
          ]);
        }
      });
      w.tags(flex);
    });
    w.tags(flex);
  },
}))();
