/**
 * The proxy's Kafka-aware request gate (sans-IO): reassembles the client's request frames and lets
 * through only allowed API keys and, when a topic allow-list is set, only Produce and Metadata
 * requests naming allowed topics. Without it, a token holder could send any Kafka request through
 * the proxy: DeleteTopics, CreateTopics, Fetch of every topic.
 */
import { KafkasmError } from "../errors.ts";
import { ApiKey, type Api } from "../protocol/api.ts";
import { FrameAccumulator, readRequestHeader } from "../protocol/frame.ts";
import { Metadata } from "../protocol/metadata.ts";
import { Produce } from "../protocol/produce.ts";

/** What a producer needs: Produce, Metadata, ApiVersions, InitProducerId and the transaction APIs. */
export const PRODUCER_API_KEYS: readonly number[] = [
  ApiKey.Produce, ApiKey.Metadata, ApiKey.ApiVersions, ApiKey.InitProducerId,
  ApiKey.FindCoordinator, ApiKey.AddPartitionsToTxn, ApiKey.EndTxn,
];

export type GateRefusal = { reason: "API_NOT_ALLOWED" | "TOPIC_NOT_ALLOWED" | "BAD_REQUEST"; detail: string };

export interface GatePolicy {
  /** Allowed API keys; undefined = any. */
  apiKeys?: readonly number[];
  /** Allowed topics: exact names, or a prefix ending in "*"; undefined = any. */
  topics?: readonly string[];
  /** Largest request frame accepted (Kafka's socket.request.max.bytes is 100 MiB). */
  maxRequestBytes: number;
}

const DECODERS: Record<number, Api<unknown, unknown>> = {
  [ApiKey.Produce]: Produce as Api<unknown, unknown>,
  [ApiKey.Metadata]: Metadata as Api<unknown, unknown>,
};

/** Returns a predicate for topic names from exact names and "prefix*" patterns. */
export function topicMatcher(patterns: readonly string[]): (topic: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith("*")));
  const prefixes = patterns.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));
  return (t) => exact.has(t) || prefixes.some((p) => t.startsWith(p));
}

/** One per connection: feed it the client's bytes, it forwards whole allowed frames. */
export class RequestGate {
  private readonly frames: FrameAccumulator;
  private readonly apiKeys: ReadonlySet<number> | undefined;
  private readonly topicAllowed: ((t: string) => boolean) | undefined;

  constructor(policy: GatePolicy) {
    this.frames = new FrameAccumulator(policy.maxRequestBytes);
    this.apiKeys = policy.apiKeys ? new Set(policy.apiKeys) : undefined;
    this.topicAllowed = policy.topics ? topicMatcher(policy.topics) : undefined;
  }

  /**
   * Consumes `chunk`; calls `forward(sizePrefix, frame)` for each complete allowed frame, in order.
   * Returns the first refusal (nothing after it is forwarded; the connection must be closed).
   */
  push(chunk: Uint8Array, forward: (sizePrefix: Uint8Array, frame: Uint8Array) => void): GateRefusal | undefined {
    let refusal: GateRefusal | undefined;
    try {
      this.frames.push(chunk, (frame) => {
        if (refusal) return;
        refusal = this.check(frame);
        if (refusal) return;
        const prefix = new Uint8Array(4);
        new DataView(prefix.buffer).setInt32(0, frame.length);
        forward(prefix, frame);
      });
    } catch (e) {
      refusal ??= { reason: "BAD_REQUEST", detail: e instanceof Error ? e.message : String(e) };
    }
    return refusal;
  }

  private check(frame: Uint8Array): GateRefusal | undefined {
    if (frame.length < 8) return { reason: "BAD_REQUEST", detail: `request frame of ${frame.length} bytes is too short for a header` };
    const apiKey = (frame[0] << 8) | frame[1];
    if (this.apiKeys && !this.apiKeys.has(apiKey)) return { reason: "API_NOT_ALLOWED", detail: `API key ${apiKey} is not allowed` };
    if (!this.topicAllowed) return undefined;
    const api = DECODERS[apiKey];
    if (!api) return undefined;
    try {
      const { header, reader } = readRequestHeader(frame, (k) => DECODERS[k]);
      if (header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) {
        return { reason: "BAD_REQUEST", detail: `${api.name} v${header.apiVersion} cannot be checked against the topic allow-list (v${api.minVersion}-v${api.maxVersion} can)` };
      }
      const request = api.decodeRequest(reader, header.apiVersion) as { topics: ({ name: string } | string)[] | null };
      if (request.topics === null) return { reason: "TOPIC_NOT_ALLOWED", detail: `${api.name} for all topics is not allowed with a topic allow-list` };
      for (const t of request.topics) {
        const name = typeof t === "string" ? t : t.name;
        if (!this.topicAllowed(name)) return { reason: "TOPIC_NOT_ALLOWED", detail: `${api.name} to topic ${JSON.stringify(name.slice(0, 200))} is not allowed` };
      }
    } catch (e) {
      return { reason: "BAD_REQUEST", detail: e instanceof KafkasmError ? e.message : String(e) };
    }
    return undefined;
  }
}
