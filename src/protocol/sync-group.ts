/**
 * SyncGroup (key 14): after JoinGroup, the leader sends every member's assignment (ConsumerProtocolAssignment
 * bytes) and every member, leader included, receives its own.
 *
 * | version | change |
 * |---|---|
 * | v0 | group_id, generation_id, member_id, assignments [member_id, assignment] → error_code, assignment |
 * | v1 | response + throttle_time_ms |
 * | v2 | same as v1 |
 * | v3 | + group_instance_id (KIP-345) |
 * | v4 | flexible |
 * | v5 | + protocol_type, protocol_name (checked against the group's, KIP-559); response + both |
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import { requiredBytes } from "./join-group.ts";
import type { Reader, Writer } from "./wire.ts";

export interface SyncGroupAssignment {
  memberId: string;
  assignment: Uint8Array;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** v3+. */
  groupInstanceId?: string | null;
  /** v5+. */
  protocolType?: string | null;
  /** v5+. */
  protocolName?: string | null;
  /** The leader's assignments; empty from followers. */
  assignments: SyncGroupAssignment[];
}

export interface SyncGroupResponse {
  /** v1+; 0 before. */
  throttleTimeMs: number;
  errorCode: number;
  /** v5+; null before. */
  protocolType: string | null;
  /** v5+; null before. */
  protocolName: string | null;
  /** This member's ConsumerProtocolAssignment bytes (empty on error). */
  assignment: Uint8Array;
}

export const SyncGroup: Api<SyncGroupRequest, SyncGroupResponse> = {
  name: "SyncGroup",
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 4,

  encodeRequest(w: Writer, v: number, req: SyncGroupRequest): void {
    const flex = v >= 4;
    w.str(flex, req.groupId).int32(req.generationId).str(flex, req.memberId);
    if (v >= 3) w.str(flex, req.groupInstanceId ?? null);
    if (v >= 5) w.str(flex, req.protocolType ?? null).str(flex, req.protocolName ?? null);
    w.array(flex, req.assignments, (w, a) => w.str(flex, a.memberId).byteArray(flex, a.assignment).tags(flex)).tags(flex);
  },

  decodeResponse(r: Reader, v: number): SyncGroupResponse {
    const flex = v >= 4;
    const res: SyncGroupResponse = {
      throttleTimeMs: v >= 1 ? r.int32("throttle_time_ms") : 0,
      errorCode: r.int16("error_code"),
      protocolType: v >= 5 ? r.nullableStr(flex, "protocol_type") : null,
      protocolName: v >= 5 ? r.nullableStr(flex, "protocol_name") : null,
      assignment: requiredBytes(r, flex, "assignment"),
    };
    r.tags(flex);
    return res;
  },
};

/** SyncGroup with the broker's half (fake broker, tests); a pure IIFE, so client bundles drop it. */
export const SyncGroupServer: ServerApi<SyncGroupRequest, SyncGroupResponse> = /* @__PURE__ */ (() => ({
  ...SyncGroup,
  decodeRequest(r: Reader, v: number): SyncGroupRequest {
    const flex = v >= 4;
    const req: SyncGroupRequest = { groupId: r.str(flex, "group_id"), generationId: r.int32("generation_id"), memberId: r.str(flex, "member_id"), assignments: [] };
    if (v >= 3) req.groupInstanceId = r.nullableStr(flex, "group_instance_id");
    if (v >= 5) {
      req.protocolType = r.nullableStr(flex, "protocol_type");
      req.protocolName = r.nullableStr(flex, "protocol_name");
    }
    req.assignments = r.array(flex, (r) => {
      const a = { memberId: r.str(flex, "assignment member_id"), assignment: requiredBytes(r, flex, "assignment") };
      r.tags(flex);
      return a;
    }, "assignments", flex ? 3 : 6);
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: SyncGroupResponse): void {
    const flex = v >= 4;
    if (v >= 1) w.int32(res.throttleTimeMs);
    w.int16(res.errorCode);
    if (v >= 5) w.str(flex, res.protocolType).str(flex, res.protocolName);
    w.byteArray(flex, res.assignment).tags(flex);
  },
}))();
