/**
 * Kafka framing: every request and response is an int32 size followed by that many bytes. Requests
 * carry header v1 (api_key, api_version, correlation_id, client_id) or, for flexible versions, v2
 * (the same plus a tagged-fields section; client_id stays a non-compact NULLABLE_STRING). Responses
 * carry header v0 (correlation_id) or v1 (plus tagged fields) — except ApiVersions, whose response
 * header is always v0 so a client can read it whatever version the broker answered with.
 */
import { ClientError } from "../errors.ts";
import { type Api, isFlexible, type ServerApi, type VersionRange } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import { Reader, Writer } from "./wire.ts";

function checkVersion(api: Api<unknown, unknown>, version: number): void {
  if (!Number.isInteger(version) || version < api.minVersion || version > api.maxVersion) {
    throw new ClientError("UNSUPPORTED_VERSION",
      `Cannot encode ${api.name} v${version}: kafkasm supports ${api.name} v${api.minVersion}-v${api.maxVersion}`);
  }
}

/** Whether the response of `api` at `version` has response header v1 (tagged fields). */
export function responseHeaderHasTags(api: Api<unknown, unknown>, version: number): boolean {
  return api.apiKey !== ApiKey.ApiVersions && isFlexible(api, version);
}

/** Encodes a complete request frame: int32 size + request header v1/v2 + body. */
export function encodeRequestFrame<Req>(api: Api<Req, unknown>, version: number, correlationId: number,
  clientId: string | null, request: Req): Uint8Array {
  checkVersion(api as Api<unknown, unknown>, version);
  const hint = api.estimateRequestSize?.(version, request) ?? 0;
  const w = new Writer(64 + (clientId?.length ?? 0) * 3 + hint);
  w.int32(0);
  w.int16(api.apiKey).int16(version).int32(correlationId).string(clientId);
  const flexible = isFlexible(api, version);
  if (flexible) w.uvarint(0);
  api.encodeRequest(w, version, request);
  w.setInt32(0, w.pos - 4);
  return w.written(); // the Writer is ours alone: a view saves copying a Produce request twice
}

/** The correlation id of a response frame (the bytes after the size prefix). */
export function readResponseCorrelationId(frame: Uint8Array): number {
  return new Reader(frame).int32("response correlation id");
}

/**
 * Decodes a response frame (without its size prefix) as `api` at `version`: skips the response header
 * and requires the body to be consumed exactly. Throws ClientError PROTOCOL_ERROR on malformed bytes.
 */
export function decodeResponseFrame<Res>(api: Api<unknown, Res>, version: number, frame: Uint8Array): Res {
  const r = new Reader(frame);
  r.int32("response correlation id");
  if (responseHeaderHasTags(api as Api<unknown, unknown>, version)) r.taggedFields(undefined, "response header tagged fields");
  const res = api.decodeResponse(r, version);
  r.expectEnd(`${api.name} v${version} response`);
  return res;
}

/** Encodes a complete response frame (int32 size + header + body); used by the fake broker and tests. */
export function encodeResponseFrame<Res>(api: ServerApi<unknown, Res>, version: number, correlationId: number, response: Res): Uint8Array {
  const w = new Writer(256);
  w.int32(0).int32(correlationId);
  if (responseHeaderHasTags(api as Api<unknown, unknown>, version)) w.uvarint(0);
  api.encodeResponse(w, version, response);
  w.setInt32(0, w.pos - 4);
  return w.finish();
}

/** A parsed request header; `reader` is positioned at the start of the body (fake broker, tests). */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/**
 * Reads a request frame's header (frame without size prefix). `apiFor` maps an api key to its Api so the
 * header's tagged fields can be skipped for flexible versions; unknown keys get only the v1 header read.
 */
export function readRequestHeader(frame: Uint8Array, apiFor: (apiKey: number) => Api<unknown, unknown> | undefined):
  { header: RequestHeader; reader: Reader } {
  const r = new Reader(frame);
  const apiKey = r.int16("request api_key");
  const apiVersion = r.int16("request api_version");
  const correlationId = r.int32("request correlation_id");
  const clientId = r.nullableString("request client_id");
  const api = apiFor(apiKey);
  if (api && isFlexible(api, apiVersion)) r.taggedFields(undefined, "request header tagged fields");
  return { header: { apiKey, apiVersion, correlationId, clientId }, reader: r };
}

/**
 * The highest version both kafkasm and the broker support. `brokerRange` is what the broker listed in
 * ApiVersions for this API (undefined: not listed). Throws ClientError UNSUPPORTED_VERSION naming both ranges.
 */
export function negotiateVersion(api: Api<unknown, unknown> | (VersionRange & { name: string }),
  brokerRange: VersionRange | undefined): number {
  if (!brokerRange) {
    throw new ClientError("UNSUPPORTED_VERSION",
      `Cannot use ${api.name}: the broker does not list it (kafkasm supports v${api.minVersion}-v${api.maxVersion})`);
  }
  const v = Math.min(api.maxVersion, brokerRange.maxVersion);
  if (v < api.minVersion || v < brokerRange.minVersion) {
    throw new ClientError("UNSUPPORTED_VERSION",
      `Cannot use ${api.name}: kafkasm supports v${api.minVersion}-v${api.maxVersion}, the broker v${brokerRange.minVersion}-v${brokerRange.maxVersion}`);
  }
  return v;
}

/**
 * The one size-prefixed frame reader (sans-IO): broker connections, the proxy gate, the fake broker.
 * Each complete frame goes to `onFrame` without its size prefix: a view into the chunk when the whole
 * frame lies in it (no copy), else a buffer that grows as bytes arrive (64 KiB, doubling), never to
 * the size a peer claims up front. A size outside 0..`maxFrameBytes` throws a retriable
 * PROTOCOL_ERROR, after which the stream is out of sync: drop the reader and its connection.
 */
export class FrameReader {
  #header = new Uint8Array(4);
  #headerFill = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #bodySize = 0;
  #max: number;

  constructor(maxFrameBytes = 100 * 1024 * 1024) {
    this.#max = maxFrameBytes;
  }

  /** Feeds one chunk; stops early when `onFrame` returns `true` (e.g. its connection closed). */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => unknown): void {
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.#body === undefined) {
        let size: number;
        if (this.#headerFill === 0 && n - off >= 4) {
          size = this.#check((chunk[off] << 24) | (chunk[off + 1] << 16) | (chunk[off + 2] << 8) | chunk[off + 3]);
          off += 4;
          if (n - off >= size) {
            // Whole frame in this chunk: no copy.
            off += size;
            if (onFrame(chunk.subarray(off - size, off)) === true) return;
            continue;
          }
        } else {
          const take = Math.min(4 - this.#headerFill, n - off);
          const h = this.#header;
          h.set(chunk.subarray(off, off + take), this.#headerFill);
          this.#headerFill += take;
          off += take;
          if (this.#headerFill < 4) return;
          this.#headerFill = 0;
          size = this.#check((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]);
        }
        this.#bodySize = size;
        this.#body = new Uint8Array(Math.min(size, 65536));
        this.#bodyFill = 0;
      }
      let body = this.#body;
      const fill = this.#bodyFill;
      const take = Math.min(this.#bodySize - fill, n - off);
      if (fill + take > body.length) {
        body = new Uint8Array(Math.min(this.#bodySize, Math.max(fill + take, body.length * 2)));
        body.set(this.#body.subarray(0, fill));
        this.#body = body;
      }
      body.set(chunk.subarray(off, off + take), fill);
      this.#bodyFill = fill + take;
      off += take;
      if (this.#bodyFill === this.#bodySize) {
        this.#body = undefined;
        if (onFrame(body) === true) return;
      }
    }
  }

  #check(size: number): number {
    if (size < 0 || size > this.#max) {
      throw new ClientError("PROTOCOL_ERROR", `Cannot read frame: size ${size} is outside 0..${this.#max}`, { retriable: true });
    }
    return size;
  }
}

/** The frame reader under its earlier name (the proxy gate and the test brokers use it). */
export { FrameReader as FrameAccumulator };
