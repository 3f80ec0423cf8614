/**
 * Producer options: one defaults object, one `resolveConfig()` that validates every option and the
 * invariants between them, and throws `ClientError("INVALID_CONFIG")` naming the option and why.
 */
import { parseHostPort } from "../client/address.ts";
import { ClientError } from "../errors.ts";
import type { CompressionName } from "../compression/codec.ts";
import type { BrokerAddress, Transport } from "../transport/transport.ts";
import type { TlsOptions } from "../transport/tls.ts";
import type { SaslConfig } from "../client/sasl/index.ts";
import type { Clock } from "../client/clock.ts";
import type { KafkasmError } from "../errors.ts";
import type { Serializer } from "./serializers.ts";
import type { ProducerHooks } from "./hooks.ts";

/** `0`: no broker response at all; `1`: the leader wrote it; `"all"` (or `-1`): every in-sync replica did. */
export type Acks = 0 | 1 | -1 | "all";

/**
 * Chooses a partition for a record without an explicit `partition`. Gets the serialized key
 * (`string` keys are UTF-8 text), the topic's partition count, and the record as given. Must return
 * an integer in [0, partitionCount).
 */
export type PartitionerFunction = (
  topic: string, key: Uint8Array | string | null, partitionCount: number, record: ProducerRecord<unknown, unknown>,
) => number;

/** A record to produce. */
export interface ProducerRecord<K = string | Uint8Array, V = string | Uint8Array> {
  topic: string;
  /** Serialized by `valueSerializer`; `null` is a tombstone. */
  value: V | null;
  /** Serialized by `keySerializer`; keyed records go to the partition the Java client would choose. */
  key?: K | null;
  /** Record headers; `string` values are UTF-8. */
  headers?: Record<string, string | Uint8Array | null>;
  /** Explicit partition: wins over the partitioner. */
  partition?: number;
  /** CreateTime in ms since the epoch; defaults to the time of `send`. */
  timestamp?: number;
}

/** Where a record landed. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1 when unknown (acks 0, or a duplicate the broker reports without one). */
  offset: number;
  /** The CreateTime sent, or the broker's LogAppendTime when the topic uses it. */
  timestamp: number;
}

/** Options of `new Producer(options)`, in Kafka's words. Every default is given on the option. */
export interface ProducerOptions<K = string | Uint8Array, V = string | Uint8Array> {
  /** Bootstrap brokers as `"host:port"` strings. Required. */
  brokers: string[];
  /** `client.id` sent in every request header. @default "kafkasm" */
  clientId?: string;
  /** Acknowledgements the leader waits for. `0` sends no response at all (offsets are -1). @default "all" */
  acks?: Acks;
  /**
   * Idempotent producer (ProducerId, epoch, per-partition sequences): no duplicates and no
   * reordering on retry. Requires `acks: "all"` and `maxInFlight` ≤ 5. @default true, unless
   * `acks` other than "all" or `maxInFlight` > 5 is given explicitly, in which case false (as in Java).
   */
  idempotent?: boolean;
  /** How long a partition's batch may wait for more records before it is sent. @default 0 */
  lingerMs?: number;
  /** Target size in bytes of one partition's batch (a larger single record gets its own batch); also
   *  how many bytes the sticky partitioner puts on one partition before switching. @default 16384 */
  batchSize?: number;
  /**
   * Produce requests in flight per broker connection. Without idempotence, a value above 1 can
   * reorder records of a partition when a batch is retried (a later batch lands first); use 1 for
   * strict order, or keep idempotence on. @default 5
   */
  maxInFlight?: number;
  /** How many times a batch is retried after a retriable error, within `deliveryTimeoutMs`. @default 2147483647 */
  retries?: number;
  /** First backoff before a retry; doubles each attempt, with ±20% jitter. @default 100 */
  retryBackoffMs?: number;
  /** Upper bound of the retry backoff. @default 1000 */
  retryBackoffMaxMs?: number;
  /** Upper bound from `send` to success or failure, retries included. Must be ≥ lingerMs + requestTimeoutMs. @default 120000 */
  deliveryTimeoutMs?: number;
  /** How long to wait for one response (also sent as the Produce timeout). @default 30000 */
  requestTimeoutMs?: number;
  /** Largest Produce request in bytes; a larger record fails at once with RECORD_TOO_LARGE. @default 1048576 */
  maxRequestSize?: number;
  /**
   * Bytes the producer may hold in unsent and unacknowledged batches; records that cannot be
   * appended yet (no metadata or codec yet, or the batches full) wait for up to `maxBlockMs`, and
   * may hold at most as many bytes again: a send that finds that full fails at once with
   * BUFFER_EXHAUSTED (for `produce()`: through `onError`). @default 33554432
   */
  bufferMemory?: number;
  /** How long `send` waits for buffer room or for a topic's metadata before failing. @default 60000 */
  maxBlockMs?: number;
  /** Metadata is refreshed at least this often even without errors. @default 300000 */
  metadataMaxAgeMs?: number;
  /**
   * `"default"`: Java-compatible murmur2 of the key, sticky for keyless records (switching after
   * `batchSize` bytes); `"roundRobin"`: every record to the next partition; or a function.
   * @default "default"
   */
  partitioner?: "default" | "roundRobin" | PartitionerFunction;
  /** Turns a key into bytes or UTF-8 text. @default serializers.auto (string or Uint8Array as is) */
  keySerializer?: Serializer<K>;
  /** Turns a value into bytes or UTF-8 text. @default serializers.auto (string or Uint8Array as is) */
  valueSerializer?: Serializer<V>;
  /**
   * Compression of each batch's records section (the codec loads on first use). A batch that does
   * not get smaller (e.g. random or encrypted values) is sent uncompressed instead, its attributes
   * saying "none", which every reader handles. @default "none"
   */
  compression?: CompressionName;
  /**
   * Threads compressing snappy and lz4 batches of 64 KiB or more and zstd batches of 16 KiB or more
   * besides the one running the producer: 1 where the runtime has workers (Node, Bun, Deno), so
   * compression runs in parallel as librdkafka's does (while 3 batches are on the thread, the next are
   * compressed inline); 0 compresses inline. Browsers and workerd always compress inline. @default 1
   */
  compressionThreads?: 0 | 1;
  /** Called with each record that finally failed and was sent with `produce()` (fire-and-forget).
   *  Never awaited. @default logs the first such failure with console.warn, unless onDeadLetter is set */
  onError?: (error: KafkasmError, record?: ProducerRecord<K, V>) => void;
  /** Called with every record that finally failed, whatever the send mode. @default undefined */
  onDeadLetter?: (record: ProducerRecord<K, V>, error: KafkasmError) => void;
  /** Typed event callbacks (connect, disconnect, request, batch sent, record failed, epoch bump); a throw is logged once, never breaks the producer. @default undefined */
  hooks?: ProducerHooks;
  /** Opens sockets. @default the runtime's native TCP (node:net in Node/Bun, Deno.connect in Deno) */
  transport?: Transport;
  /**
   * TLS to the brokers with the runtime's default transport: `true` (the runtime's trust store) or
   * `{ ca, cert, key, servername, rejectUnauthorized }` (validated by the runtime's TLS transport:
   * workerd has no client certificates, Deno no servername; the browser entry has no TLS of its own,
   * its proxy URL's `wss:` is). @default false
   */
  ssl?: boolean | TlsOptions;
  /**
   * SASL on every broker connection: `{ mechanism: "plain", username, password }`,
   * `{ mechanism: "scram-sha-256" | "scram-sha-512", username, password }`,
   * `{ mechanism: "oauthbearer", token: () => Promise<{ value, expiresAt?, extensions? }> }` or
   * `{ mechanism: "aws-msk-iam", region, credentials }`. The mechanisms load on the first connection
   * and check their settings then (a mistake fails sends at once with INVALID_CONFIG). Re-authenticates
   * before the broker's session lifetime ends (KIP-368). @default undefined (no SASL)
   */
  sasl?: SaslConfig;
  /** Rewrites the broker addresses that Metadata advertises (e.g. to reach them through a proxy). @default identity */
  brokerAddressMap?: (address: BrokerAddress) => BrokerAddress;
  /** Time source and timers; for tests. @default the runtime clock from globalThis */
  clock?: Clock;
  /**
   * Enables transactions (`initTransactions`, `beginTransaction`, `commitTransaction`,
   * `abortTransaction`); every send must then be inside a transaction. Implies idempotence.
   * @default undefined (no transactions)
   */
  transactionalId?: string;
  /** How long the coordinator lets a transaction stay open before aborting it. @default 60000 */
  transactionTimeoutMs?: number;
}

/** The validated configuration the producer runs with. */
export interface ResolvedConfig {
  brokers: BrokerAddress[];
  clientId: string;
  /** Wire value: 0, 1 or -1. */
  acks: 0 | 1 | -1;
  idempotent: boolean;
  lingerMs: number;
  batchSize: number;
  maxInFlight: number;
  retries: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  maxRequestSize: number;
  bufferMemory: number;
  maxBlockMs: number;
  metadataMaxAgeMs: number;
  partitioner: "default" | "roundRobin" | PartitionerFunction;
  compression: CompressionName;
  compressionThreads: number;
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** Checked by src/client/sasl when it loads (not here: the browser bundle would carry it). */
  sasl?: SaslConfig;
}

/** The defaults, as documented on {@link ProducerOptions}. */
export const defaults = Object.freeze({
  clientId: "kafkasm",
  acks: "all" as Acks,
  lingerMs: 0,
  batchSize: 16384,
  maxInFlight: 5,
  retries: 2147483647,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  maxRequestSize: 1_048_576,
  bufferMemory: 33_554_432,
  maxBlockMs: 60_000,
  metadataMaxAgeMs: 300_000,
  partitioner: "default" as const,
  compression: "none" as CompressionName,
  transactionTimeoutMs: 60_000,
});

const INT32_MAX = 2147483647;

function invalid(option: string, why: string): never {
  throw new ClientError("INVALID_CONFIG", `Invalid producer option ${option}: ${why}`);
}

/** An integer in [min, max]; millisecond values default to the int32 range of their wire fields. */
function int(options: Record<string, unknown>, name: string, fallback: number, min: number, max = INT32_MAX): number {
  const v = options[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v)) invalid(name, `expected an integer, got ${JSON.stringify(v) ?? String(v)}`);
  if (v < min || v > max) invalid(name, `${v} is outside [${min}, ${max}]${max === INT32_MAX ? " (it must fit the int32 wire field)" : ""}`);
  return v;
}

/** Parses `"host:port"`, including bracketed IPv6 `"[::1]:9092"`. */
export function parseBrokerAddress(s: string): BrokerAddress {
  const a = parseHostPort(s.trim());
  if (!a) invalid("brokers", `${JSON.stringify(s)} is not "host:port"`);
  return { host: a.host, port: a.port, nodeId: -1 };
}

const compressions: readonly CompressionName[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/** Validates `options` and fills in the defaults. Throws ClientError INVALID_CONFIG. */
export function resolveConfig(options: ProducerOptions<any, any>): ResolvedConfig {
  if (options === null || typeof options !== "object") invalid("options", "expected an object");
  const o = options as unknown as Record<string, unknown>;
  const brokersIn = options.brokers;
  if (!Array.isArray(brokersIn) || brokersIn.length === 0) invalid("brokers", "expected a non-empty array of \"host:port\" strings");
  const brokers = brokersIn.map((b) => {
    if (typeof b !== "string") invalid("brokers", `expected "host:port" strings, got ${typeof b}`);
    return parseBrokerAddress(b);
  });
  const clientId = options.clientId ?? defaults.clientId;
  if (typeof clientId !== "string") invalid("clientId", "expected a string");

  const acksIn = options.acks ?? defaults.acks;
  if (acksIn !== 0 && acksIn !== 1 && acksIn !== -1 && acksIn !== "all") invalid("acks", `expected 0, 1 or "all", got ${JSON.stringify(acksIn)}`);
  const acks: 0 | 1 | -1 = acksIn === "all" ? -1 : acksIn;

  const maxInFlight = int(o, "maxInFlight", defaults.maxInFlight, 1, 1000);
  const transactionalId = options.transactionalId ?? null;
  if (transactionalId !== null && (typeof transactionalId !== "string" || transactionalId.length === 0)) {
    invalid("transactionalId", "expected a non-empty string");
  }
  if (transactionalId !== null && options.idempotent === false) invalid("idempotent", "transactions (transactionalId) require idempotence");
  if (transactionalId !== null && acks !== -1) invalid("acks", `transactions (transactionalId) require acks "all", got ${JSON.stringify(acksIn)}`);
  const transactionTimeoutMs = int(o, "transactionTimeoutMs", defaults.transactionTimeoutMs, 1);
  let idempotent: boolean;
  if (transactionalId !== null) {
    idempotent = true;
    if (maxInFlight > 5) invalid("maxInFlight", `idempotence requires maxInFlight <= 5 (the broker tracks 5 batches per producer), got ${maxInFlight}`);
  } else if (options.idempotent === undefined) {
    // As in Java: idempotence is on by default unless it conflicts with options given explicitly.
    idempotent = acks === -1 && maxInFlight <= 5;
  } else {
    if (typeof options.idempotent !== "boolean") invalid("idempotent", "expected a boolean");
    idempotent = options.idempotent;
    if (idempotent && acks !== -1) invalid("idempotent", `idempotence requires acks "all", got acks ${JSON.stringify(acksIn)}`);
    if (idempotent && maxInFlight > 5) invalid("maxInFlight", `idempotence requires maxInFlight <= 5 (the broker tracks 5 batches per producer), got ${maxInFlight}`);
  }

  const lingerMs = int(o, "lingerMs", defaults.lingerMs, 0);
  const batchSize = int(o, "batchSize", defaults.batchSize, 1, 1 << 30);
  const retries = int(o, "retries", defaults.retries, 0);
  const retryBackoffMs = int(o, "retryBackoffMs", defaults.retryBackoffMs, 0);
  const retryBackoffMaxMs = int(o, "retryBackoffMaxMs", Math.max(defaults.retryBackoffMaxMs, retryBackoffMs), 0);
  if (retryBackoffMaxMs < retryBackoffMs) invalid("retryBackoffMaxMs", `${retryBackoffMaxMs} is below retryBackoffMs ${retryBackoffMs}`);
  const requestTimeoutMs = int(o, "requestTimeoutMs", defaults.requestTimeoutMs, 1);
  const deliveryTimeoutMs = int(o, "deliveryTimeoutMs", Math.max(defaults.deliveryTimeoutMs, lingerMs + requestTimeoutMs), 1);
  if (deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    invalid("deliveryTimeoutMs", `${deliveryTimeoutMs} must be at least lingerMs + requestTimeoutMs (${lingerMs} + ${requestTimeoutMs}), or a batch could expire before its first response`);
  }
  const maxRequestSize = int(o, "maxRequestSize", defaults.maxRequestSize, 128, 1 << 30);
  const bufferMemory = int(o, "bufferMemory", defaults.bufferMemory, 1024, Number.MAX_SAFE_INTEGER);
  const maxBlockMs = int(o, "maxBlockMs", defaults.maxBlockMs, 0);
  const metadataMaxAgeMs = int(o, "metadataMaxAgeMs", defaults.metadataMaxAgeMs, 0);

  const partitioner = options.partitioner ?? defaults.partitioner;
  if (partitioner !== "default" && partitioner !== "roundRobin" && typeof partitioner !== "function") {
    invalid("partitioner", `expected "default", "roundRobin" or a function, got ${JSON.stringify(partitioner)}`);
  }
  const compression = options.compression ?? defaults.compression;
  if (!compressions.includes(compression)) invalid("compression", `expected one of ${compressions.join(", ")}, got ${JSON.stringify(compression)}`);

  const compressionThreads = int(o, "compressionThreads", 1, 0, 1);

  for (const name of ["keySerializer", "valueSerializer", "onError", "onDeadLetter", "transport", "brokerAddressMap"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function") invalid(name, "expected a function");
  }
  if (options.clock !== undefined) {
    const c = options.clock as unknown as Record<string, unknown>;
    if (typeof c !== "object" || c === null || typeof c.now !== "function" || typeof c.setTimeout !== "function" || typeof c.clearTimeout !== "function" || typeof c.random !== "function") {
      invalid("clock", "expected { now, setTimeout, clearTimeout, random }");
    }
  }
  return {
    brokers, clientId, acks, idempotent, lingerMs, batchSize, maxInFlight, retries, retryBackoffMs, retryBackoffMaxMs,
    deliveryTimeoutMs, requestTimeoutMs, maxRequestSize, bufferMemory, maxBlockMs, metadataMaxAgeMs, partitioner, compression,
    compressionThreads, transactionalId, transactionTimeoutMs, sasl: options.sasl,
  };
}
