/**
 * InitProducerId (key 22): obtain a ProducerId and epoch for idempotent or transactional producing.
 *
 * | version | change |
 * |---|---|
 * | v0 | transactional_id, transaction_timeout_ms → throttle_time_ms, error_code, producer_id, producer_epoch |
 * | v1 | same (throttling before responding) |
 * | v2 | flexible |
 * | v3 | request + producer_id, producer_epoch: an idempotent producer bumps its epoch after OUT_OF_ORDER_SEQUENCE / UNKNOWN_PRODUCER_ID instead of resetting (KIP-360) |
 * | v4 | PRODUCER_FENCED possible |
 * | v5 | same as v4 (KIP-890) |
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import type { Reader, Writer } from "./wire.ts";

export interface InitProducerIdRequest {
  /** Null for an idempotent (non-transactional) producer. */
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** v3+: the current id when bumping the epoch, else -1. */
  producerId?: number;
  /** v3+: the current epoch when bumping, else -1. */
  producerEpoch?: number;
}

export interface InitProducerIdResponse {
  throttleTimeMs: number;
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export const InitProducerId: Api<InitProducerIdRequest, InitProducerIdResponse> = {
  name: "InitProducerId",
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 2,

  encodeRequest(w: Writer, v: number, req: InitProducerIdRequest): void {
    const flex = v >= 2;
    w.str(flex, req.transactionalId).int32(req.transactionTimeoutMs);
    if (v >= 3) w.int64(req.producerId ?? -1).int16(req.producerEpoch ?? -1);
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): InitProducerIdResponse {
    const res = {
      throttleTimeMs: r.int32("throttle_time_ms"),
      errorCode: r.int16("error_code"),
      producerId: r.int64("producer_id"),
      producerEpoch: r.int16("producer_epoch"),
    };
    r.tags(v >= 2);
    return res;
  },
};

/** InitProducerId with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const InitProducerIdServer: ServerApi<InitProducerIdRequest, InitProducerIdResponse> = /* @__PURE__ */ (() => ({
  ...InitProducerId,
  decodeRequest(r: Reader, v: number): InitProducerIdRequest {
    const flex = v >= 2;
    const req: InitProducerIdRequest = {
      transactionalId: r.nullableStr(flex, "transactional_id"),
      transactionTimeoutMs: r.int32("transaction_timeout_ms"),
    };
    if (v >= 3) {
      req.producerId = r.int64("producer_id");
      req.producerEpoch = r.int16("producer_epoch");
    }
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: InitProducerIdResponse): void {
    w.int32(res.throttleTimeMs).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch).tags(v >= 2);
  },
}))();
