/**
 * LeaveGroup (key 13): members leave the group at once instead of waiting for their session to time out.
 *
 * | version | change |
 * |---|---|
 * | v0 | group_id, member_id → error_code |
 * | v1 | response + throttle_time_ms |
 * | v2 | same as v1 |
 * | v3 | batched: members [member_id, group_instance_id] instead of member_id; response + members [member_id, group_instance_id, error_code] (KIP-345) |
 * | v4 | flexible |
 * | v5 | members + reason (KIP-800) |
 *
 * The request always takes `members`; v0-v2 send exactly one, by member id.
 */
import { ClientError } from "../errors.ts";
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import type { Reader, Writer } from "./wire.ts";

export interface LeaveGroupMember {
  memberId: string;
  /** v3+. */
  groupInstanceId?: string | null;
  /** v5+ (KIP-800). */
  reason?: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  members: LeaveGroupMember[];
}

export interface LeaveGroupMemberResponse {
  memberId: string;
  groupInstanceId: string | null;
  errorCode: number;
}

export interface LeaveGroupResponse {
  /** v1+; 0 before. */
  throttleTimeMs: number;
  errorCode: number;
  /** v3+; empty before. */
  members: LeaveGroupMemberResponse[];
}

export const LeaveGroup: Api<LeaveGroupRequest, LeaveGroupResponse> = {
  name: "LeaveGroup",
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 4,

  encodeRequest(w: Writer, v: number, req: LeaveGroupRequest): void {
    const flex = v >= 4;
    w.str(flex, req.groupId);
    if (v < 3) {
      if (req.members.length !== 1) throw new ClientError("INVALID_CONFIG", `Cannot encode LeaveGroup v${v}: it takes exactly one member, got ${req.members.length}`);
      w.string(req.members[0].memberId);
    } else {
      w.array(flex, req.members, (w, m) => {
        w.str(flex, m.memberId).str(flex, m.groupInstanceId ?? null);
        if (v >= 5) w.str(flex, m.reason ?? null);
        w.tags(flex);
      });
    }
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): LeaveGroupResponse {
    const flex = v >= 4;
    const throttleTimeMs = v >= 1 ? r.int32("throttle_time_ms") : 0;
    const errorCode = r.int16("error_code");
    const members = v < 3 ? [] : r.array(flex, (r) => {
      const m = { memberId: r.str(flex, "member_id"), groupInstanceId: r.nullableStr(flex, "group_instance_id"), errorCode: r.int16("member error_code") };
      r.tags(flex);
      return m;
    }, "members", flex ? 5 : 6);
    r.tags(flex);
    return { throttleTimeMs, errorCode, members };
  },
};

/** LeaveGroup with the broker's half (fake broker, tests); a pure IIFE, so client bundles drop it. */
export const LeaveGroupServer: ServerApi<LeaveGroupRequest, LeaveGroupResponse> = /* @__PURE__ */ (() => ({
  ...LeaveGroup,
  decodeRequest(r: Reader, v: number): LeaveGroupRequest {
    const flex = v >= 4;
    const groupId = r.str(flex, "group_id");
    const members = v < 3 ? [{ memberId: r.string("member_id") }] : r.array(flex, (r) => {
      const m: LeaveGroupMember = { memberId: r.str(flex, "member_id"), groupInstanceId: r.nullableStr(flex, "group_instance_id") };
      if (v >= 5) m.reason = r.nullableStr(flex, "reason");
      r.tags(flex);
      return m;
    }, "members", flex ? 3 : 4);
    r.tags(flex);
    return { groupId, members };
  },

  encodeResponse(w: Writer, v: number, res: LeaveGroupResponse): void {
    const flex = v >= 4;
    if (v >= 1) w.int32(res.throttleTimeMs);
    w.int16(res.errorCode);
    if (v >= 3) w.array(flex, res.members, (w, m) => w.str(flex, m.memberId).str(flex, m.groupInstanceId).int16(m.errorCode).tags(flex));
    w.tags(flex);
  },
}))();
