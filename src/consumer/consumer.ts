/**
 * The consumer: a group member (src/consumer/group.ts) plus a fetcher. Java's model: the group is
 * driven from the application's poll (each `next()` of the async iterator, each `eachBatch` of
 * `run()`): a rebalance the heartbeat learnt of is joined there, eager revocation and auto-commit
 * happen there, so a record is never revoked while the application holds it. Heartbeats run on their
 * own timer. Fetches go one per leader broker, kept in flight while the application works
 * (prefetch), and each partition's records are decoded a whole response at a time.
 *
 * Offsets: `position` = next offset to fetch; `next` = offset after the last record handed to the
 * application (what commits store). Seek, pause and revocation bump the partition's `version`, which
 * invalidates fetches in flight and records buffered for it.
 */
import { loadCodec } from "../../bindings/codec.ts";
import { Brokers } from "../client/brokers.ts";
import { systemClock, type Clock, type TimerHandle } from "../client/clock.ts";
import type { Connection } from "../client/connection.ts";
import { isStaleMetadataError, MetadataCache, type PartitionMetadata, type TopicMetadata } from "../client/metadata.ts";
import { versionFor } from "../client/versions.ts";
import { codecForAttribute } from "../compression/index.ts";
import { asKafkasmError, ClientError, KafkaError, KafkasmError, kafkaErrorFor, kafkaErrorInfo } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import { Fetch, type FetchPartitionResponse } from "../protocol/fetch.ts";
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets } from "../protocol/list-offsets.ts";
import { CONTROL, decodeRecordBatchesAsync, TRANSACTIONAL, type RecordBatch } from "../protocol/record-batch.ts";
import type { Transport } from "../transport/transport.ts";
import {
  validateConsumerOptions, validateTopics, type ConsumerBatch, type ConsumerConfig, type ConsumerOptions, type ConsumerRecord,
  type RebalanceCallback, type TopicPartition, type TopicPartitionOffset,
} from "./config.ts";
import { Group } from "./group.ts";
import { ConsumerObserver, type ConsumerMetrics } from "./metrics.ts";

export type { ConsumerBatch, ConsumerOptions, ConsumerRecord, TopicPartition, TopicPartitionOffset } from "./config.ts";
export type { ConsumerBrokerMetrics, ConsumerHooks, ConsumerMetrics, ConsumerPartitionMetrics } from "./metrics.ts";

const FETCH_MAX_VERSION = 12; // v13 names topics by id only
// librdkafka 2.0's mock answers ListOffsets v5 with bytes the spec does not have; v1-3 carry all we need.
const LIST_OFFSETS_MAX_VERSION = 3;

let defaultTransport: Transport | undefined;
/** Set by the `kafkasm/consumer` runtime entries. */
export function setDefaultConsumerTransport(transport: Transport): void {
  defaultTransport = transport;
}

class Partition implements PartitionMetadata {
  leaderId = -1;
  leaderEpoch = -1;
  constructor(readonly topic: string, readonly partition: number) {}
}
class Topic implements TopicMetadata<Partition> {
  partitions: Partition[] | null = null;
  available: number[] = [];
  error: KafkasmError | undefined;
  constructor(readonly name: string) {}
}
const noChecks = Promise.resolve({ checkBrokers() {}, checkTopic: () => undefined });

/** A partition this member owns. */
export interface Owned {
  topic: string;
  partition: number;
  /** Next offset to fetch; -1 until resolved from the committed offset or the reset policy. */
  position: number;
  /** Leader epoch of the record before `position` (for Fetch's last_fetched_epoch), -1 unknown. */
  positionEpoch: number;
  /** Offset after the last record handed to the application; -1 = nothing handed since assignment. */
  next: number;
  nextEpoch: number;
  /** Last offset committed (or fetched from the coordinator). */
  committed: number;
  paused: boolean;
  version: number;
  highWatermark: number;
}

interface Buffered {
  owned: Owned;
  version: number;
  batch: ConsumerBatch;
}

/** Why a partition's records were dropped: "revoked" (give-back, commit allowed) or "lost". */
export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly config: ConsumerConfig;
  readonly #clock: Clock;
  readonly #brokers: Brokers;
  readonly #metadata: MetadataCache<Topic, Partition>;
  readonly #group: Group;
  readonly #owned = new Map<string, Owned>();
  #subscription: string[];
  #ready: Buffered[] = [];
  #inFlight = new Map<number, Promise<void>>();
  #waiter: (() => void) | undefined;
  #error: KafkasmError | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #lastCommitAt: number;
  #backoffUntil = new Map<number, number>();
  /** The WASM codec, loaded at the first poll so that batch CRCs are checked in WASM (JS if it cannot load). */
  #codec: Promise<unknown> | undefined;
  #callbacks: { assigned?: RebalanceCallback; revoked?: RebalanceCallback; lost?: RebalanceCallback };
  readonly #obs: ConsumerObserver;
  /** Given back or lost since the last completed rebalance (for onRebalance). */
  #revokedSince: TopicPartition[] = [];
  #lostSince: TopicPartition[] = [];

  constructor(options: ConsumerOptions) {
    this.config = validateConsumerOptions(options);
    const given = options.transport ?? defaultTransport;
    if (!given) throw new ClientError("INVALID_CONFIG", "Invalid consumer option transport: none given and this entry has no default (import from kafkasm/consumer)");
    this.#clock = options.clock ?? systemClock;
    this.#obs = new ConsumerObserver(this.#clock, options.hooks);
    const transport = this.#obs.transport(given);
    const c = this.config;
    this.#brokers = new Brokers({ brokers: c.brokers, clientId: c.clientId, requestTimeoutMs: c.requestTimeoutMs + c.maxWaitMs, maxInFlight: 5, sasl: options.sasl },
      transport, this.#clock, options.brokerAddressMap);
    this.#metadata = new MetadataCache(this.#brokers, { retryBackoffMs: c.retryBackoffMs, metadataMaxAgeMs: c.metadataMaxAgeMs }, this.#clock, Topic, Partition, () => noChecks);
    this.#metadata.onUpdate = () => this.#wake();
    this.#subscription = c.topics;
    this.#lastCommitAt = this.#clock.now();
    this.#callbacks = { assigned: options.onPartitionsAssigned, revoked: options.onPartitionsRevoked, lost: options.onPartitionsLost };
    this.#group = new Group(c, transport, options.sasl, this.#clock, {
      subscription: () => this.#subscription,
      owned: () => [...this.#owned.values()],
      partitionCounts: (topics) => this.#partitionCounts(topics),
      wake: () => this.#wake(),
      fail: (e) => this.#fail(e),
    }, options.brokerAddressMap);
  }

  /** Replaces the subscription; the group rebalances at the next poll. */
  subscribe(topics: string[]): void {
    this.#checkOpen();
    this.#subscription = validateTopics(topics);
    for (const t of this.#subscription) this.#metadata.topic(t);
    this.#group.requestRejoin();
  }

  /** The partitions this member owns now. */
  assignment(): TopicPartition[] {
    return [...this.#owned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Where the next fetch of a partition starts. */
  position(tp: TopicPartition): number | undefined {
    const o = this.#owned.get(key(tp.topic, tp.partition));
    return o && o.position >= 0 ? o.position : undefined;
  }

  /** Per owned partition: position, high watermark (last stable offset under read_committed) from the last fetch, and their difference. */
  lag(): { topic: string; partition: number; position: number; highWatermark: number; lag: number }[] {
    return [...this.#owned.values()].map((o) => {
      const position = o.next >= 0 ? o.next : o.position;
      return { topic: o.topic, partition: o.partition, position, highWatermark: o.highWatermark, lag: o.highWatermark >= 0 && position >= 0 ? Math.max(0, o.highWatermark - position) : -1 };
    });
  }

  /**
   * Counters and the live state of each partition (position, committed, high watermark, lag): a
   * snapshot, cheap to take every second.
   */
  metrics(): ConsumerMetrics {
    return this.#obs.metrics(this.#owned.values(), { generation: this.#group.generationId, memberId: this.#group.memberId });
  }

  /** Fetch from `offset` next (records buffered for the partition are dropped). */
  seek(tp: TopicPartition, offset: number): void {
    this.#checkOpen();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new ClientError("INVALID_CONFIG", `Cannot seek ${tp.topic}-${tp.partition}: offset ${offset} is not a non-negative integer`);
    const o = this.#ownedOrThrow(tp, "seek");
    o.version++;
    o.position = offset;
    o.positionEpoch = -1;
    o.next = offset;
    this.#wake();
  }

  /** Stops fetching these partitions (their buffered records are held back) until `resume`. */
  pause(tps: TopicPartition[]): void {
    for (const tp of tps) {
      const o = this.#ownedOrThrow(tp, "pause");
      if (o.paused) continue;
      o.paused = true;
      // Buffered records are dropped: fetch again from the first one not handed out.
      o.version++;
      if (o.next >= 0) o.position = o.next;
    }
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.#ownedOrThrow(tp, "resume").paused = false;
    this.#wake();
  }

  paused(): TopicPartition[] {
    return [...this.#owned.values()].filter((o) => o.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  /**
   * Commits offsets and waits for the coordinator: `offsets` as given (next offset to consume), or
   * without them, everything handed to the application so far.
   */
  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.#checkOpen();
    await this.#commit(offsets ?? this.#handedOffsets(), true);
  }

  /** The group's committed offsets for these partitions (-1: none). */
  async committed(tps: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    this.#checkOpen();
    const got = await this.#group.fetchOffsets(tps);
    return tps.map((tp) => ({ ...tp, offset: got.get(key(tp.topic, tp.partition))?.offset ?? -1 }));
  }

  /** Records one at a time; ending the loop (`break`, a throw) closes the consumer. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    try {
      for (;;) {
        const batches = await this.#poll();
        if (batches === null) return;
        for (const b of batches) {
          const o = b.owned;
          for (const r of b.batch.records) {
            // A rebalance to join, a seek or a pause since the fetch: hand out nothing more of this poll.
            if (o.version !== b.version || o.paused || this.#group.needsJoin || this.#closed) break;
            o.next = r.offset + 1;
            o.nextEpoch = r.leaderEpoch;
            this.#obs.recordsConsumed++;
            yield r;
            // The application asked for the next record: the one before counts as handed and processed.
            this.#group.polled();
            this.#maybeAutoCommit();
          }
        }
      }
    } finally {
      await this.close();
    }
  }

  /**
   * Calls `eachBatch` with each partition's records from each fetch, one at a time; resolves when the
   * consumer is closed. A batch counts as handed (auto-commit, commit()) once its handler resolves;
   * a handler that throws stops run() with its error and its batch is fetched again by the next run().
   */
  async run(handlers: { eachBatch: (batch: ConsumerBatch) => void | Promise<void> }): Promise<void> {
    if (typeof handlers?.eachBatch !== "function") throw new ClientError("INVALID_CONFIG", "Invalid run() handler: eachBatch must be a function");
    for (;;) {
      const batches = await this.#poll();
      if (batches === null) return;
      for (const b of batches) {
        const o = b.owned;
        if (o.version !== b.version || o.paused || this.#group.needsJoin || this.#closed) continue;
        try {
          await handlers.eachBatch(b.batch);
        } catch (e) {
          if (o.version === b.version && o.next >= 0) { o.version++; o.position = o.next; }
          else if (o.version === b.version) { o.version++; o.position = b.batch.records[0].offset; }
          throw e;
        }
        this.#group.polled();
        if (o.version !== b.version) continue; // seeked or revoked meanwhile: what it handed no longer counts
        const last = b.batch.records[b.batch.records.length - 1];
        o.next = last.offset + 1;
        o.nextEpoch = last.leaderEpoch;
        this.#obs.recordsConsumed += b.batch.records.length;
        this.#maybeAutoCommit();
      }
    }
  }

  /**
   * Commits what was handed (autoCommit), revokes every partition (onPartitionsRevoked), leaves the
   * group (dynamic members; static ones stay until their session ends, KIP-345) and closes connections.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    try {
      if (this.#group.active && this.#owned.size > 0) {
        if (this.config.autoCommit) await this.#commit(this.#handedOffsets(), false).catch(() => {});
        await this.#revoke([...this.#owned.values()], "revoked").catch(() => {});
      }
      await this.#group.leave().catch(() => {});
    } finally {
      this.#group.stop();
      this.#metadata.close();
      this.#brokers.close();
    }
  }

  // ---- the poll: group, positions, fetches ----

  /** The next records, or null once closed. Throws the consumer's fatal error. */
  async #poll(): Promise<Buffered[] | null> {
    this.#group.polled();
    await (this.#codec ??= loadCodec().catch(() => undefined));
    for (;;) {
      if (this.#closed) return null;
      if (this.#error) throw this.#error;
      if (this.#group.needsJoin || !this.#group.active) await this.#rejoin();
      if (this.#closed) return null;
      if (this.#error) throw this.#error;
      if (!this.#group.active) continue;
      this.#maybeAutoCommit();
      await this.#resolvePositions();
      const ready = this.#takeReady();
      this.#startFetches();
      if (ready.length > 0) return ready;
      await this.#sleep(this.config.maxWaitMs + 100);
    }
  }

  async #rejoin(): Promise<void> {
    const g = this.#group;
    // Eager: every partition goes back before the join (committed first); cooperative keeps them.
    if (g.lost) {
      await this.#revoke([...this.#owned.values()], "lost");
      g.lost = false;
    } else if (!this.config.cooperative && this.#owned.size > 0) {
      if (this.config.autoCommit) await this.#commit(this.#handedOffsets(), false).catch(() => {});
      await this.#revoke([...this.#owned.values()], "revoked");
    }
    for (const t of this.#subscription) this.#metadata.topic(t);
    const assigned = await g.join();
    if (assigned === null) return; // closed, failed, or to be retried at the next poll
    const target = new Set(assigned.map((tp) => key(tp.topic, tp.partition)));
    const revoked = [...this.#owned.values()].filter((o) => !target.has(key(o.topic, o.partition)));
    if (revoked.length > 0) {
      if (this.config.autoCommit) await this.#commit(this.#offsetsOf(revoked), false).catch(() => {});
      await this.#revoke(revoked, "revoked");
      // KIP-429: what was revoked is assigned to its new owner by the next rebalance, which we start now.
      g.requestRejoin();
    }
    const added: TopicPartition[] = [];
    for (const tp of assigned) {
      const k = key(tp.topic, tp.partition);
      if (this.#owned.has(k)) continue;
      this.#owned.set(k, { topic: tp.topic, partition: tp.partition, position: -1, positionEpoch: -1, next: -1, nextEpoch: -1, committed: -1, paused: false, version: 0, highWatermark: -1 });
      added.push(tp);
    }
    this.#obs.rebalances++;
    if (this.#obs.has("onRebalance")) {
      this.#obs.emit("onRebalance", { generation: g.generationId, memberId: g.memberId, assigned: added, revoked: this.#revokedSince, lost: this.#lostSince });
    }
    this.#revokedSince = [];
    this.#lostSince = [];
    await this.#callback("assigned", added);
  }

  async #revoke(parts: Owned[], how: "revoked" | "lost"): Promise<void> {
    for (const o of parts) {
      o.version++;
      this.#owned.delete(key(o.topic, o.partition));
    }
    if (parts.length === 0) return;
    const tps = parts.map(({ topic, partition }) => ({ topic, partition }));
    (how === "lost" ? this.#lostSince : this.#revokedSince).push(...tps);
    await this.#callback(how, tps);
  }

  async #callback(which: "assigned" | "revoked" | "lost", tps: TopicPartition[]): Promise<void> {
    const cb = this.#callbacks[which];
    if (!cb) return;
    try {
      await cb(tps);
    } catch (e) {
      this.#fail(e instanceof KafkasmError ? e : new ClientError("ILLEGAL_STATE", `onPartitions${which[0].toUpperCase()}${which.slice(1)} threw: ${(e as Error)?.message ?? e}`, { cause: e }));
    }
  }

  /** Committed offsets for partitions without a position; the reset policy for the rest. */
  async #resolvePositions(): Promise<void> {
    const need = [...this.#owned.values()].filter((o) => o.position < 0);
    if (need.length === 0) return;
    let committed: Map<string, { offset: number; leaderEpoch: number }>;
    try {
      committed = await this.#group.fetchOffsets(need);
    } catch (e) {
      if (e instanceof KafkasmError && !e.retriable) throw e;
      return; // retried at the next poll
    }
    const reset: Owned[] = [];
    for (const o of need) {
      const c = committed.get(key(o.topic, o.partition));
      if (c && c.offset >= 0) {
        o.position = o.next = o.committed = c.offset;
        o.positionEpoch = c.leaderEpoch;
      } else reset.push(o);
    }
    if (reset.length > 0) await this.#reset(reset);
  }

  /** auto.offset.reset: ListOffsets earliest/latest per leader; "none" fails the consumer. */
  async #reset(parts: Owned[]): Promise<void> {
    const policy = this.config.autoOffsetReset;
    if (policy === "none") {
      const o = parts[0];
      this.#fail(new ClientError("INVALID_CONFIG", `Cannot consume ${o.topic}-${o.partition}: no committed offset (or out of range) and autoOffsetReset is "none"`));
      return;
    }
    const byLeader = this.#byLeader(parts);
    await Promise.all([...byLeader].map(async ([leader, ps]) => {
      try {
        const conn = await this.#brokers.connect(leader);
        const v = Math.min(LIST_OFFSETS_MAX_VERSION, versionFor(conn, ListOffsets));
        const timestamp = policy === "earliest" ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
        const res = await conn.request(ListOffsets, v, {
          isolationLevel: this.config.readCommitted ? 1 : 0,
          topics: groupByTopic(ps).map(([name, list]) => ({ name, partitions: list.map((o) => ({ partitionIndex: o.partition, timestamp })) })),
        });
        for (const t of res.topics) for (const p of t.partitions) {
          const o = ps.find((x) => x.topic === t.name && x.partition === p.partitionIndex);
          if (!o || o.position >= 0) continue;
          if (p.errorCode === ErrorCode.NONE) { o.position = o.next = p.offset; o.positionEpoch = -1; }
          else if (isStaleMetadataError(p.errorCode)) this.#metadata.request();
          else this.#fail(kafkaErrorFor(p.errorCode, `ListOffsets for ${t.name}-${p.partitionIndex}`));
        }
      } catch (e) {
        if (e instanceof KafkasmError && !e.retriable) this.#fail(e);
        else this.#metadata.request();
      }
    }));
  }

  #byLeader(parts: Owned[]): Map<number, Owned[]> {
    const out = new Map<number, Owned[]>();
    for (const o of parts) {
      const p = this.#metadata.topic(o.topic).partitions?.[o.partition];
      if (!p || p.leaderId < 0 || !this.#brokers.has(p.leaderId)) { this.#metadata.request(); continue; }
      let list = out.get(p.leaderId);
      if (!list) out.set(p.leaderId, (list = []));
      list.push(o);
    }
    return out;
  }

  #takeReady(): Buffered[] {
    const out = this.#ready.filter((b) => b.version === b.owned.version && !b.owned.paused && this.#owned.get(key(b.owned.topic, b.owned.partition)) === b.owned);
    this.#ready = [];
    return out;
  }

  #startFetches(): void {
    const buffered = new Set(this.#ready.map((b) => b.owned));
    const fetchable = [...this.#owned.values()].filter((o) => o.position >= 0 && !o.paused && !buffered.has(o));
    const now = this.#clock.now();
    for (const [leader, parts] of this.#byLeader(fetchable)) {
      if (this.#inFlight.has(leader) || (this.#backoffUntil.get(leader) ?? 0) > now) continue;
      const p = this.#fetch(leader, parts).catch((e) => {
        if (e instanceof KafkasmError && !e.retriable) this.#fail(e);
        this.#backoffUntil.set(leader, this.#clock.now() + this.config.retryBackoffMs);
        this.#metadata.request();
      }).finally(() => {
        this.#inFlight.delete(leader);
        this.#wake();
      });
      this.#inFlight.set(leader, p);
    }
  }

  async #fetch(leader: number, parts: Owned[]): Promise<void> {
    const c = this.config;
    const conn: Connection = await this.#brokers.connect(leader);
    const v = Math.min(FETCH_MAX_VERSION, versionFor(conn, Fetch));
    const sent = parts.map((o) => ({ o, version: o.version, position: o.position }));
    const done = this.#obs.fetch(conn.address, leader, parts.length);
    const tally = { records: 0, bytes: 0 };
    try {
      const res = await conn.request(Fetch, v, {
        maxWaitMs: c.maxWaitMs, minBytes: c.minBytes, maxBytes: c.maxBytes, isolationLevel: c.readCommitted ? 1 : 0,
        sessionId: 0, sessionEpoch: -1,
        topics: groupByTopic(parts).map(([topic, list]) => ({
          topic, partitions: list.map((o) => ({
            partition: o.partition, fetchOffset: o.position, partitionMaxBytes: c.maxPartitionBytes, logStartOffset: -1,
            currentLeaderEpoch: this.#metadata.topic(o.topic).partitions?.[o.partition]?.leaderEpoch ?? -1, lastFetchedEpoch: -1,
          })),
        })),
      });
      if (res.errorCode !== ErrorCode.NONE) throw kafkaErrorFor(res.errorCode, `Fetch from broker ${leader}`);
      for (const t of res.responses) {
        for (const pr of t.partitions) {
          const s = sent.find((x) => x.o.topic === t.topic && x.o.partition === pr.partitionIndex);
          // Seeked, paused or revoked while the fetch was out: its answer no longer applies.
          if (!s || s.o.version !== s.version || s.o.position !== s.position || this.#closed) continue;
          await this.#partitionResponse(s.o, s.version, pr, tally);
        }
      }
    } catch (e) {
      done(tally.records, tally.bytes, asKafkasmError(e, "CONNECTION_ERROR", `Fetch from broker ${leader}`, true));
      throw e;
    }
    done(tally.records, tally.bytes);
  }

  async #partitionResponse(o: Owned, version: number, pr: FetchPartitionResponse, tally: { records: number; bytes: number }): Promise<void> {
    const code = pr.errorCode;
    const counters = this.#obs.partition(o.topic, o.partition);
    if (code !== ErrorCode.NONE) {
      const name = kafkaErrorInfo(code).name;
      counters.errors[name] = (counters.errors[name] ?? 0) + 1;
    }
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      o.position = -1;
      await this.#reset([o]);
      return;
    }
    if (code !== ErrorCode.NONE) {
      if (isStaleMetadataError(code) || code === ErrorCode.NOT_LEADER_OR_FOLLOWER) { this.#metadata.request(); return; }
      const e = kafkaErrorFor(code, `Fetch from ${o.topic}-${o.partition} at offset ${o.position}`);
      if (!e.retriable) this.#fail(e);
      return;
    }
    o.highWatermark = this.config.readCommitted && pr.lastStableOffset >= 0 ? pr.lastStableOffset : pr.highWatermark;
    const bytes = pr.records;
    if (!bytes || bytes.length === 0) return;
    const batches = await decodeRecordBatchesAsync(bytes, { codecForAttribute, allowPartialTrailingBatch: true });
    if (o.version !== version) return;
    if (batches.length === 0) {
      // KIP-74 brokers return a first batch over the limits whole: a partial one alone is a broken answer.
      throw new ClientError("RECORD_TOO_LARGE", `Cannot consume ${o.topic}-${o.partition} at offset ${o.position}: the next batch is larger than maxBytes ${this.config.maxBytes}`);
    }
    const records = this.#records(o, batches, pr.abortedTransactions);
    counters.batches += batches.length;
    counters.records += records.length;
    counters.bytes += bytes.length;
    tally.records += records.length;
    tally.bytes += bytes.length;
    const last = batches[batches.length - 1];
    o.position = Math.max(o.position, last.baseOffset + last.lastOffsetDelta + 1);
    o.positionEpoch = last.partitionLeaderEpoch;
    if (records.length > 0) this.#ready.push({ owned: o, version, batch: { topic: o.topic, partition: o.partition, highWatermark: o.highWatermark, records } });
  }

  /**
   * The application's records from decoded batches: none before the fetch offset (a compressed batch
   * starts earlier), no control batches, and under read_committed none of an aborted transaction
   * (Java's Fetcher: a producer's transaction is aborted from its first offset in
   * aborted_transactions until its ABORT marker).
   */
  #records(o: Owned, batches: RecordBatch[], aborted: { producerId: number; firstOffset: number }[] | null): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    const pending = this.config.readCommitted && aborted ? [...aborted].sort((a, b) => a.firstOffset - b.firstOffset) : [];
    const abortedProducers = new Set<number>();
    const from = o.position;
    const { topic, partition } = o;
    for (const b of batches) {
      const lastOffset = b.baseOffset + b.lastOffsetDelta;
      if (lastOffset < from) continue;
      while (pending.length > 0 && pending[0].firstOffset <= lastOffset) abortedProducers.add(pending.shift()!.producerId);
      if ((b.attributes & CONTROL) !== 0) {
        // An ABORT marker (control key type 0) ends that producer's aborted transaction.
        const k = b.records[0]?.key;
        if (k && k.length >= 4 && ((k[2] << 8) | k[3]) === 0) abortedProducers.delete(b.producerId);
        continue;
      }
      if ((b.attributes & TRANSACTIONAL) !== 0 && abortedProducers.has(b.producerId)) continue;
      const leaderEpoch = b.partitionLeaderEpoch;
      for (const r of b.records) {
        if (r.offset < from) continue;
        out.push({ topic, partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers, leaderEpoch });
      }
    }
    return out;
  }

  // ---- commits ----

  #handedOffsets(): TopicPartitionOffset[] {
    return this.#offsetsOf([...this.#owned.values()]);
  }

  #offsetsOf(parts: Owned[]): TopicPartitionOffset[] {
    return parts.filter((o) => o.next >= 0 && o.next !== o.committed)
      .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.next, leaderEpoch: o.nextEpoch }));
  }

  #maybeAutoCommit(): void {
    if (!this.config.autoCommit) return;
    const now = this.#clock.now();
    if (now - this.#lastCommitAt < this.config.autoCommitIntervalMs) return;
    this.#lastCommitAt = now;
    const offsets = this.#handedOffsets();
    if (offsets.length > 0) this.#commit(offsets, false).catch(() => {});
  }

  async #commit(offsets: TopicPartitionOffset[], strict: boolean): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.#group.commit(offsets, strict);
    } catch (e) {
      this.#obs.commit(offsets, asKafkasmError(e, "ILLEGAL_STATE", "OffsetCommit"));
      throw e;
    }
    this.#obs.commit(offsets);
    for (const tp of offsets) {
      const o = this.#owned.get(key(tp.topic, tp.partition));
      if (o) o.committed = tp.offset;
    }
  }

  // ---- plumbing ----

  async #partitionCounts(topics: string[]): Promise<Map<string, number>> {
    for (const t of topics) this.#metadata.topic(t);
    const deadline = this.#clock.now() + this.config.requestTimeoutMs;
    for (;;) {
      const counts = new Map<string, number>();
      let missing = false;
      for (const t of topics) {
        const m = this.#metadata.topic(t);
        if (m.partitions) counts.set(t, m.partitions.length);
        else if (!m.error || m.error.retriable) missing = true;
      }
      if (!missing || this.#clock.now() >= deadline || this.#closed) return counts;
      this.#metadata.request();
      await this.#sleep(this.config.retryBackoffMs + 10);
    }
  }

  #ownedOrThrow(tp: TopicPartition, what: string): Owned {
    const o = this.#owned.get(key(tp.topic, tp.partition));
    if (!o) throw new ClientError("INVALID_CONFIG", `Cannot ${what} ${tp.topic}-${tp.partition}: it is not assigned to this consumer`);
    return o;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClientError("CONSUMER_CLOSED", "The consumer is closed");
  }

  #fail(e: KafkasmError): void {
    this.#error ??= e;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  /** Waits for a wake-up (a fetch answered, a rebalance, close) or `ms`. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: TimerHandle;
      const prev = this.#waiter;
      this.#waiter = () => { this.#clock.clearTimeout(timer); prev?.(); resolve(); };
      timer = this.#clock.setTimeout(() => { if (this.#waiter) this.#wake(); else resolve(); }, ms);
    });
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function groupByTopic(parts: Owned[]): [string, Owned[]][] {
  const m = new Map<string, Owned[]>();
  for (const o of parts) {
    let l = m.get(o.topic);
    if (!l) m.set(o.topic, (l = []));
    l.push(o);
  }
  return [...m];
}

export { KafkaError };
