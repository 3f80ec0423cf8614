/**
 * JoinGroup (key 11): join (or rejoin) a group; the coordinator picks a protocol every member supports and
 * a leader, and hands the leader every member's protocol metadata (ConsumerProtocolSubscription bytes).
 *
 * | version | change |
 * |---|---|
 * | v0 | group_id, session_timeout_ms, member_id, protocol_type, protocols [name, metadata] → error_code, generation_id, protocol_name, leader, member_id, members [member_id, metadata] |
 * | v1 | + rebalance_timeout_ms (Kafka 4.x's minimum is v2, KIP-896) |
 * | v2 | response + throttle_time_ms |
 * | v3 | same as v2 |
 * | v4 | a new member is answered MEMBER_ID_REQUIRED with its member_id and must rejoin with it (KIP-394) |
 * | v5 | + group_instance_id (static membership, KIP-345); response members + group_instance_id |
 * | v6 | flexible |
 * | v7 | response + protocol_type; protocol_name nullable (KIP-559) |
 * | v8 | + reason (KIP-800) |
 * | v9 | response + skip_assignment: a static leader rejoining gets its old assignment and must not reassign (KIP-814) |
 */
import { ClientError } from "../errors.ts";
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import type { Reader, Writer } from "./wire.ts";

export interface JoinGroupProtocol {
  /** The assignor's name, e.g. "range". */
  name: string;
  /** ConsumerProtocolSubscription bytes for protocol type "consumer". */
  metadata: Uint8Array;
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** v1+; v0 brokers use sessionTimeoutMs for both. */
  rebalanceTimeoutMs: number;
  /** "" on the first join. */
  memberId: string;
  /** v5+: static membership (KIP-345); null for a dynamic member. */
  groupInstanceId?: string | null;
  /** "consumer" for consumers. */
  protocolType: string;
  protocols: JoinGroupProtocol[];
  /** v8+ (KIP-800). */
  reason?: string | null;
}

export interface JoinGroupMember {
  memberId: string;
  /** v5+; null before. */
  groupInstanceId: string | null;
  metadata: Uint8Array;
}

export interface JoinGroupResponse {
  /** v2+; 0 before. */
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  /** v7+; null before. */
  protocolType: string | null;
  /** Null only from v7. */
  protocolName: string | null;
  leader: string;
  /** v9+; false before. */
  skipAssignment: boolean;
  memberId: string;
  /** Every member's metadata: filled for the leader only. */
  members: JoinGroupMember[];
}

export const JoinGroup: Api<JoinGroupRequest, JoinGroupResponse> = {
  name: "JoinGroup",
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  firstFlexibleVersion: 6,

  encodeRequest(w: Writer, v: number, req: JoinGroupRequest): void {
    const flex = v >= 6;
    w.str(flex, req.groupId).int32(req.sessionTimeoutMs);
    if (v >= 1) w.int32(req.rebalanceTimeoutMs);
    w.str(flex, req.memberId);
    if (v >= 5) w.str(flex, req.groupInstanceId ?? null);
    w.str(flex, req.protocolType).array(flex, req.protocols, (w, p) => w.str(flex, p.name).byteArray(flex, p.metadata).tags(flex));
    if (v >= 8) w.str(flex, req.reason ?? null);
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): JoinGroupResponse {
    const flex = v >= 6;
    const res: JoinGroupResponse = {
      throttleTimeMs: v >= 2 ? r.int32("throttle_time_ms") : 0,
      errorCode: r.int16("error_code"),
      generationId: r.int32("generation_id"),
      protocolType: v >= 7 ? r.nullableStr(flex, "protocol_type") : null,
      protocolName: v >= 7 ? r.nullableStr(flex, "protocol_name") : r.str(flex, "protocol_name"),
      leader: r.str(flex, "leader"),
      skipAssignment: v >= 9 ? r.bool("skip_assignment") : false,
      memberId: r.str(flex, "member_id"),
      members: [],
    };
    res.members = r.array(flex, (r) => {
      const m = { memberId: r.str(flex, "member_id"), groupInstanceId: v >= 5 ? r.nullableStr(flex, "group_instance_id") : null,
        metadata: requiredBytes(r, flex, "metadata") };
      r.tags(flex);
      return m;
    }, "members", flex ? 4 : 6);
    r.tags(flex);
    return res;
  },
};

/** BYTES / COMPACT_BYTES that must not be null: a null is a PROTOCOL_ERROR, as a null STRING is. */
export function requiredBytes(r: Reader, flexible: boolean, what: string): Uint8Array {
  const b = r.nullableByteArray(flexible, what);
  if (b === null) throw new ClientError("PROTOCOL_ERROR", `Cannot read ${what}: null where bytes are required`);
  return b;
}

/** JoinGroup with the broker's half (fake broker, tests); a pure IIFE, so client bundles drop it. */
export const JoinGroupServer: ServerApi<JoinGroupRequest, JoinGroupResponse> = /* @__PURE__ */ (() => ({
  ...JoinGroup,
  decodeRequest(r: Reader, v: number): JoinGroupRequest {
    const flex = v >= 6;
    const groupId = r.str(flex, "group_id");
    const sessionTimeoutMs = r.int32("session_timeout_ms");
    const req: JoinGroupRequest = {
      groupId, sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? r.int32("rebalance_timeout_ms") : sessionTimeoutMs,
      memberId: r.str(flex, "member_id"),
      groupInstanceId: v >= 5 ? r.nullableStr(flex, "group_instance_id") : null,
      protocolType: r.str(flex, "protocol_type"),
      protocols: r.array(flex, (r) => {
        const p = { name: r.str(flex, "protocol name"), metadata: requiredBytes(r, flex, "protocol metadata") };
        r.tags(flex);
        return p;
      }, "protocols", flex ? 3 : 6),
    };
    if (v >= 8) req.reason = r.nullableStr(flex, "reason");
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: JoinGroupResponse): void {
    const flex = v >= 6;
    if (v >= 2) w.int32(res.throttleTimeMs);
    w.int16(res.errorCode).int32(res.generationId);
    if (v >= 7) w.str(flex, res.protocolType);
    w.str(flex, v >= 7 ? res.protocolName : res.protocolName ?? "").str(flex, res.leader);
    if (v >= 9) w.bool(res.skipAssignment);
    w.str(flex, res.memberId).array(flex, res.members, (w, m) => {
      w.str(flex, m.memberId);
      if (v >= 5) w.str(flex, m.groupInstanceId);
      w.byteArray(flex, m.metadata).tags(flex);
    }).tags(flex);
  },
}))();
