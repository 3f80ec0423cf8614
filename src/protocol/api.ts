/**
 * The shape every Kafka API file exports, and the API keys kafkasm speaks. Each API encodes and decodes
 * both directions: the client's half (`Api`: encodeRequest/decodeResponse) and, in a separate
 * `<Name>Server` export (`ServerApi`: also decodeRequest/encodeResponse), the broker's half used by
 * the in-process fake broker, the proxy's gate and the tests. Object methods cannot be tree-shaken,
 * so the broker's half is a separate object, built by an IIFE marked `@__PURE__` so that bundles
 * which never use it drop it.
 */
import type { Reader, Writer } from "./wire.ts";

/** A version range as a broker advertises it in ApiVersions. */
export interface VersionRange {
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface Api<Req, Res> extends VersionRange {
  /** Kafka's name for the API (e.g. "Produce"). */
  readonly name: string;
  readonly apiKey: number;
  /** First version using compact types, tagged fields and request header v2 / response header v1; -1 if none. */
  readonly firstFlexibleVersion: number;
  encodeRequest(w: Writer, version: number, request: Req): void;
  decodeResponse(r: Reader, version: number): Res;
  /** Optional upper-bound size of the encoded request body, so big requests are written without regrowth. */
  estimateRequestSize?(version: number, request: Req): number;
}

/** The broker's half of an API. */
export interface ServerHalf<Req, Res> {
  decodeRequest(r: Reader, version: number): Req;
  encodeResponse(w: Writer, version: number, response: Res): void;
}

/** An API with both halves (the fake broker, the proxy's gate, tests). */
export interface ServerApi<Req, Res> extends Api<Req, Res>, ServerHalf<Req, Res> {}

/** Kafka API keys used here, by name (for tests and tools; src/ imports api-keys.ts directly, see there). */
export * as ApiKey from "./api-keys.ts";

/** Whether `version` of `api` uses the flexible (compact, tagged-field) encoding. */
export function isFlexible(api: { firstFlexibleVersion: number }, version: number): boolean {
  return api.firstFlexibleVersion >= 0 && version >= api.firstFlexibleVersion;
}
