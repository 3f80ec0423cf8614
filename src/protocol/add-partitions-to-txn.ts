/**
 * AddPartitionsToTxn (key 24): add partitions to the producer's ongoing transaction before producing.
 *
 * | version | change |
 * |---|---|
 * | v0 | transactional_id, producer_id, producer_epoch, topics [name, partitions] → throttle_time_ms, results [name, results [partition_index, error_code]] |
 * | v1 | same (throttling before responding) |
 * | v2 | same as v1 |
 * | v3 | flexible |
 *
 * v4+ (KIP-890) batch several transactions and are for broker-to-broker verification only; clients use
 * v0-v3, so kafkasm stops there.
 */
import type { Api, ServerApi } from "./api.ts";
import type { Reader, Writer } from "./wire.ts";

export interface AddPartitionsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topics: { name: string; partitions: number[] }[];
}

export interface AddPartitionsToTxnResponse {
  throttleTimeMs: number;
  results: { name: string; results: { partitionIndex: number; errorCode: number }[] }[];
}

export const AddPartitionsToTxn: Api<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = {
  name: "AddPartitionsToTxn",
  apiKey: 24, // ApiKey.AddPartitionsToTxn: a literal, so this file imports nothing at run time (see transactions.ts)
  minVersion: 0,
  maxVersion: 3,
  firstFlexibleVersion: 3,

  encodeRequest(w: Writer, v: number, req: AddPartitionsToTxnRequest): void {
    const flex = v >= 3;
    w.str(flex, req.transactionalId).int64(req.producerId).int16(req.producerEpoch);
    w.array(flex, req.topics, (w, t) => {
      w.str(flex, t.name).array(flex, t.partitions, (w, p) => w.int32(p)).tags(flex);
    });
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): AddPartitionsToTxnResponse {
    const flex = v >= 3;
    const throttleTimeMs = r.int32("throttle_time_ms");
    const results = r.array(flex, (r) => {
      const name = r.str(flex, "topic name");
      const results = r.array(flex, (r) => {
        const p = { partitionIndex: r.int32("partition_index"), errorCode: r.int16("partition_error_code") };
        r.tags(flex);
        return p;
      }, "partition results", 6);
      r.tags(flex);
      return { name, results };
    }, "results", 3);
    r.tags(flex);
    return { throttleTimeMs, results };
  },
};

/** AddPartitionsToTxn with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const AddPartitionsToTxnServer: ServerApi<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = /* @__PURE__ */ (() => ({
  ...AddPartitionsToTxn,
  decodeRequest(r: Reader, v: number): AddPartitionsToTxnRequest {
    const flex = v >= 3;
    const req = {
      transactionalId: r.str(flex, "transactional_id"), producerId: r.int64("producer_id"), producerEpoch: r.int16("producer_epoch"),
      topics: r.array(flex, (r) => {
        const t = { name: r.str(flex, "topic name"), partitions: r.int32Array(flex, "partitions") };
        r.tags(flex);
        return t;
      }, "topics", 3),
    };
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: AddPartitionsToTxnResponse): void {
    const flex = v >= 3;
    w.int32(res.throttleTimeMs);
    w.array(flex, res.results, (w, t) => {
      w.str(flex, t.name).array(flex, t.results, (w, p) => w.int32(p.partitionIndex).int16(p.errorCode).tags(flex)).tags(flex);
    });
    w.tags(flex);
  },
}))();
