/**
 * The proxy's Kafka-aware request gate (sans-IO): reassembles the client's request frames and lets
 * through only allowed API keys and, when a topic allow-list is set, only allowed topics. Without
 * it, a token holder could send any Kafka request through the proxy: DeleteTopics, CreateTopics,
 * Fetch of every topic.
 *
 * Topics are enforced the way Kafka's own ACLs look to a client: a Metadata request naming a topic
 * outside the list is forwarded without it, and the broker's answer gets that topic back with
 * TOPIC_AUTHORIZATION_FAILED (29, not retriable), so the producer fails those records at once and
 * keeps producing to the allowed topics on the same connection; a Metadata answer for all topics is
 * filtered to the allowed ones (no topic enumeration). A Produce request naming such a topic (which
 * the producer never sends after that Metadata answer) closes the connection.
 */
import { KafkasmError } from "../errors.ts";
import { ApiKey, type Api } from "../protocol/api.ts";
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, FrameAccumulator, readRequestHeader } from "../protocol/frame.ts";
import { Metadata, MetadataServer, type MetadataRequest, type MetadataTopic } from "../protocol/metadata.ts";
import { Produce, ProduceServer } from "../protocol/produce.ts";
import { ZERO_UUID } from "../protocol/wire.ts";

/** What a producer needs: Produce, Metadata, ApiVersions, InitProducerId and the transaction APIs. */
export const PRODUCER_API_KEYS: readonly number[] = [
  ApiKey.Produce, ApiKey.Metadata, ApiKey.ApiVersions, ApiKey.InitProducerId,
  ApiKey.FindCoordinator, ApiKey.AddPartitionsToTxn, ApiKey.EndTxn,
];

const TOPIC_AUTHORIZATION_FAILED = 29;
/** Largest broker response the gate will hold to rewrite (a Metadata answer for a huge cluster). */
const MAX_REWRITTEN_RESPONSE = 100 * 1024 * 1024;

export type GateRefusal = { reason: "API_NOT_ALLOWED" | "TOPIC_NOT_ALLOWED" | "BAD_REQUEST" | "BAD_RESPONSE"; detail: string };

export interface GatePolicy {
  /** Allowed API keys; undefined = any. */
  apiKeys?: readonly number[];
  /** Allowed topics: exact names, or a prefix ending in "*"; undefined = any. */
  topics?: readonly string[];
  /** Largest request frame accepted (Kafka's socket.request.max.bytes is 100 MiB). */
  maxRequestBytes: number;
  /** Told about each Metadata request whose topics were (partly) refused without closing. */
  onTopicsDenied?: (detail: string) => void;
}

/** Returns a predicate for topic names from exact names and "prefix*" patterns. */
export function topicMatcher(patterns: readonly string[]): (topic: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith("*")));
  const prefixes = patterns.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));
  return (t) => exact.has(t) || prefixes.some((p) => t.startsWith(p));
}

const metadataApi = Metadata as Api<unknown, unknown>;
const produceApi = Produce as Api<unknown, unknown>;
const headerApi = (k: number) => (k === ApiKey.Metadata ? metadataApi : k === ApiKey.Produce ? produceApi : undefined);
const int32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);

/** A Metadata answer to rewrite: which topics to add as denied, and whether to filter the rest. */
interface PendingRewrite { version: number; denied: string[] }

/** One per connection: feed it the client's bytes (`push`) and the broker's (`pushResponse`). */
export class RequestGate {
  private readonly frames: FrameAccumulator;
  private readonly apiKeys: ReadonlySet<number> | undefined;
  private readonly topicAllowed: ((t: string) => boolean) | undefined;
  private readonly pending = new Map<number, PendingRewrite>();
  // Response framing (broker → client), tracked only with a topic allow-list.
  private head = new Uint8Array(8);
  private headLen = 0;
  private skip = 0;
  private capture: { rewrite: PendingRewrite; parts: Uint8Array[]; remaining: number } | undefined;
  private readonly onTopicsDenied: ((detail: string) => void) | undefined;

  constructor(policy: GatePolicy) {
    this.frames = new FrameAccumulator(policy.maxRequestBytes);
    this.apiKeys = policy.apiKeys ? new Set(policy.apiKeys) : undefined;
    this.topicAllowed = policy.topics ? topicMatcher(policy.topics) : undefined;
    this.onTopicsDenied = policy.onTopicsDenied;
  }

  /** True when broker responses must go through {@link pushResponse} (a topic allow-list is set). */
  get tracksResponses(): boolean {
    return this.topicAllowed !== undefined;
  }

  /**
   * Consumes client bytes; calls `forward(sizePrefix, frame)` for each allowed (possibly rewritten)
   * request frame, in order. Returns the first refusal (nothing after it is forwarded; close then).
   */
  push(chunk: Uint8Array, forward: (sizePrefix: Uint8Array, frame: Uint8Array) => void): GateRefusal | undefined {
    let refusal: GateRefusal | undefined;
    try {
      this.frames.push(chunk, (frame) => {
        if (refusal) return;
        const checked = this.check(frame);
        if ("reason" in checked) { refusal = checked; return; }
        const out = checked.frame;
        const prefix = new Uint8Array(4);
        new DataView(prefix.buffer).setInt32(0, out.length);
        forward(prefix, out);
      });
    } catch (e) {
      refusal ??= { reason: "BAD_REQUEST", detail: e instanceof Error ? e.message : String(e) };
    }
    return refusal;
  }

  /**
   * Consumes broker bytes; calls `forward` with what the client gets, in order: bytes passed through
   * untouched, and rewritten Metadata answers. Returns a refusal if the broker's bytes do not frame.
   */
  pushResponse(chunk: Uint8Array, forward: (bytes: Uint8Array) => void): GateRefusal | undefined {
    let i = 0;
    let passFrom = -1; // start of a pass-through region in this chunk
    const flushPass = (end: number) => {
      if (passFrom >= 0 && end > passFrom) forward(chunk.subarray(passFrom, end));
      passFrom = -1;
    };
    while (i < chunk.length) {
      if (this.capture) {
        const c = this.capture;
        const take = Math.min(c.remaining, chunk.length - i);
        c.parts.push(chunk.subarray(i, i + take));
        c.remaining -= take;
        i += take;
        if (c.remaining === 0) {
          this.capture = undefined;
          const refusal = this.rewrite(c.rewrite, c.parts, forward);
          if (refusal) return refusal;
        }
        continue;
      }
      if (this.skip > 0) {
        if (passFrom < 0) passFrom = i;
        const take = Math.min(this.skip, chunk.length - i);
        this.skip -= take;
        i += take;
        continue;
      }
      // A frame starts: hold its size and correlation id back until we know whether to rewrite it.
      flushPass(i);
      const take = Math.min(8 - this.headLen, chunk.length - i);
      this.head.set(chunk.subarray(i, i + take), this.headLen);
      this.headLen += take;
      i += take;
      if (this.headLen < 8) break;
      this.headLen = 0;
      const size = int32(this.head, 0);
      if (size < 4 || size > MAX_REWRITTEN_RESPONSE) {
        return { reason: "BAD_RESPONSE", detail: `broker response frame size ${size} is outside 4..${MAX_REWRITTEN_RESPONSE}` };
      }
      const rewrite = this.pending.get(int32(this.head, 4));
      if (rewrite) {
        this.pending.delete(int32(this.head, 4));
        this.capture = { rewrite, parts: [this.head.slice(4)], remaining: size - 4 };
        if (this.capture.remaining === 0) {
          this.capture = undefined;
          const refusal = this.rewrite(rewrite, [this.head.slice(4)], forward);
          if (refusal) return refusal;
        }
      } else {
        forward(this.head.slice());
        this.skip = size - 4;
      }
    }
    flushPass(i);
    return undefined;
  }

  private rewrite(p: PendingRewrite, parts: Uint8Array[], forward: (bytes: Uint8Array) => void): GateRefusal | undefined {
    let frame: Uint8Array;
    if (parts.length === 1) frame = parts[0];
    else {
      frame = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
      let off = 0;
      for (const x of parts) { frame.set(x, off); off += x.length; }
    }
    try {
      const res = decodeResponseFrame(Metadata, p.version, frame);
      const allowed = this.topicAllowed!;
      const topics: MetadataTopic[] = res.topics.filter((t) => t.name !== null && allowed(t.name));
      for (const name of p.denied) {
        topics.push({ errorCode: TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648 });
      }
      forward(encodeResponseFrame(MetadataServer, p.version, int32(frame, 0), { ...res, topics }));
      return undefined;
    } catch (e) {
      return { reason: "BAD_RESPONSE", detail: `cannot rewrite a Metadata v${p.version} response: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  private check(frame: Uint8Array): { frame: Uint8Array } | GateRefusal {
    if (frame.length < 8) return { reason: "BAD_REQUEST", detail: `request frame of ${frame.length} bytes is too short for a header` };
    const apiKey = (frame[0] << 8) | frame[1];
    if (this.apiKeys && !this.apiKeys.has(apiKey)) return { reason: "API_NOT_ALLOWED", detail: `API key ${apiKey} is not allowed` };
    const allowed = this.topicAllowed;
    const api = headerApi(apiKey);
    if (!allowed || !api) return { frame };
    try {
      const { header, reader } = readRequestHeader(frame, headerApi);
      const v = header.apiVersion;
      if (v < api.minVersion || v > api.maxVersion) {
        return { reason: "BAD_REQUEST", detail: `${api.name} v${v} cannot be checked against the topic allow-list (v${api.minVersion}-v${api.maxVersion} can)` };
      }
      if (api === produceApi) {
        const request = ProduceServer.decodeRequest(reader, v);
        for (const t of request.topics) {
          if (!allowed(t.name)) return { reason: "TOPIC_NOT_ALLOWED", detail: `Produce to topic ${JSON.stringify(t.name.slice(0, 200))} is not allowed` };
        }
        return { frame };
      }
      const request = MetadataServer.decodeRequest(reader, v);
      const all = request.topics === null;
      const denied = all ? [] : request.topics!.filter((t) => !allowed(t));
      if (v === 0 && denied.length > 0) {
        // v0 cannot ask for "no topics" (empty means all), so it cannot be rewritten.
        return { reason: "TOPIC_NOT_ALLOWED", detail: `Metadata v0 for topic ${JSON.stringify(denied[0].slice(0, 200))} is not allowed` };
      }
      if (!all && denied.length === 0 && !(v === 0 && request.topics!.length === 0)) return { frame };
      this.pending.set(header.correlationId, { version: v, denied });
      if (denied.length === 0) return { frame }; // all topics: the answer is filtered
      this.onTopicsDenied?.(`Metadata for topic${denied.length > 1 ? "s" : ""} ${denied.slice(0, 5).map((t) => JSON.stringify(t.slice(0, 200))).join(", ")} answered with TOPIC_AUTHORIZATION_FAILED`);
      const rewritten: MetadataRequest = { ...request, topics: request.topics!.filter((t) => allowed(t)) };
      return { frame: encodeRequestFrame(Metadata, v, header.correlationId, header.clientId, rewritten).subarray(4) };
    } catch (e) {
      return { reason: "BAD_REQUEST", detail: e instanceof KafkasmError ? e.message : String(e) };
    }
  }
}
