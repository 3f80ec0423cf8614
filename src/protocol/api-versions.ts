/**
 * ApiVersions (key 18): which versions of each API the broker supports.
 *
 * | version | change |
 * |---|---|
 * | v0 | error_code, api_keys [api_key, min_version, max_version] |
 * | v1 | + throttle_time_ms |
 * | v2 | same as v1 (throttling before responding) |
 * | v3 | flexible; request + client_software_name/version; response tagged: 0 supported_features, 1 finalized_features_epoch, 2 finalized_features, 3 zk_migration_ready |
 * | v4 | same as v3 (KAFKA-17011: supported feature min_version may be 0) |
 *
 * The response header is always v0 (no tagged fields), whatever the version. A broker that does not
 * support the requested version answers error_code UNSUPPORTED_VERSION (35) with a **v0 body** listing
 * its ApiVersions range (KIP-511); the decoder reads that body, so the caller sees `errorCode` 35 and
 * retries at `min(ours, theirs)` from `apiKeys`, or at v0 when `apiKeys` is empty (the body was not
 * a valid v0 body, as from librdkafka's mock cluster).
 */
import { type Api, type ServerApi, type VersionRange } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import { type Reader, type UnknownTaggedField, type Writer, writeTaggedFields } from "./wire.ts";

export interface ApiVersionsRequest {
  /** v3+: e.g. "kafkasm" (Kafka requires [a-zA-Z0-9.-]). */
  clientSoftwareName?: string;
  clientSoftwareVersion?: string;
}

export interface ApiVersionRange extends VersionRange {
  readonly apiKey: number;
}

export interface FeatureRange {
  name: string;
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: ApiVersionRange[];
  throttleTimeMs: number;
  /** v3+ tagged fields (empty / -1 / false when absent). */
  supportedFeatures: FeatureRange[];
  finalizedFeaturesEpoch: number;
  finalizedFeatures: { name: string; maxVersionLevel: number; minVersionLevel: number }[];
  zkMigrationReady: boolean;
  unknownTaggedFields?: UnknownTaggedField[];
}

const UNSUPPORTED_VERSION = 35;

function readApiKeys(r: Reader, flexible: boolean): ApiVersionRange[] {
  return r.array(flexible, (r) => {
    const range = { apiKey: r.int16("api_key"), minVersion: r.int16("min_version"), maxVersion: r.int16("max_version") };
    r.tags(flexible);
    return range;
  }, "api_keys", 6);
}

export const ApiVersions: Api<ApiVersionsRequest, ApiVersionsResponse> = {
  name: "ApiVersions",
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 3,

  encodeRequest(w: Writer, version: number, req: ApiVersionsRequest): void {
    if (version >= 3) {
      w.compactString(req.clientSoftwareName ?? "kafkasm").compactString(req.clientSoftwareVersion ?? "0.0.0").uvarint(0);
    }
  },

  decodeResponse(r: Reader, version: number): ApiVersionsResponse {
    const errorCode = r.int16("error_code");
    const res: ApiVersionsResponse = {
      errorCode, apiKeys: [], throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1,
      finalizedFeatures: [], zkMigrationReady: false,
    };
    const flexible = version >= 3;
    if (flexible && errorCode === UNSUPPORTED_VERSION) {
      // Kafka sends a v0 body here. The error is decisive and the body only a hint, so a body that is
      // not a valid v0 one (librdkafka's mock writes an int8 count) yields no ranges and the caller
      // retries at v0, rather than failing the connection. Checked, not caught: a thrown error's stack
      // costs a cold client milliseconds.
      const left = r.end - r.pos;
      const count = left >= 4 ? r.int32("api_keys length") : -1;
      if (count >= 0 && left === 4 + 6 * count) {
        r.pos -= 4;
        res.apiKeys = readApiKeys(r, false);
      }
      r.pos = r.end;
      return res;
    }
    res.apiKeys = readApiKeys(r, flexible);
    if (version >= 1) res.throttleTimeMs = r.int32("throttle_time_ms");
    if (flexible) {
      const unknown = r.taggedFields((tag, t) => {
        switch (tag) {
          case 0:
            res.supportedFeatures = t.array(true, (t) => {
              const f = { name: t.compactString("supported feature name"), minVersion: t.int16("min_version"), maxVersion: t.int16("max_version") };
              t.tags(true);
              return f;
            }, "supported_features", 6);
            return true;
          case 1:
            res.finalizedFeaturesEpoch = t.int64("finalized_features_epoch");
            return true;
          case 2:
            res.finalizedFeatures = t.array(true, (t) => {
              const f = { name: t.compactString("finalized feature name"), maxVersionLevel: t.int16("max_version_level"), minVersionLevel: t.int16("min_version_level") };
              t.tags(true);
              return f;
            }, "finalized_features", 6);
            return true;
          case 3:
            res.zkMigrationReady = t.bool("zk_migration_ready");
            return true;
          default:
            return false;
        }
      }, "ApiVersions response tagged fields");
      if (unknown) res.unknownTaggedFields = unknown;
    }
    return res;
  },
};

/** ApiVersions with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const ApiVersionsServer: ServerApi<ApiVersionsRequest, ApiVersionsResponse> = /* @__PURE__ */ (() => ({
  ...ApiVersions,
  decodeRequest(r: Reader, version: number): ApiVersionsRequest {
    if (version < 3) return {};
    const req = { clientSoftwareName: r.compactString("client_software_name"), clientSoftwareVersion: r.compactString("client_software_version") };
    r.tags(true);
    return req;
  },

  encodeResponse(w: Writer, version: number, res: ApiVersionsResponse): void {
    const flexible = version >= 3 && res.errorCode !== UNSUPPORTED_VERSION;
    w.int16(res.errorCode);
    w.array(flexible, res.apiKeys, (w, k) => {
      w.int16(k.apiKey).int16(k.minVersion).int16(k.maxVersion).tags(flexible);
    });
    if (version >= 3 && !flexible) return; // v0 fallback body
    if (version >= 1) w.int32(res.throttleTimeMs);
    if (flexible) {
      writeTaggedFields(w, [
        res.supportedFeatures.length > 0 ? [0, (t) => t.array(true, res.supportedFeatures, (t, f) => {
          t.compactString(f.name).int16(f.minVersion).int16(f.maxVersion).uvarint(0);
        })] : undefined,
        res.finalizedFeaturesEpoch !== -1 ? [1, (t) => t.int64(res.finalizedFeaturesEpoch)] : undefined,
        res.finalizedFeatures.length > 0 ? [2, (t) => t.array(true, res.finalizedFeatures, (t, f) => {
          t.compactString(f.name).int16(f.maxVersionLevel).int16(f.minVersionLevel).uvarint(0);
        })] : undefined,
        res.zkMigrationReady ? [3, (t) => t.bool(true)] : undefined,
      ], res.unknownTaggedFields);
    }
  },
}))();

/** The response's api_keys as a map from api key to range, for negotiateVersion. */
export function apiVersionsMap(res: ApiVersionsResponse): Map<number, VersionRange> {
  const m = new Map<number, VersionRange>();
  for (const k of res.apiKeys) m.set(k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion });
  return m;
}
