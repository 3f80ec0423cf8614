/**
 * The accumulator's state: per topic its partitions, per partition a deque of batches, each batch an
 * A `RecordBatchBuilder` staging records in WASM memory until it is drained. Per record the batch
 * keeps only four array slots (the record, its resolve/callback, reject marker and timestamp): no
 * objects or closures per record.
 */
import type { RecordBatchBuilder } from "../../bindings/codec.ts";
import type { KafkasmError } from "../errors.ts";
import type { ProducerRecord, RecordMetadata } from "./config.ts";
import { newPartitionerState, type PartitionerState } from "./partitioner.ts";

/** Marks a slot whose "resolve" is a Node-style callback `(err, meta) => void`. */
export const CALLBACK = 1;
/** Slots per record in {@link Batch.slots}: record, resolve (or callback), reject (or CALLBACK), timestamp. */
export const STRIDE = 4;

let nextBatchId = 1;

/** Slot arrays of finished batches, cleared and reused: a new batch's array need not grow from empty. */
const slotPool: unknown[][] = [];
const SLOT_POOL_MAX = 256;

export class Batch {
  /** Creation order; restores order when retried batches are put back (non-idempotent). Halves of a
   *  split batch (split.ts) take ids between its id and the next batch's. */
  id = nextBatchId++;
  // `declare`: assigned in the constructor; a bare field definition would cost browser bundle bytes.
  declare readonly tp: PartitionState;
  declare readonly createdAt: number;
  declare builder: RecordBatchBuilder | null;
  /** Built RecordBatch bytes (kept for retries: a retry resends the same bytes). */
  bytes: Uint8Array | null = null;
  /** [record, resolve|callback|null, reject|CALLBACK|null, timestamp] per record; the array may be longer (reused). */
  slots: unknown[] = slotPool.pop() ?? [];
  recordCount = 0;
  /** Bytes counted against bufferMemory. */
  accounted = 0;
  /** No more appends (full, drained, or flushed). */
  closed = false;
  /** Idempotence: assigned at first drain, kept across retries unless the epoch is bumped. */
  baseSequence = -1;
  producerId = -1;
  producerEpoch = -1;
  attempts = 0;
  /** Earliest time of the next send attempt (retry backoff). */
  retryAt = 0;
  inFlight = false;
  done = false;
  /** Error of the last failed attempt, reported if the batch then expires. */
  lastError: KafkasmError | undefined;
  waiters: (() => void)[] | undefined;

  constructor(tp: PartitionState, builder: RecordBatchBuilder, now: number) {
    this.tp = tp;
    this.builder = builder;
    this.createdAt = now;
  }

  /** Records one appended record's slots. */
  add(record: unknown, resolve: unknown, reject: unknown, timestamp: number): void {
    const s = this.slots;
    const i = this.recordCount * STRIDE;
    if (i < s.length) {
      s[i] = record; s[i + 1] = resolve; s[i + 2] = reject; s[i + 3] = timestamp;
    } else {
      s.push(record, resolve, reject, timestamp);
    }
    this.recordCount++;
  }

  /** Resolves when the batch is complete (acknowledged or failed). */
  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((r) => (this.waiters ??= []).push(r));
  }

  /** Completes every record with its metadata. `baseOffset` -1 (acks 0, unknown) gives offset -1 for all. */
  succeed(baseOffset: number, logAppendTime: number, onCallbackError: (e: unknown) => void): void {
    if (this.done) return;
    const s = this.slots;
    const topic = this.tp.topic;
    const partition = this.tp.partition;
    for (let i = 0, j = 0, end = this.recordCount * STRIDE; i < end; i += STRIDE, j++) {
      const resolve = s[i + 1] as ((v: unknown) => void) | ((e: unknown, m?: RecordMetadata) => void) | null;
      if (resolve === null) continue; // produce(): nothing to tell
      const meta: RecordMetadata = {
        topic, partition, offset: baseOffset < 0 ? -1 : baseOffset + j, timestamp: logAppendTime >= 0 ? logAppendTime : (s[i + 3] as number),
      };
      if (s[i + 2] === CALLBACK) {
        try { (resolve as (e: unknown, m?: RecordMetadata) => void)(null, meta); } catch (e) { onCallbackError(e); }
      } else {
        (resolve as (v: unknown) => void)(meta);
      }
    }
    this.finish();
  }

  /** Fails every record with `error`: promise rejected or callback called; fire-and-forget records go to `onError`. */
  fail(error: KafkasmError, onError: ((e: KafkasmError, r: ProducerRecord<any, any>) => void) | undefined,
    onDeadLetter: ((r: ProducerRecord<any, any>, e: KafkasmError) => void) | undefined, onCallbackError: (e: unknown) => void): void {
    if (this.done) return;
    const s = this.slots;
    for (let i = 0, end = this.recordCount * STRIDE; i < end; i += STRIDE) {
      failSlot(s[i] as ProducerRecord<any, any>, s[i + 1], s[i + 2], error, onError, onDeadLetter, onCallbackError);
    }
    this.finish();
  }

  private finish(): void {
    this.done = true;
    const s = this.slots;
    this.slots = [];
    if (slotPool.length < SLOT_POOL_MAX && s.length <= 65536) {
      s.fill(undefined, 0, this.recordCount * STRIDE);
      slotPool.push(s);
    }
    if (this.builder) {
      this.builder.release();
      this.builder = null;
    }
    this.bytes = null;
    const w = this.waiters;
    this.waiters = undefined;
    if (w) for (const f of w) f();
  }
}

/** Delivers a final failure for one record to whoever is waiting for it, and to the hooks. */
export function failSlot(record: ProducerRecord<any, any>, resolve: unknown, reject: unknown, error: KafkasmError,
  onError: ((e: KafkasmError, r: ProducerRecord<any, any>) => void) | undefined,
  onDeadLetter: ((r: ProducerRecord<any, any>, e: KafkasmError) => void) | undefined, onCallbackError: (e: unknown) => void): void {
  if (onDeadLetter) {
    try { onDeadLetter(record, error); } catch (e) { onCallbackError(e); }
  }
  if (reject === CALLBACK) {
    try { (resolve as (e: unknown) => void)(error); } catch (e) { onCallbackError(e); }
  } else if (reject !== null && reject !== undefined) {
    (reject as (e: unknown) => void)(error);
  } else if (onError) {
    try { onError(error, record); } catch (e) { onCallbackError(e); }
  }
}

/** One topic-partition: its leader, its batches, and (idempotent) its sequence state. */
export class PartitionState {
  declare readonly topic: string;
  declare readonly partition: number;
  leaderId = -1;
  leaderEpoch = -1;
  /** Batches not in flight, oldest first; the last one may be open for appends. */
  queue: Batch[] = [];
  /** Batches sent and awaiting a response, in send order (= sequence order when idempotent). */
  inFlight: Batch[] = [];
  /** The open batch (last of `queue`), if any. */
  open: Batch | null = null;
  /** Idempotence: the sequence the next new batch gets. */
  nextSequence = 0;
  /** Idempotence: a batch failed and is being resent; one batch in flight until a resend is acknowledged. */
  recovering = false;
  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }
}

/** A topic's metadata and partitions, as far as known. */
export class TopicState {
  declare readonly name: string;
  /** Null until the first metadata answer with partitions. */
  partitions: PartitionState[] | null = null;
  /** Partitions with a known leader (the sticky partitioner prefers them). */
  available: number[] = [];
  readonly partitioner: PartitionerState = newPartitionerState();
  /** The last metadata error for the topic (e.g. UNKNOWN_TOPIC_OR_PARTITION while it is being created). */
  error: KafkasmError | undefined;
  constructor(name: string) {
    this.name = name;
  }
}
