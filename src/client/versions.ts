/**
 * ApiVersions negotiation: right after connecting, ask at FIRST_API_VERSIONS_VERSION, or at the version
 * the cluster's last connection settled on (or at the version the broker says it supports: a broker
 * that does not know ours answers UNSUPPORTED_VERSION with its own range, and some answer a body that
 * fits no version, so we fall back to v0); then each API is used at the highest version both sides support.
 */
import { ClientError, kafkaErrorFor } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import { ApiVersions, apiVersionsMap } from "../protocol/api-versions.ts";
import type { Api } from "../protocol/api.ts";
import { negotiateVersion } from "../protocol/frame.ts";
import type { Connection } from "./connection.ts";

/**
 * v3, not our highest (v4): v4 changes only how features are listed (KAFKA-17011), which we do not read,
 * and brokers before Kafka 3.9 answer v4 with UNSUPPORTED_VERSION, which cost every connection a round trip.
 */
export const FIRST_API_VERSIONS_VERSION = 3;

/** Negotiates versions, stores them on `conn.versions` and returns the ApiVersions version the broker answered. */
export async function negotiateVersions(conn: Connection, first = FIRST_API_VERSIONS_VERSION): Promise<number> {
  let version = first;
  for (let attempt = 0; attempt < 3; attempt++) {
    let res;
    try {
      res = await conn.request(ApiVersions, version, { clientSoftwareName: "kafkasm", clientSoftwareVersion: "0.1.0" });
    } catch (e) {
      // Some brokers answer a too-new ApiVersions with a body that fits no version (librdkafka's
      // mock does): fall back to v0, which every broker answers plainly.
      if (version > 0 && e instanceof ClientError && e.code === "PROTOCOL_ERROR" && !conn.isClosed) {
        version = 0;
        continue;
      }
      throw e;
    }
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      const theirs = res.apiKeys.find((k) => k.apiKey === ApiVersions.apiKey);
      const next = theirs ? Math.min(ApiVersions.maxVersion, theirs.maxVersion) : 0;
      version = next < version ? next : 0;
      continue;
    }
    if (res.errorCode !== ErrorCode.NONE) throw kafkaErrorFor(res.errorCode, `ApiVersions to ${conn.address.host}:${conn.address.port}`);
    conn.versions = apiVersionsMap(res);
    return version;
  }
  throw new ClientError("UNSUPPORTED_VERSION", `Cannot negotiate ApiVersions with ${conn.address.host}:${conn.address.port}`);
}

/** The version of `api` to use on `conn` (highest common). Throws UNSUPPORTED_VERSION. */
export function versionFor(conn: Connection, api: Api<any, any>): number {
  return negotiateVersion(api, conn.versions?.get(api.apiKey));
}
