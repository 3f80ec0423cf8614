/**
 * FindCoordinator (key 10): which broker coordinates a transactional id (or consumer group).
 *
 * | version | change |
 * |---|---|
 * | v0 | key → error_code, node_id, host, port |
 * | v1 | + key_type (0 group, 1 transaction); response + throttle_time_ms, error_message |
 * | v2 | same as v1 |
 * | v3 | flexible |
 * | v4 | batched: coordinator_keys []string; response coordinators [key, node_id, host, port, error_code, error_message] (KIP-699) |
 * | v5 | same as v4 (TRANSACTION_ABORTABLE possible) |
 * | v6 | key_type 2 = share group (KIP-932) |
 *
 * The request always takes `keys`; v0-v3 send exactly one. Responses always come back as `coordinators`
 * (v0-v3: one entry, whose `key` is "" because those versions do not echo it).
 */
import { ClientError } from "../errors.ts";
import type { Api, ServerApi } from "./api.ts";
import type { Reader, Writer } from "./wire.ts";

export const COORDINATOR_GROUP = 0;
export const COORDINATOR_TRANSACTION = 1;

export interface FindCoordinatorRequest {
  /** 0 group, 1 transaction (v1+). */
  keyType: number;
  keys: string[];
}

export interface Coordinator {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

export interface FindCoordinatorResponse {
  throttleTimeMs: number;
  coordinators: Coordinator[];
}

export const FindCoordinator: Api<FindCoordinatorRequest, FindCoordinatorResponse> = {
  name: "FindCoordinator",
  apiKey: 10, // ApiKey.FindCoordinator: a literal, so this file imports nothing at run time (see transactions.ts)
  minVersion: 0,
  maxVersion: 6,
  firstFlexibleVersion: 3,

  encodeRequest(w: Writer, v: number, req: FindCoordinatorRequest): void {
    const flex = v >= 3;
    if (v < 4) {
      if (req.keys.length !== 1) throw new ClientError("INVALID_CONFIG", `Cannot encode FindCoordinator v${v}: it takes exactly one key, got ${req.keys.length}`);
      w.str(flex, req.keys[0]);
      if (v >= 1) w.int8(req.keyType);
    } else {
      w.int8(req.keyType).array(true, req.keys, (w, k) => w.compactString(k));
    }
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): FindCoordinatorResponse {
    const flex = v >= 3;
    const throttleTimeMs = v >= 1 ? r.int32("throttle_time_ms") : 0;
    let coordinators: Coordinator[];
    if (v < 4) {
      const errorCode = r.int16("error_code");
      const errorMessage = v >= 1 ? r.nullableStr(flex, "error_message") : null;
      coordinators = [{ key: "", nodeId: r.int32("node_id"), host: r.str(flex, "host"), port: r.int32("port"), errorCode, errorMessage }];
    } else {
      coordinators = r.array(true, (r) => {
        const c = { key: r.compactString("key"), nodeId: r.int32("node_id"), host: r.compactString("host"), port: r.int32("port"),
          errorCode: r.int16("error_code"), errorMessage: r.compactNullableString("error_message") };
        r.tags(true);
        return c;
      }, "coordinators", 13);
    }
    r.tags(flex);
    return { throttleTimeMs, coordinators };
  },
};

/** FindCoordinator with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const FindCoordinatorServer: ServerApi<FindCoordinatorRequest, FindCoordinatorResponse> = /* @__PURE__ */ (() => ({
  ...FindCoordinator,
  decodeRequest(r: Reader, v: number): FindCoordinatorRequest {
    const flex = v >= 3;
    let req: FindCoordinatorRequest;
    if (v < 4) {
      const key = r.str(flex, "key");
      req = { keyType: v >= 1 ? r.int8("key_type") : 0, keys: [key] };
    } else {
      const keyType = r.int8("key_type");
      req = { keyType, keys: r.array(true, (r) => r.compactString("coordinator key"), "coordinator_keys") };
    }
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: FindCoordinatorResponse): void {
    const flex = v >= 3;
    if (v >= 1) w.int32(res.throttleTimeMs);
    if (v < 4) {
      const c = res.coordinators[0] ?? { nodeId: -1, host: "", port: -1, errorCode: 15, errorMessage: null };
      w.int16(c.errorCode);
      if (v >= 1) w.str(flex, c.errorMessage);
      w.int32(c.nodeId).str(flex, c.host).int32(c.port);
    } else {
      w.array(true, res.coordinators, (w, c) => {
        w.compactString(c.key).int32(c.nodeId).compactString(c.host).int32(c.port).int16(c.errorCode).compactString(c.errorMessage).uvarint(0);
      });
    }
    w.tags(flex);
  },
}))();
