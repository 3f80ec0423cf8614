/**
 * Produce (key 0): append RecordBatches to partition logs. kafkasm speaks v3+ (message format v2).
 *
 * | version | change |
 * |---|---|
 * | v3 | + transactional_id; RecordBatch v2 (Kafka 4.x's minimum) |
 * | v4 | KAFKA_STORAGE_ERROR possible |
 * | v5 | response + log_start_offset |
 * | v6 | same as v5 |
 * | v7 | ZStandard allowed (KIP-110) — the librdkafka mock's maximum |
 * | v8 | response + record_errors [batch_index, batch_index_error_message], error_message (KIP-467) |
 * | v9 | flexible (compact types, tagged fields) |
 * | v10 | response tagged: partition tag 0 current_leader {leader_id, leader_epoch}, top-level tag 0 node_endpoints (KIP-951) |
 * | v11 | TRANSACTION_ABORTABLE possible (KIP-890) |
 * | v12 | same as v11 (KIP-890 part 2) |
 *
 * acks = 0: the broker sends no response at all; callers must not wait for one.
 * v13 (Kafka 4.1) names topics by id instead of name and is not spoken here; negotiation stops at v12.
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import { type Reader, type Writer, writeTaggedFields } from "./wire.ts";

/**
 * RecordBatches encoded only as the request is written: `encode()` returns a view valid until its
 * next call (a WASM codec's output region), which the frame copies at once.
 */
export interface RecordsSource {
  readonly sizeInBytes: number;
  encode(): Uint8Array;
}

const recordsSize = (r: Uint8Array | RecordsSource | null): number => r === null ? 0 : r instanceof Uint8Array ? r.length : r.sizeInBytes;

export interface ProducePartitionData {
  index: number;
  /** One or more encoded RecordBatches (v2), concatenated, or their source; written with a single copy. */
  records: Uint8Array | RecordsSource | null;
  /** Set by encodeRequest: the records' copy inside the request frame, which a caller may keep instead of its own. */
  framed?: Uint8Array;
}

export interface ProduceTopicData {
  name: string;
  partitions: ProducePartitionData[];
}

export interface ProduceRequest {
  transactionalId: string | null;
  /** 0, 1 or -1 (all). */
  acks: number;
  timeoutMs: number;
  topics: ProduceTopicData[];
}

export interface ProduceRecordError {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  /** v2+; -1 unless the topic uses LogAppendTime. */
  logAppendTimeMs: number;
  /** v5+; -1 when absent. */
  logStartOffset: number;
  /** v8+. */
  recordErrors: ProduceRecordError[];
  /** v8+. */
  errorMessage: string | null;
  /** v10+ tagged: the new leader with NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH, else undefined. */
  currentLeader?: { leaderId: number; leaderEpoch: number };
}

export interface ProduceTopicResponse {
  name: string;
  partitions: ProducePartitionResponse[];
}

export interface ProduceNodeEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface ProduceResponse {
  topics: ProduceTopicResponse[];
  throttleTimeMs: number;
  /** v10+ tagged: endpoints of the leaders named in currentLeader. */
  nodeEndpoints?: ProduceNodeEndpoint[];
}

export const Produce: Api<ProduceRequest, ProduceResponse> = {
  name: "Produce",
  apiKey: ApiKey.Produce,
  minVersion: 3,
  maxVersion: 12,
  firstFlexibleVersion: 9,

  estimateRequestSize(_v: number, req: ProduceRequest): number {
    let n = 16 + (req.transactionalId?.length ?? 0) * 3;
    for (const t of req.topics) {
      n += 12 + t.name.length * 3;
      for (const p of t.partitions) n += 16 + recordsSize(p.records);
    }
    return n;
  },

  encodeRequest(w: Writer, v: number, req: ProduceRequest): void {
    const flex = v >= 9;
    const framed: ProducePartitionData[] = [], ends: number[] = [];
    w.str(flex, req.transactionalId).int16(req.acks).int32(req.timeoutMs);
    w.array(flex, req.topics, (w, t) => {
      w.str(flex, t.name);
      w.array(flex, t.partitions, (w, p) => {
        const r = p.records;
        const bytes = r === null || r instanceof Uint8Array ? r : r.encode();
        w.int32(p.index).byteArray(flex, bytes);
        framed.push(p);
        ends.push(w.pos - (bytes?.length ?? 0), w.pos);
        w.tags(flex);
      });
      w.tags(flex);
    });
    w.tags(flex);
    // Views only now: the writer's buffer may have moved while it grew.
    const buf = w.written();
    for (let i = 0; i < framed.length; i++) framed[i].framed = buf.subarray(ends[2 * i], ends[2 * i + 1]);
  },

  decodeResponse(r: Reader, v: number): ProduceResponse {
    const flex = v >= 9;
    const topics = r.array(flex, (r) => {
      const name = r.str(flex, "topic name");
      const partitions = r.array(flex, (r) => {
        const p: ProducePartitionResponse = {
          index: r.int32("partition index"),
          errorCode: r.int16("error_code"),
          baseOffset: r.int64("base_offset"),
          logAppendTimeMs: r.int64("log_append_time_ms"),
          logStartOffset: v >= 5 ? r.int64("log_start_offset") : -1,
          recordErrors: v >= 8
            ? r.array(flex, (r) => {
              const e = { batchIndex: r.int32("batch_index"), batchIndexErrorMessage: r.nullableStr(flex, "batch_index_error_message") };
              r.tags(flex);
              return e;
            }, "record_errors", 5)
            : [],
          errorMessage: v >= 8 ? r.nullableStr(flex, "error_message") : null,
        };
        if (flex) {
          r.taggedFields((tag, t) => {
            if (tag !== 0 || v < 10) return false;
            p.currentLeader = { leaderId: t.int32("current_leader leader_id"), leaderEpoch: t.int32("current_leader leader_epoch") };
            t.tags(true);
            return true;
          }, "partition response tagged fields");
        }
        return p;
      }, "partition_responses", 22);
      r.tags(flex);
      return { name, partitions };
    }, "responses", 3);
    const res: ProduceResponse = { topics, throttleTimeMs: r.int32("throttle_time_ms") };
    if (flex) {
      r.taggedFields((tag, t) => {
        if (tag !== 0 || v < 10) return false;
        res.nodeEndpoints = t.array(true, (t) => {
          const e = { nodeId: t.int32("node_id"), host: t.compactString("host"), port: t.int32("port"), rack: t.compactNullableString("rack") };
          t.tags(true);
          return e;
        }, "node_endpoints", 11);
        return true;
      }, "Produce response tagged fields");
    }
    return res;
  },
};

/** Produce with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const ProduceServer: ServerApi<ProduceRequest, ProduceResponse> = /* @__PURE__ */ (() => ({
  ...Produce,
  decodeRequest(r: Reader, v: number): ProduceRequest {
    const flex = v >= 9;
    const transactionalId = r.nullableStr(flex, "transactional_id");
    const acks = r.int16("acks");
    const timeoutMs = r.int32("timeout_ms");
    const topics = r.array(flex, (r) => {
      const name = r.str(flex, "topic name");
      const partitions = r.array(flex, (r) => {
        const p = { index: r.int32("partition index"), records: r.nullableByteArray(flex, "records") };
        r.tags(flex);
        return p;
      }, "partition_data", 5);
      r.tags(flex);
      return { name, partitions };
    }, "topic_data", 3);
    r.tags(flex);
    return { transactionalId, acks, timeoutMs, topics };
  },

  encodeResponse(w: Writer, v: number, res: ProduceResponse): void {
    const flex = v >= 9;
    w.array(flex, res.topics, (w, t) => {
      w.str(flex, t.name);
      w.array(flex, t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(p.logAppendTimeMs);
        if (v >= 5) w.int64(p.logStartOffset);
        if (v >= 8) {
          w.array(flex, p.recordErrors, (w, e) => w.int32(e.batchIndex).str(flex, e.batchIndexErrorMessage).tags(flex));
          w.str(flex, p.errorMessage);
        }
        if (flex) {
          const leader = p.currentLeader;
          writeTaggedFields(w, [v >= 10 && leader ? [0, (t) => t.int32(leader.leaderId).int32(leader.leaderEpoch).uvarint(0)] : undefined]);
        }
      });
      w.tags(flex);
    });
    w.int32(res.throttleTimeMs);
    if (flex) {
      const eps = res.nodeEndpoints;
      writeTaggedFields(w, [v >= 10 && eps && eps.length > 0
        ? [0, (t) => t.array(true, eps, (t, e) => t.int32(e.nodeId).compactString(e.host).int32(e.port).compactString(e.rack).uvarint(0))]
        : undefined]);
    }
  },
}))();
