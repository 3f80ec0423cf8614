/**
 * The metadata cache: each topic's partitions, their leaders and leader epochs, refreshed on demand
 * (stale-metadata errors, unknown topics, lost leaders) and by age (`metadataMaxAgeMs`); refreshes are
 * coalesced and spaced by `retryBackoffMs`. It writes into topic and partition objects its owner
 * makes (`Topic`, `Partition`: classes), so the producer keeps per-partition state on the same object.
 */
import { KafkasmError, kafkaErrorFor } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import { Metadata, type MetadataResponse, type MetadataTopic } from "../protocol/metadata.ts";
import type { Brokers } from "./brokers.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { versionFor } from "./versions.ts";

/** What the cache keeps of a partition. */
export interface PartitionMetadata {
  readonly partition: number;
  /** -1 while the partition has no leader. */
  leaderId: number;
  /** -1 until a broker names one. */
  leaderEpoch: number;
}

/** What the cache keeps of a topic; `partitions` is null until the first answer lists them. */
export interface TopicMetadata<P extends PartitionMetadata = PartitionMetadata> {
  readonly name: string;
  partitions: P[] | null;
  /** Partitions whose leader is a known broker. */
  available: number[];
  /** The topic's error in the last answer (or a failed check), if any; for a topic not known yet, a
   *  non-retriable failure to ask at all (SASL refused, untrusted certificate), so its records fail at once. */
  error: KafkasmError | undefined;
}

/** Checks of broker answers that parse but make no sense (the producer's checks.ts, a lazy chunk). */
export interface MetadataChecks {
  checkBrokers(res: MetadataResponse): void;
  /** The topic's error, or undefined when its answer is sound. */
  checkTopic(mt: MetadataTopic): KafkasmError | undefined;
}

export interface MetadataOptions {
  retryBackoffMs: number;
  metadataMaxAgeMs: number;
}

/** Errors after which the partition's leader is probably stale. */
export function isStaleMetadataError(code: number): boolean {
  return code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.LEADER_NOT_AVAILABLE || code === ErrorCode.NOT_LEADER_OR_FOLLOWER
    || code === ErrorCode.REPLICA_NOT_AVAILABLE || code === ErrorCode.KAFKA_STORAGE_ERROR || code === ErrorCode.FENCED_LEADER_EPOCH
    || code === ErrorCode.UNKNOWN_LEADER_EPOCH || code === ErrorCode.UNKNOWN_TOPIC_ID || code === ErrorCode.NOT_CONTROLLER;
}

export class MetadataCache<T extends TopicMetadata<P>, P extends PartitionMetadata = PartitionMetadata> {
  readonly topics = new Map<string, T>();
  #brokers: Brokers;
  #config: MetadataOptions;
  #clock: Clock;
  #Topic: new (name: string) => T;
  #Partition: new (topic: string, partition: number) => P;
  #checks: () => Promise<MetadataChecks>;
  #refreshing = false;
  #again = false;
  #timer: TimerHandle | undefined;
  #timerAt = 0;
  #lastAttempt = -Infinity;
  #lastSuccess = 0;
  #closed = false;
  /** Called after every refresh attempt (successful or not). */
  onUpdate: () => void = () => {};
  /** Why the last refresh attempt failed as a whole (no broker reachable), until one succeeds. */
  lastError: KafkasmError | undefined;

  constructor(brokers: Brokers, config: MetadataOptions, clock: Clock, Topic: new (name: string) => T,
    Partition: new (topic: string, partition: number) => P, checks: () => Promise<MetadataChecks>) {
    this.#brokers = brokers;
    this.#config = config;
    this.#clock = clock;
    this.#Topic = Topic;
    this.#Partition = Partition;
    this.#checks = checks;
    // The first refresh comes with the first topic; age counts from construction.
    this.#lastSuccess = clock.now();
  }

  /** The topic's state; a new topic triggers a metadata request. */
  topic(name: string): T {
    let t = this.topics.get(name);
    if (!t) {
      t = new this.#Topic(name);
      this.topics.set(name, t);
      this.request();
    }
    return t;
  }

  /** Refreshes by age: call now and then (the sender does on each drain). */
  checkAge(now: number): void {
    if (now - this.#lastSuccess >= this.#config.metadataMaxAgeMs) this.request();
  }

  /** Asks for a refresh soon: now, or `retryBackoffMs` after the previous attempt; coalesced. */
  request(): void {
    if (this.#closed) return;
    if (this.#refreshing) {
      this.#again = true;
      return;
    }
    const at = this.#lastAttempt + this.#config.retryBackoffMs;
    const now = this.#clock.now();
    if (at <= now) {
      void this.#refresh();
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.request();
    }, at - now);
  }

  /** Forgets a topic (after its waiting records failed), so it is no longer refreshed. */
  forget(name: string): void {
    const t = this.topics.get(name);
    if (t && t.partitions === null) this.topics.delete(name);
  }

  async #refresh(): Promise<void> {
    this.#refreshing = true;
    this.#again = false;
    this.#lastAttempt = this.#clock.now();
    try {
      // Loaded already when a Producer started: then only microtasks pass (manual-clock tests stay deterministic).
      const c = await this.#checks();
      const conn = await this.#brokers.any();
      const version = versionFor(conn, Metadata);
      const names = [...this.topics.keys()];
      const res = await conn.request(Metadata, version, { topics: names, allowAutoTopicCreation: true });
      if (this.#closed) return;
      c.checkBrokers(res);
      this.#brokers.setBrokers(res.brokers);
      this.#lastSuccess = this.#clock.now();
      this.lastError = undefined;
      for (const mt of res.topics) {
        const t = mt.name === null ? undefined : this.topics.get(mt.name);
        if (!t) continue; // a topic not asked for changes nothing
        // Only this topic fails (retriable: asked again after a backoff); the others in the answer apply.
        const bad = c.checkTopic(mt);
        if (bad) t.error = bad;
        else this.#apply(t, mt);
      }
      for (const t of this.topics.values()) {
        if (t.partitions === null || t.available.length < t.partitions.length) this.#again = true;
      }
    } catch (e) {
      this.lastError = e as KafkasmError;
      this.#again = true;
      // Waiting maxBlockMs cannot fix wrong credentials: topics without metadata carry the error, so
      // their waiting records fail now (the owner fails records of a topic with a non-retriable error).
      if (e instanceof KafkasmError && !e.retriable) {
        for (const t of this.topics.values()) if (t.partitions === null) t.error = e;
      }
    } finally {
      this.#refreshing = false;
    }
    if (this.#closed) return;
    this.onUpdate();
    if (this.#again) this.request();
  }

  #apply(t: T, mt: MetadataTopic): void {
    if (mt.errorCode !== ErrorCode.NONE && mt.partitions.length === 0) {
      t.error = kafkaErrorFor(mt.errorCode, `Metadata for topic ${JSON.stringify(t.name)}`);
      if (t.partitions) for (const p of t.partitions) p.leaderId = -1;
      t.available = [];
      return;
    }
    t.error = mt.errorCode !== ErrorCode.NONE ? kafkaErrorFor(mt.errorCode, `Metadata for topic ${JSON.stringify(t.name)}`) : undefined;
    // Indexes are 0..n-1 (checkTopic), so this allocates as many partitions as the answer lists.
    const parts = t.partitions ?? [];
    for (let i = parts.length; i < mt.partitions.length; i++) parts.push(new this.#Partition(t.name, i));
    for (const mp of mt.partitions) {
      const p = parts[mp.partitionIndex];
      // An answer from a broker that has not seen the latest leader election yet is older: skip it.
      if (mp.leaderEpoch >= 0 && p.leaderEpoch >= 0 && mp.leaderEpoch < p.leaderEpoch) continue;
      p.leaderId = mp.errorCode === ErrorCode.NONE || mp.leaderId >= 0 ? mp.leaderId : -1;
      if (mp.leaderEpoch >= 0) p.leaderEpoch = mp.leaderEpoch;
    }
    t.partitions = parts;
    const available: number[] = [];
    for (const p of parts) if (p.leaderId >= 0 && this.#brokers.has(p.leaderId)) available.push(p.partition);
    t.available = available;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
