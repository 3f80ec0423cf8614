/**
 * Kafka framing: every request and response is an int32 size followed by that many bytes. Requests
 * carry header v1 (api_key, api_version, correlation_id, client_id) or, for flexible versions, v2
 * (the same plus a tagged-fields section; client_id stays a non-compact NULLABLE_STRING). Responses
 * carry header v0 (correlation_id) or v1 (plus tagged fields) — except ApiVersions, whose response
 * header is always v0 so a client can read it whatever version the broker answered with.
 */
import { ClientError } from "../errors.ts";
import { type Api, ApiKey, isFlexible, type ServerApi, type VersionRange } from "./api.ts";
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
 * Reassembles size-prefixed frames from arbitrarily chunked bytes (sans-IO). Each complete frame is
 * handed to `onFrame` without its size prefix; a size over `maxFrameBytes` or negative is a PROTOCOL_ERROR.
 */
export class FrameAccumulator {
  // Chunks of an incomplete frame are kept as a list and joined once, so a large frame arriving in
  // many small chunks is copied once, not once per chunk.
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private frameSize = -1;
  private readonly maxFrameBytes: number;

  constructor(maxFrameBytes = 100 * 1024 * 1024) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes buffered that do not yet form a complete frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) return;
        const head = this.take(4);
        const size = (head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3];
        if (size < 0 || size > this.maxFrameBytes) {
          throw new ClientError("PROTOCOL_ERROR", `Cannot read frame: size ${size} is outside 0..${this.maxFrameBytes}`);
        }
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) return;
      const frame = this.take(this.frameSize);
      this.frameSize = -1;
      onFrame(frame);
    }
  }

  // Removes n bytes from the front: a view when they lie in one chunk, else one joined copy.
  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - off);
        out.set(c.subarray(0, k), off);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
