/**
 * Heartbeat (key 12): a member tells the coordinator it is alive; REBALANCE_IN_PROGRESS tells it to rejoin.
 *
 * | version | change |
 * |---|---|
 * | v0 | group_id, generation_id, member_id → error_code |
 * | v1 | response + throttle_time_ms |
 * | v2 | same as v1 |
 * | v3 | + group_instance_id (KIP-345) |
 * | v4 | flexible |
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import type { Reader, Writer } from "./wire.ts";

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** v3+. */
  groupInstanceId?: string | null;
}

export interface HeartbeatResponse {
  /** v1+; 0 before. */
  throttleTimeMs: number;
  errorCode: number;
}

export const Heartbeat: Api<HeartbeatRequest, HeartbeatResponse> = {
  name: "Heartbeat",
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 4,

  encodeRequest(w: Writer, v: number, req: HeartbeatRequest): void {
    const flex = v >= 4;
    w.str(flex, req.groupId).int32(req.generationId).str(flex, req.memberId);
    if (v >= 3) w.str(flex, req.groupInstanceId ?? null);
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): HeartbeatResponse {
    const res = { throttleTimeMs: v >= 1 ? r.int32("throttle_time_ms") : 0, errorCode: r.int16("error_code") };
    r.tags(v >= 4);
    return res;
  },
};

/** Heartbeat with the broker's half (fake broker, tests); a pure IIFE, so client bundles drop it. */
export const HeartbeatServer: ServerApi<HeartbeatRequest, HeartbeatResponse> = /* @__PURE__ */ (() => ({
  ...Heartbeat,
  decodeRequest(r: Reader, v: number): HeartbeatRequest {
    const flex = v >= 4;
    const req: HeartbeatRequest = { groupId: r.str(flex, "group_id"), generationId: r.int32("generation_id"), memberId: r.str(flex, "member_id") };
    if (v >= 3) req.groupInstanceId = r.nullableStr(flex, "group_instance_id");
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: HeartbeatResponse): void {
    if (v >= 1) w.int32(res.throttleTimeMs);
    w.int16(res.errorCode).tags(v >= 4);
  },
}))();
