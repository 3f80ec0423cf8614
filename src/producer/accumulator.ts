/**
 * The accumulator's state: per topic its partitions, per partition a buffer (franz-go's recBuf)
 * owning its batches, each a `RecordBatchBuilder` staging records in WASM memory until it is drained.
 * A batch's life is its `state`, changed only by the partition's methods, which check each step:
 * open → closed (→ compressing → closed) → in flight → done, or in flight → retrying → in flight.
 * Per record a batch keeps its record, resolve/callback, reject marker and timestamp in a `Records`
 * (struct-of-arrays, records.ts): no objects or closures per record.
 */
import type { BatchHeader, RecordBatchBuilder } from "../../bindings/codec.ts";
import { ClientError, type KafkasmError } from "../errors.ts";
import type { ProducerRecord, RecordMetadata } from "./config.ts";
import { newPartitionerState, type PartitionerState } from "./partitioner.ts";
import { CALLBACK, Records } from "./records.ts";

/** Batch states: appending; full or due (no more appends); being compressed in the background;
 *  sent, awaiting its answer; back in the queue to be resent (or split); completed. */
export const OPEN = 0, CLOSED = 1, COMPRESSING = 2, IN_FLIGHT = 3, RETRYING = 4, DONE = 5;

let nextBatchId = 1;

/** Records of finished batches, cleared and reused: a new batch's arrays need not grow from empty. */
const pool: Records[] = [];
/** A finished batch's records: none (its own went back to the pool). */
const NONE = new Records(3, 1);

export class Batch {
  /** Creation order; restores order when retried batches are put back (non-idempotent). Halves of a
   *  split batch (split.ts) take ids between its id and the next batch's. */
  id = nextBatchId++;
  // `declare`: assigned in the constructor; a bare field definition would cost browser bundle bytes.
  declare readonly tp: PartitionState;
  declare readonly createdAt: number;
  declare builder: RecordBatchBuilder | null;
  /** OPEN … DONE; written only by PartitionState. */
  state = OPEN;
  /** Built RecordBatch bytes (kept for retries: a retry resends the same bytes): its copy in the first request frame. */
  bytes: Uint8Array | null = null;
  /** Set once sequenced, while `bytes` is null: the header its builder encodes with as the request frame is written. */
  header: BatchHeader | null = null;
  records: Records = pool.pop() ?? new Records(3, 1);
  /** Bytes counted against bufferMemory. */
  accounted = 0;
  /** Idempotence: assigned at first drain, kept across retries unless the epoch is bumped. */
  baseSequence = -1;
  producerId = -1;
  producerEpoch = -1;
  attempts = 0;
  /** Earliest time of the next send attempt (retry backoff). */
  retryAt = 0;
  /** Error of the last failed attempt, reported if the batch then expires. */
  lastError: KafkasmError | undefined;
  waiters: (() => void)[] | undefined;

  constructor(tp: PartitionState, builder: RecordBatchBuilder, now: number) {
    this.tp = tp;
    this.builder = builder;
    this.createdAt = now;
  }

  get done(): boolean {
    return this.state === DONE;
  }

  get recordCount(): number {
    return this.records.length;
  }

  // RecordsSource (protocol/produce.ts): the Produce frame takes its one copy from WASM memory.
  get sizeInBytes(): number {
    return this.bytes?.length ?? this.builder!.sizeInBytes;
  }

  encode(): Uint8Array {
    return this.bytes ?? this.builder!.encode(this.header!, 0, "build a RecordBatch");
  }

  /** Resolves when the batch is complete (acknowledged or failed). */
  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((r) => (this.waiters ??= []).push(r));
  }

  /** Completes every record with its metadata. `baseOffset` -1 (acks 0, unknown) gives offset -1 for all. */
  succeed(baseOffset: number, logAppendTime: number, onCallbackError: (e: unknown) => void): void {
    if (this.done) return;
    const r = this.records;
    const topic = this.tp.topic;
    const partition = this.tp.partition;
    for (let i = 0; i < r.length; i++) {
      const resolve = r.resolve(i) as ((v: unknown) => void) | ((e: unknown, m?: RecordMetadata) => void) | null;
      if (resolve === null) continue; // produce(): nothing to tell
      const meta: RecordMetadata = {
        topic, partition, offset: baseOffset < 0 ? -1 : baseOffset + i, timestamp: logAppendTime >= 0 ? logAppendTime : r.time(i),
      };
      if (r.reject(i) === CALLBACK) {
        try { (resolve as (e: unknown, m?: RecordMetadata) => void)(null, meta); } catch (e) { onCallbackError(e); }
      } else {
        (resolve as (v: unknown) => void)(meta);
      }
    }
    this.#finish();
  }

  /** Fails every record with `error`: promise rejected or callback called; fire-and-forget records go to `onError`. */
  fail(error: KafkasmError, onError: ((e: KafkasmError, r: ProducerRecord<any, any>) => void) | undefined,
    onDeadLetter: ((r: ProducerRecord<any, any>, e: KafkasmError) => void) | undefined, onCallbackError: (e: unknown) => void): void {
    if (this.done) return;
    const r = this.records;
    for (let i = 0; i < r.length; i++) {
      failSlot(r.record(i) as ProducerRecord<any, any>, r.resolve(i), r.reject(i), error, onError, onDeadLetter, onCallbackError);
    }
    this.#finish();
  }

  #finish(): void {
    this.tp.finish(this);
    const r = this.records;
    if (pool.length < 256 && r.o.length <= 49152) {
      r.clear();
      pool.push(r);
    }
    this.records = NONE;
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

/**
 * One topic-partition: its leader, and the buffer of its batches (franz-go's recBuf): every change
 * of a batch's state is one of the methods below, each checking the state it starts from.
 */
export class PartitionState {
  declare readonly topic: string;
  declare readonly partition: number;
  leaderId = -1;
  leaderEpoch = -1;
  /** Batches not in flight, oldest first; the last one may be OPEN. */
  readonly queue: Batch[] = [];
  /** Batches sent and awaiting a response, in send order (= sequence order when idempotent). */
  readonly inFlight: Batch[] = [];
  /** Idempotence: the sequence the next new batch gets. */
  nextSequence = 0;
  /** Staging bytes of its last released batch (see nextStaging). */
  stagingHint = 0;
  /** Idempotence: a batch failed and is being resent; one batch in flight until a resend is acknowledged. */
  recovering = false;
  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  /** The batch records are appended to, if any (always the last of the queue). */
  get open(): Batch | null {
    const b = this.queue[this.queue.length - 1];
    return b !== undefined && b.state === OPEN ? b : null;
  }

  /** Where a new batch's staging block starts (no growing copies): what the previous batch staged, still staged (full, or compressing) or released. */
  get nextStaging(): number {
    return this.queue[this.queue.length - 1]?.builder?.stagingBytes ?? this.stagingHint;
  }

  /** Moves `b` to state `to` if it is in one of the states of the bit mask `from`; anything else is a bug. */
  #to(b: Batch, to: number, from: number): void {
    if (!((from >> b.state) & 1)) throw new ClientError("ILLEGAL_STATE", `Batch ${b.id}: state ${b.state} to ${to}`);
    b.state = to;
  }

  /** A new open batch, after the one before it was closed. */
  add(b: Batch): void {
    const open = this.open;
    if (open) this.close(open);
    this.queue.push(b);
  }

  /** No more appends: full, due, or being drained. */
  close(b: Batch): void {
    this.#to(b, CLOSED, 1 << OPEN);
  }

  /** Removes a batch just opened for a record that then failed to stage (it holds no records). */
  discard(b: Batch): void {
    this.#to(b, DONE, 1 << OPEN);
    this.queue.pop();
  }

  /** Compression runs in the background; `compressed` when it ends. */
  compressing(b: Batch): void {
    this.#to(b, COMPRESSING, 1 << CLOSED);
  }

  compressed(b: Batch): void {
    this.#to(b, CLOSED, 1 << COMPRESSING);
  }

  /** Takes the head of the queue into flight. */
  send(b: Batch): void {
    this.#to(b, IN_FLIGHT, 1 << CLOSED | 1 << RETRYING);
    remove(this.queue, b);
    this.inFlight.push(b);
    b.attempts++;
  }

  /** Back into the queue in creation (= sequence) order, to be resent at `retryAt`; `recover`: idempotent. */
  retry(b: Batch, retryAt: number, recover: boolean): void {
    this.#to(b, RETRYING, 1 << IN_FLIGHT);
    remove(this.inFlight, b);
    b.retryAt = retryAt;
    const q = this.queue;
    let i = 0;
    while (i < q.length && q[i].id < b.id) i++;
    q.splice(i, 0, b);
    if (recover) this.recovering = true;
  }

  /** split.ts: `b` (held, RETRYING) gives its place and its records to two closed halves; it completes when they have. */
  replace(b: Batch, first: Batch, second: Batch): void {
    this.#to(first, CLOSED, 1 << OPEN);
    this.#to(second, CLOSED, 1 << OPEN);
    this.#to(b, RETRYING, 1 << RETRYING);
    this.queue.splice(this.queue.indexOf(b), 1, first, second);
    b.records.clear();
  }

  /** Acknowledged: a partition recovering from a failure pipelines again once its resends are through. */
  acknowledged(b: Batch): void {
    this.#to(b, IN_FLIGHT, 1 << IN_FLIGHT);
    remove(this.inFlight, b);
    if (this.recovering && this.inFlight.length === 0 && (this.queue.length === 0 || this.queue[0].attempts === 0)) this.recovering = false;
  }

  /** Done (Batch.succeed / fail): out of the queue and out of flight. */
  finish(b: Batch): void {
    this.#to(b, DONE, ~(1 << DONE));
    remove(this.inFlight, b);
    remove(this.queue, b);
  }

  /** Idempotence: the next sequence for `b`, and the one after its records for the next batch. */
  sequence(b: Batch, producerId: number, producerEpoch: number): void {
    b.baseSequence = this.nextSequence;
    b.producerId = producerId;
    b.producerEpoch = producerEpoch;
    this.nextSequence = (this.nextSequence + b.recordCount) % 0x80000000; // Kafka's DefaultRecordBatch.incrementSequence
  }

  /** After a new epoch or ProducerId: sequences restart at 0; queued batches get new ones when resent. */
  resetSequences(): void {
    this.nextSequence = 0;
    this.recovering = false;
    for (const b of this.queue) b.baseSequence = -1;
  }
}

function remove(list: Batch[], b: Batch): void {
  // Not splice: it allocates the array of removed elements, once per batch sent and acknowledged.
  const i = list.indexOf(b);
  if (i >= 0) list.copyWithin(i, i + 1), list.pop();
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
