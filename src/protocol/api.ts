/**
 * The shape every Kafka API file exports, and the API keys kafkasm speaks. Each API encodes and decodes
 * both directions: the client uses encodeRequest/decodeResponse, the in-process fake broker and the
 * tests use decodeRequest/encodeResponse.
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
  decodeRequest(r: Reader, version: number): Req;
  encodeResponse(w: Writer, version: number, response: Res): void;
  /** Optional upper-bound size of the encoded request body, so big requests are written without regrowth. */
  estimateRequestSize?(version: number, request: Req): number;
}

/** Kafka API keys used here. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  FindCoordinator: 10,
  ApiVersions: 18,
  InitProducerId: 22,
  AddPartitionsToTxn: 24,
  EndTxn: 26,
} as const;

/** Whether `version` of `api` uses the flexible (compact, tagged-field) encoding. */
export function isFlexible(api: { firstFlexibleVersion: number }, version: number): boolean {
  return api.firstFlexibleVersion >= 0 && version >= api.firstFlexibleVersion;
}
