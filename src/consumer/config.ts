/**
 * Consumer options: one defaults object, one validate() (Java's ConsumerConfig names and defaults).
 */
import { parseHostPort } from "../client/address.ts";
import type { Clock } from "../client/clock.ts";
import type { SaslConfig } from "../client/sasl/index.ts";
import { ClientError } from "../errors.ts";
import type { RecordHeaderValue } from "../protocol/record-batch.ts";
import type { BrokerAddress, Transport } from "../transport/transport.ts";
import { cooperativeStickyAssignor } from "./assignors/cooperative-sticky.ts";
import type { Assignor } from "./assignors/index.ts";
import { rangeAssignor } from "./assignors/range.ts";
import { roundRobinAssignor } from "./assignors/roundrobin.ts";
import type { ConsumerHooks } from "./metrics.ts";

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A partition and the offset to commit for it: the next offset to consume (last processed + 1). */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
  /** The leader epoch of the last consumed record (KIP-320); -1 = unknown. */
  leaderEpoch?: number;
  metadata?: string | null;
}

/** One record handed to the application. */
export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeaderValue[];
  /** The partition leader epoch the record was written in. */
  leaderEpoch: number;
}

/** The records of one partition from one fetch. */
export interface ConsumerBatch {
  topic: string;
  partition: number;
  /** High watermark (read_uncommitted) or last stable offset (read_committed) at the fetch. */
  highWatermark: number;
  records: ConsumerRecord[];
}

/** Rebalance callbacks (Java's ConsumerRebalanceListener); a rejection is reported through the consumer's next poll. */
export type RebalanceCallback = (partitions: TopicPartition[]) => void | Promise<void>;

export type AssignorName = "range" | "roundrobin" | "cooperative-sticky";

export interface ConsumerOptions {
  /** Bootstrap brokers as `"host:port"` strings. Required. */
  brokers: string[];
  /** group.id. Required. */
  groupId: string;
  /** Topics to subscribe to (or call `subscribe()` before the first poll). */
  topics?: string[];
  /** [clientId="kafkasm"] */
  clientId?: string;
  /** group.instance.id: a static member (KIP-345); it does not leave the group on close. */
  groupInstanceId?: string;
  /** [sessionTimeoutMs=45000] session.timeout.ms */
  sessionTimeoutMs?: number;
  /** [heartbeatIntervalMs=3000] heartbeat.interval.ms */
  heartbeatIntervalMs?: number;
  /** [maxPollIntervalMs=300000] max.poll.interval.ms; also the rebalance timeout sent in JoinGroup. */
  maxPollIntervalMs?: number;
  /**
   * [assignors=["range","cooperative-sticky"]] partition.assignment.strategy, preferred first. The default is
   * Java's since 3.0: range is what every member of a mixed group speaks (librdkafka's default is
   * range,roundrobin), and listing cooperative-sticky lets a later rolling restart drop range. The
   * rebalance protocol is COOPERATIVE only when every assignor listed supports it (as Java decides).
   */
  assignors?: (AssignorName | Assignor)[];
  /** [autoCommit=true] enable.auto.commit: what was handed to the application, committed at the next poll after autoCommitIntervalMs, on revocation and on close. */
  autoCommit?: boolean;
  /** [autoCommitIntervalMs=5000] auto.commit.interval.ms */
  autoCommitIntervalMs?: number;
  /** [autoOffsetReset="latest"] auto.offset.reset: where to start without a committed offset, or out of range. */
  autoOffsetReset?: "earliest" | "latest" | "none";
  /** [isolationLevel="read_uncommitted"] isolation.level; read_committed skips aborted transactions. */
  isolationLevel?: "read_uncommitted" | "read_committed";
  /** [maxBytes=52428800] fetch.max.bytes */
  maxBytes?: number;
  /** [maxPartitionBytes=1048576] max.partition.fetch.bytes */
  maxPartitionBytes?: number;
  /** [minBytes=1] fetch.min.bytes */
  minBytes?: number;
  /** [maxWaitMs=500] fetch.max.wait.ms */
  maxWaitMs?: number;
  /** [requestTimeoutMs=30000] request.timeout.ms */
  requestTimeoutMs?: number;
  /** [retryBackoffMs=100] retry.backoff.ms */
  retryBackoffMs?: number;
  /** [metadataMaxAgeMs=300000] metadata.max.age.ms */
  metadataMaxAgeMs?: number;
  onPartitionsAssigned?: RebalanceCallback;
  onPartitionsRevoked?: RebalanceCallback;
  /** Partitions taken away without a chance to commit (session lost, fenced generation); defaults to onPartitionsRevoked's absence: nothing. */
  onPartitionsLost?: RebalanceCallback;
  /** Observers of connections, fetches, commits and rebalances; a hook that throws is logged once and ignored. */
  hooks?: ConsumerHooks;
  /** Defaults to the runtime entry's transport (`kafkasm/consumer`). */
  transport?: Transport;
  sasl?: SaslConfig;
  /** Injected time (tests). */
  clock?: Clock;
  /** Rewrites broker addresses from Metadata (as the producer's option). */
  brokerAddressMap?: (a: BrokerAddress) => BrokerAddress;
}

export interface ConsumerConfig {
  brokers: BrokerAddress[];
  groupId: string;
  topics: string[];
  clientId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxPollIntervalMs: number;
  assignors: Assignor[];
  cooperative: boolean;
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  autoOffsetReset: "earliest" | "latest" | "none";
  readCommitted: boolean;
  maxBytes: number;
  maxPartitionBytes: number;
  minBytes: number;
  maxWaitMs: number;
  requestTimeoutMs: number;
  retryBackoffMs: number;
  metadataMaxAgeMs: number;
}

const ASSIGNORS: Record<AssignorName, Assignor> = { range: rangeAssignor, roundrobin: roundRobinAssignor, "cooperative-sticky": cooperativeStickyAssignor };

function invalid(option: string, why: string): never {
  throw new ClientError("INVALID_CONFIG", `Invalid consumer option ${option}: ${why}`);
}

function int(options: Record<string, unknown>, name: string, dflt: number, min: number, max = 2147483647): number {
  const v = options[name];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) invalid(name, `expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

export function validateTopics(topics: unknown, option = "topics"): string[] {
  if (!Array.isArray(topics)) invalid(option, "expected an array of topic names");
  for (const t of topics) {
    if (typeof t !== "string" || !/^[a-zA-Z0-9._-]{1,249}$/.test(t) || t === "." || t === "..") invalid(option, `${JSON.stringify(t)} is not a valid topic name`);
  }
  return [...new Set(topics as string[])];
}

export function validateConsumerOptions(options: ConsumerOptions): ConsumerConfig {
  if (typeof options !== "object" || options === null) invalid("options", "expected an object");
  const o = options as unknown as Record<string, unknown>;
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) invalid("brokers", 'expected a non-empty array of "host:port" strings');
  const brokers = options.brokers.map((b) => {
    const a = typeof b === "string" ? parseHostPort(b) : undefined;
    if (!a) invalid("brokers", `${JSON.stringify(b)} is not "host:port"`);
    return { host: a.host, port: a.port, nodeId: -1 };
  });
  if (typeof options.groupId !== "string" || options.groupId === "") invalid("groupId", "expected a non-empty string");
  if (options.groupInstanceId !== undefined && (typeof options.groupInstanceId !== "string" || options.groupInstanceId === "")) invalid("groupInstanceId", "expected a non-empty string");
  const sessionTimeoutMs = int(o, "sessionTimeoutMs", 45_000, 1);
  const heartbeatIntervalMs = int(o, "heartbeatIntervalMs", 3_000, 1);
  // Java's rule: a heartbeat must fit several times into a session, or one late heartbeat loses the group.
  if (heartbeatIntervalMs >= sessionTimeoutMs) invalid("heartbeatIntervalMs", `${heartbeatIntervalMs} must be below sessionTimeoutMs ${sessionTimeoutMs}`);
  const names = options.assignors ?? ["range", "cooperative-sticky"];
  if (!Array.isArray(names) || names.length === 0) invalid("assignors", "expected a non-empty array");
  const assignors = names.map((n) => {
    if (typeof n === "string") return ASSIGNORS[n as AssignorName] ?? invalid("assignors", `unknown assignor ${JSON.stringify(n)} (range, roundrobin, cooperative-sticky)`);
    if (typeof n === "object" && n !== null && typeof n.name === "string" && typeof n.assign === "function") return n;
    return invalid("assignors", "expected assignor names or objects with name and assign()");
  });
  const pick = <T extends string>(name: string, allowed: readonly T[], dflt: T): T => {
    const v = o[name];
    if (v === undefined) return dflt;
    if (!allowed.includes(v as T)) invalid(name, `expected one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
    return v as T;
  };
  for (const cb of ["onPartitionsAssigned", "onPartitionsRevoked", "onPartitionsLost"]) {
    if (o[cb] !== undefined && typeof o[cb] !== "function") invalid(cb, "expected a function");
  }
  if (options.hooks !== undefined && (typeof options.hooks !== "object" || options.hooks === null)) invalid("hooks", "expected an object of callbacks");
  return {
    brokers, groupId: options.groupId, topics: validateTopics(options.topics ?? []),
    clientId: typeof options.clientId === "string" && options.clientId !== "" ? options.clientId : "kafkasm",
    groupInstanceId: options.groupInstanceId ?? null,
    sessionTimeoutMs, heartbeatIntervalMs,
    maxPollIntervalMs: int(o, "maxPollIntervalMs", 300_000, 1),
    assignors,
    cooperative: assignors.every((a) => a.supportedProtocols.includes("COOPERATIVE")),
    autoCommit: options.autoCommit ?? true,
    autoCommitIntervalMs: int(o, "autoCommitIntervalMs", 5_000, 0),
    autoOffsetReset: pick("autoOffsetReset", ["earliest", "latest", "none"] as const, "latest"),
    readCommitted: pick("isolationLevel", ["read_uncommitted", "read_committed"] as const, "read_uncommitted") === "read_committed",
    maxBytes: int(o, "maxBytes", 52_428_800, 1),
    maxPartitionBytes: int(o, "maxPartitionBytes", 1_048_576, 1),
    minBytes: int(o, "minBytes", 1, 0),
    maxWaitMs: int(o, "maxWaitMs", 500, 0),
    requestTimeoutMs: int(o, "requestTimeoutMs", 30_000, 1),
    retryBackoffMs: int(o, "retryBackoffMs", 100, 0),
    metadataMaxAgeMs: int(o, "metadataMaxAgeMs", 300_000, 0),
  };
}
