/**
 * EndTxn (key 26): commit or abort the producer's ongoing transaction.
 *
 * | version | change |
 * |---|---|
 * | v0 | transactional_id, producer_id, producer_epoch, committed → throttle_time_ms, error_code |
 * | v1 | same (throttling before responding) |
 * | v2 | same as v1 (PRODUCER_FENCED possible) |
 * | v3 | flexible |
 * | v4 | same as v3 (TRANSACTION_ABORTABLE possible) |
 * | v5 | response + producer_id, producer_epoch: the epoch bumped by the coordinator (KIP-890) |
 */
import type { Api, ServerApi } from "./api.ts";
import type { Reader, Writer } from "./wire.ts";

export interface EndTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** true = commit, false = abort. */
  committed: boolean;
}

export interface EndTxnResponse {
  throttleTimeMs: number;
  errorCode: number;
  /** v5+; -1 when absent. */
  producerId: number;
  /** v5+; -1 when absent. */
  producerEpoch: number;
}

export const EndTxn: Api<EndTxnRequest, EndTxnResponse> = {
  name: "EndTxn",
  apiKey: 26, // ApiKey.EndTxn: a literal, so this file imports nothing at run time (see transactions.ts)
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 3,

  encodeRequest(w: Writer, v: number, req: EndTxnRequest): void {
    const flex = v >= 3;
    w.str(flex, req.transactionalId).int64(req.producerId).int16(req.producerEpoch).bool(req.committed).tags(flex);
  },

  decodeResponse(r: Reader, v: number): EndTxnResponse {
    const res = { throttleTimeMs: r.int32("throttle_time_ms"), errorCode: r.int16("error_code"), producerId: -1, producerEpoch: -1 };
    if (v >= 5) {
      res.producerId = r.int64("producer_id");
      res.producerEpoch = r.int16("producer_epoch");
    }
    r.tags(v >= 3);
    return res;
  },
};

/** EndTxn with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const EndTxnServer: ServerApi<EndTxnRequest, EndTxnResponse> = /* @__PURE__ */ (() => ({
  ...EndTxn,
  decodeRequest(r: Reader, v: number): EndTxnRequest {
    const flex = v >= 3;
    const req = { transactionalId: r.str(flex, "transactional_id"), producerId: r.int64("producer_id"), producerEpoch: r.int16("producer_epoch"), committed: r.bool("committed") };
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: EndTxnResponse): void {
    w.int32(res.throttleTimeMs).int16(res.errorCode);
    if (v >= 5) w.int64(res.producerId).int16(res.producerEpoch);
    w.tags(v >= 3);
  },
}))();
