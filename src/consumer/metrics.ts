/**
 * `consumer.metrics()` and the consumer's `hooks`: counters bumped per connection, per Fetch, per
 * partition response, per commit and per rebalance (never per record), read with the live partition
 * state when `metrics()` is called.
 */
import type { Clock } from "../client/clock.ts";
import type { KafkasmError } from "../errors.ts";
import type { BrokerAddress, Transport } from "../transport/transport.ts";
import type { TopicPartition, TopicPartitionOffset } from "./config.ts";
import { callHook, dialCounted } from "../client/counted.ts";

/** Typed event callbacks (`options.hooks`). A hook that throws is logged once and never breaks the consumer. */
export interface ConsumerHooks {
  /** A connection to a broker (or a bootstrap address: nodeId -1, or the group coordinator) is open. */
  onConnect?(event: { broker: BrokerAddress }): void;
  /** A connection closed (`error` when it was lost rather than closed by the consumer). */
  onDisconnect?(event: { broker: BrokerAddress; error?: Error }): void;
  /** A Fetch request completed: its partitions, the records it gave the application and its record bytes, or `error`. */
  onFetch?(event: { broker: number; partitions: number; records: number; bytes: number; rttMs: number; error?: KafkasmError }): void;
  /** An OffsetCommit completed (`error` when it failed). */
  onCommit?(event: { offsets: TopicPartitionOffset[]; error?: KafkasmError }): void;
  /** A rebalance completed: this member's generation, the partitions it gained, and those it gave back or lost since the last one. */
  onRebalance?(event: { generation: number; memberId: string; assigned: TopicPartition[]; revoked: TopicPartition[]; lost: TopicPartition[] }): void;
}

/** Per broker connection (keyed `host:port`); fetch figures are of Fetch requests. */
export interface ConsumerBrokerMetrics {
  nodeId: number;
  connections: number;
  connects: number;
  disconnects: number;
  /** Bytes read from / written to the socket (every request, the coordinator's included). */
  bytesIn: number;
  bytesOut: number;
  fetches: number;
  inFlight: number;
  fetchErrors: number;
  /** Round trip of answered Fetch requests (send → answer, fetch.max.wait.ms included), by the consumer's clock. */
  rttAvgMs: number;
  rttMaxMs: number;
}

/** Per topic-partition (keyed `topic/partition`): every partition consumed since the consumer started. */
export interface ConsumerPartitionMetrics {
  topic: string;
  partition: number;
  /** Owned by this member now (position, committed, highWatermark and lag are -1 otherwise). */
  assigned: boolean;
  /** Next offset to fetch, and the offset commit() stores (after the last record handed, or where consumption starts; -1 unresolved). */
  position: number;
  consumedOffset: number;
  committed: number;
  highWatermark: number;
  lag: number;
  /** Records fetched for the application (control and aborted records excluded), record-batch bytes fetched, batches decoded. */
  records: number;
  bytes: number;
  batches: number;
  /** Fetch errors for this partition by Kafka error name. */
  errors: Record<string, number>;
}

export interface ConsumerMetrics {
  time: number;
  /** Records handed to the application. */
  recordsConsumed: number;
  commits: number;
  commitsFailed: number;
  rebalances: number;
  generation: number;
  memberId: string;
  assignmentSize: number;
  brokers: Record<string, ConsumerBrokerMetrics>;
  partitions: Record<string, ConsumerPartitionMetrics>;
}

interface BrokerCounters {
  nodeId: number; connections: number; connects: number; disconnects: number; bytesIn: number; bytesOut: number;
  fetches: number; inFlight: number; fetchErrors: number; rttSum: number; answered: number; rttMaxMs: number;
}
export interface PartitionCounters { records: number; bytes: number; batches: number; errors: Record<string, number> }

/** What metrics() reads from a partition the consumer owns. */
export interface OwnedView { topic: string; partition: number; position: number; next: number; committed: number; highWatermark: number }

type Hook = keyof ConsumerHooks;

export class ConsumerObserver {
  readonly #clock: Clock;
  readonly #hooks: ConsumerHooks | undefined;
  readonly #warned = { warned: false };
  readonly #brokers = new Map<string, BrokerCounters>();
  readonly partitions = new Map<string, PartitionCounters>();
  recordsConsumed = 0;
  commits = 0;
  commitsFailed = 0;
  rebalances = 0;

  constructor(clock: Clock, hooks: ConsumerHooks | undefined) {
    this.#clock = clock;
    this.#hooks = hooks;
  }

  has(name: Hook): boolean {
    return this.#hooks?.[name] !== undefined;
  }

  emit<H extends Hook>(name: H, event: Parameters<NonNullable<ConsumerHooks[H]>>[0]): void {
    callHook(this.#hooks, name, event, this.#warned, "consumer ");
  }

  #broker(a: BrokerAddress): BrokerCounters {
    const key = `${a.host}:${a.port}`;
    let c = this.#brokers.get(key);
    if (!c) this.#brokers.set(key, (c = { nodeId: a.nodeId, connections: 0, connects: 0, disconnects: 0, bytesIn: 0, bytesOut: 0, fetches: 0, inFlight: 0, fetchErrors: 0, rttSum: 0, answered: 0, rttMaxMs: 0 }));
    return c;
  }

  partition(topic: string, partition: number): PartitionCounters {
    const key = `${topic}/${partition}`;
    let c = this.partitions.get(key);
    if (!c) this.partitions.set(key, (c = { records: 0, bytes: 0, batches: 0, errors: {} }));
    return c;
  }

  /** The transport with connections and socket bytes counted per broker, and onConnect/onDisconnect. */
  transport(transport: Transport): Transport {
    return (address, handlers) => dialCounted(transport, address, handlers, this.#broker(address),
      () => this.emit("onConnect", { broker: address }), (error) => this.emit("onDisconnect", error ? { broker: address, error } : { broker: address }));
  }

  /** A Fetch goes out to `leader` on the connection to `address`; the returned function is called when it completes. */
  fetch(address: BrokerAddress, leader: number, partitions: number): (records: number, bytes: number, error?: KafkasmError) => void {
    const c = this.#broker(address);
    c.nodeId = leader;
    c.fetches++;
    c.inFlight++;
    const start = this.#clock.now();
    return (records, bytes, error) => {
      c.inFlight--;
      const rttMs = this.#clock.now() - start;
      if (error) c.fetchErrors++;
      else {
        c.answered++;
        c.rttSum += rttMs;
        if (rttMs > c.rttMaxMs) c.rttMaxMs = rttMs;
      }
      if (this.#hooks?.onFetch) this.emit("onFetch", error ? { broker: leader, partitions, records, bytes, rttMs, error } : { broker: leader, partitions, records, bytes, rttMs });
    };
  }

  commit(offsets: TopicPartitionOffset[], error?: KafkasmError): void {
    if (error) this.commitsFailed++;
    else this.commits++;
    if (this.#hooks?.onCommit) this.emit("onCommit", error ? { offsets, error } : { offsets });
  }

  metrics(owned: Iterable<OwnedView>, group: { generation: number; memberId: string }): ConsumerMetrics {
    const brokers: Record<string, ConsumerBrokerMetrics> = {};
    for (const [k, c] of this.#brokers) {
      brokers[k] = { nodeId: c.nodeId, connections: c.connections, connects: c.connects, disconnects: c.disconnects, bytesIn: c.bytesIn, bytesOut: c.bytesOut,
        fetches: c.fetches, inFlight: c.inFlight, fetchErrors: c.fetchErrors, rttAvgMs: c.answered ? c.rttSum / c.answered : 0, rttMaxMs: c.rttMaxMs };
    }
    const partitions: Record<string, ConsumerPartitionMetrics> = {};
    for (const [k, c] of this.partitions) {
      const [topic, partition] = [k.slice(0, k.lastIndexOf("/")), Number(k.slice(k.lastIndexOf("/") + 1))];
      partitions[k] = { topic, partition, assigned: false, position: -1, consumedOffset: -1, committed: -1, highWatermark: -1, lag: -1,
        records: c.records, bytes: c.bytes, batches: c.batches, errors: { ...c.errors } };
    }
    let size = 0;
    for (const o of owned) {
      size++;
      const k = `${o.topic}/${o.partition}`;
      const c = this.partitions.get(k);
      const at = o.next >= 0 ? o.next : o.position;
      partitions[k] = { topic: o.topic, partition: o.partition, assigned: true, position: o.position, consumedOffset: o.next, committed: o.committed,
        highWatermark: o.highWatermark, lag: o.highWatermark >= 0 && at >= 0 ? Math.max(0, o.highWatermark - at) : -1,
        records: c?.records ?? 0, bytes: c?.bytes ?? 0, batches: c?.batches ?? 0, errors: { ...c?.errors } };
    }
    return { time: this.#clock.now(), recordsConsumed: this.recordsConsumed, commits: this.commits, commitsFailed: this.commitsFailed,
      rebalances: this.rebalances, generation: group.generation, memberId: group.memberId, assignmentSize: size, brokers, partitions };
  }
}
