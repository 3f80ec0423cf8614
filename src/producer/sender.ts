/**
 * The sender: drains ready batches into one Produce request per leader broker (one batch per
 * partition per request, at most `maxInFlight` requests per connection), completes records from the
 * responses, and retries retriable failures with exponential backoff and jitter, bounded by `retries`
 * and `deliveryTimeoutMs`.
 *
 * Ordering with idempotence: a partition's batches get consecutive sequences when first drained and
 * keep them. When one needs a retry, the partition sends nothing more until every batch it has in
 * flight has come back (later ones fail too, or succeed if the earlier one had in fact been written);
 * the failed batches are put back in sequence order and resent one at a time from the lowest, then
 * pipelining resumes once a resent batch is acknowledged. Like the Java client, this keeps up to 5 in
 * flight without reordering or duplicates.
 */
import type { Codec } from "../../bindings/codec.ts";
import type { CompressionCodec } from "../compression/codec.ts";
import { asKafkasmError, ClientError, type KafkasmError } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import { Produce, type ProducePartitionData, type ProduceRequest, type ProduceResponse, type ProduceTopicData } from "../protocol/produce.ts";
import { Batch, COMPRESSING, OPEN, type PartitionState } from "./accumulator.ts";
import type { Clock, TimerHandle } from "../client/clock.ts";
import type { ProducerRecord, ResolvedConfig } from "./config.ts";
import type { Connection } from "../client/connection.ts";
import { type ProducerIdState, restampBatch } from "./idempotence.ts";
import type { buildCompressed } from "../../bindings/compressed-batch.ts";
import type { Brokers } from "../client/brokers.ts";
import { isStaleMetadataError } from "../client/metadata.ts";
import { versionFor } from "../client/versions.ts";
import type { MetadataCache } from "./metadata.ts";
import type { Metrics } from "./metrics.ts";
import type { TransactionManager } from "./transactions.ts";

const NO_PRODUCER = { producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false };
/** Placeholder header of a compressed transactional batch; restamped with the producer state when sent. */
const NO_PRODUCER_TXN = { ...NO_PRODUCER, transactional: true };
/** The broker keeps the last 5 batches per producer and partition for duplicate detection. */
const MAX_IDEMPOTENT_IN_FLIGHT = 5;

export interface SenderHooks {
  onError: ((e: KafkasmError, r: ProducerRecord<any, any>) => void) | undefined;
  onDeadLetter: ((r: ProducerRecord<any, any>, e: KafkasmError) => void) | undefined;
  onCallbackError: (e: unknown) => void;
  /** Buffer memory of a finished batch is free again. */
  release(bytes: number): void;
  /** flush() or close() waits, or records wait for buffer memory: every batch is ready regardless of lingerMs. */
  urgent(): boolean;
}

/**
 * Idempotence: whether the partition must not put another batch in flight now. Recovering from a
 * failure, it resends one batch at a time; at most 5 in flight; and until the batch at sequence 0
 * is acknowledged, the partition may hold no state for this producer, when a broker accepts any
 * first sequence: a later batch could land while the first fails (NOT_LEADER on a new topic), which
 * reorders and then strands the first (OUT_OF_ORDER_SEQUENCE_NUMBER on Kafka 3.6), so it goes alone.
 */
function idempotentHold(tp: PartitionState): boolean {
  const n = tp.inFlight.length;
  return n > 0 && (tp.recovering || n >= MAX_IDEMPOTENT_IN_FLIGHT || tp.inFlight[0].baseSequence === 0);
}

/** The entry for `name` among a request's topics (few, newest last: a scan from the end, no closure). */
function topicData(topics: ProduceTopicData[], name: string): ProduceTopicData | undefined {
  for (let j = topics.length - 1; j >= 0; j--) if (topics[j]!.name === name) return topics[j];
  return undefined;
}

export class Sender {
  /** Partitions with queued or in-flight batches. */
  readonly active = new Set<PartitionState>();
  #config: ResolvedConfig;
  #clock: Clock;
  #brokers: Brokers;
  #metadata: MetadataCache;
  #pid: ProducerIdState | null;
  #codec!: Codec;
  #compression: CompressionCodec | null = null;
  #build: typeof buildCompressed | undefined;
  #hooks: SenderHooks;
  #scheduled = false;
  #groups = new Map<number, PartitionState[]>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #inFlightRequests = 0;
  #closed = false;
  #drainBound = (): void => {
    // Runs from a microtask or timer: a throw here would reach the host process, so it fails what is pending instead.
    try {
      this.#drain();
    } catch (e) {
      this.failAll(asKafkasmError(e, "PROTOCOL_ERROR", "Sender failed"), false);
    }
  };
  #txn: TransactionManager | null = null;
  /** metrics.ts (counters and hooks), set by the producer once loaded: one branch per call, per batch or request. */
  declare obs: Metrics | undefined;
  /** checks.ts, set by the producer with `obs`, before the codec (so before any batch). */
  declare checks: typeof import("./checks.ts");
  /** The ProducerId and epoch the partitions' sequences belong to. */
  #sequencesPid = -1;
  #sequencesEpoch = -1;

  constructor(config: ResolvedConfig, clock: Clock, brokers: Brokers, metadata: MetadataCache, pid: ProducerIdState | null, hooks: SenderHooks) {
    this.#config = config;
    this.#clock = clock;
    this.#brokers = brokers;
    this.#metadata = metadata;
    this.#pid = pid;
    this.#hooks = hooks;
  }

  /** Transactional producers: batches go out only to partitions added to the transaction. */
  setTransactions(txn: TransactionManager): void {
    this.#txn = txn;
  }

  /** Hands over the loaded WASM codec (and compression codec, with compressed-batch.ts's builder) before the first batch. */
  setCodec(codec: Codec, compression: CompressionCodec | null, build?: typeof buildCompressed): void {
    this.#codec = codec;
    this.#compression = compression;
    this.#build = build;
  }

  /** Schedules a drain on the next microtask (coalesced). */
  wake(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(this.#drainBound);
  }

  #wakeAt(at: number, now: number): void {
    if (at >= this.#timerAt || at === Infinity) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#drainBound();
    }, Math.max(0, at - now));
  }

  /** Starts a new batch for `tp` whose staging block starts at `staging` bytes (the caller appends to it). */
  newBatch(tp: PartitionState, capacity: number, staging: number): Batch {
    const b = new Batch(tp, this.#codec.newBatchBuilder(capacity, staging), this.#clock.now());
    tp.add(b);
    this.active.add(tp);
    return b;
  }

  #drain(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    const now = this.#clock.now();
    const config = this.#config;
    this.#metadata.checkAge(now);
    const pid = this.#pid;
    let nextWake = Infinity;

    if (pid) {
      if (pid.fatal) {
        this.failAll(pid.fatal, false);
        return;
      }
      if (!pid.ready) {
        // Expire what waits too long even while there is no ProducerId.
        for (const tp of this.active) nextWake = Math.min(nextWake, this.#expire(tp, now));
        this.#wakeAt(nextWake, now);
        if (this.#txn) return; // initTransactions() and abortTransaction() manage the ProducerId
        if (pid.bumpNeeded && this.#inFlightRequests > 0) return; // bump once nothing is in flight
        if (!pid.busy && this.active.size > 0) this.#initProducerId();
        return;
      }
    }

    if (pid && (pid.producerId !== this.#sequencesPid || pid.producerEpoch !== this.#sequencesEpoch)) {
      // A new ProducerId or epoch: every partition starts again at sequence 0, before any batch is stamped.
      this.#sequencesPid = pid.producerId;
      this.#sequencesEpoch = pid.producerEpoch;
      this.obs?.epoch(pid.producerId, pid.producerEpoch);
      this.resetSequences();
    }
    const txn = this.#txn;
    if (txn) {
      for (const tp of txn.takeFailedPartitions()) {
        for (const b of [...tp.queue]) if (b.state !== COMPRESSING) this.finalFail(b, txn.abortableError ?? txn.fatalError!);
      }
    }
    // Ready partitions per leader (the map and its arrays are reused: a drain runs per send at linger 0).
    const groups = this.#groups;
    for (const g of groups.values()) g.length = 0;
    for (const tp of this.active) {
      if (tp.queue.length === 0) {
        if (tp.inFlight.length === 0) this.active.delete(tp);
        continue;
      }
      nextWake = Math.min(nextWake, this.#expire(tp, now));
      if (tp.queue.length === 0) continue;
      if (tp.leaderId < 0) {
        this.#metadata.request();
        continue;
      }
      if (txn && !txn.isAdded(tp)) continue; // AddPartitionsToTxn first
      if (pid) {
        // After a failure the partition recovers with one batch in flight: the retried batches go
        // out one at a time, in sequence order, once every later batch in flight has come back (on a
        // real broker those fail with OUT_OF_ORDER_SEQUENCE_NUMBER and are put back in order), and
        // pipelining resumes only after a retried batch is acknowledged. Stricter than the Java
        // client (which pipelines fresh batches behind a retry), so that a broker that does not
        // check sequences (librdkafka's mock) cannot reorder either.
        if (idempotentHold(tp)) continue;
      }
      const at = this.#readyAt(tp.queue[0]);
      if (at > now) {
        nextWake = Math.min(nextWake, at);
        // Connect to the leader while the batch lingers rather than when it is due: a flush on page
        // hide (or close) then finds the connection open instead of needing a handshake.
        this.#brokers.ready(tp.leaderId);
        continue;
      }
      let g = groups.get(tp.leaderId);
      if (!g) groups.set(tp.leaderId, (g = []));
      g.push(tp);
    }

    for (const [leader, parts] of groups) {
      if (parts.length === 0) continue;
      const conn = this.#brokers.ready(leader);
      if (!conn) {
        // brokers.onChange wakes us when the connection is up; after a failure, retry at its backoff.
        const r = this.#brokers.retryAt(leader);
        if (r > now) nextWake = Math.min(nextWake, r);
        if (!this.#brokers.has(leader)) this.#metadata.request();
        continue;
      }
      while (parts.length > 0 && conn.hasCapacity) {
        const batches: Batch[] = [];
        let size = 0;
        for (let i = 0; i < parts.length; i++) {
          const tp = parts[i];
          const b = tp.queue[0];
          if (!this.#prepare(b)) continue; // compressing in the background
          const n = b.sizeInBytes;
          if (batches.length > 0 && size + n > config.maxRequestSize) continue;
          size += n;
          batches.push(b);
        }
        if (batches.length === 0) break;
        this.#send(conn, leader, batches);
        // Keep partitions that have another ready batch for the next request.
        let k = 0;
        for (const tp of parts) {
          if (tp.queue.length === 0) continue;
          if (pid && idempotentHold(tp)) continue;
          const at = this.#readyAt(tp.queue[0]);
          if (at > now) {
            nextWake = Math.min(nextWake, at);
            continue;
          }
          parts[k++] = tp;
        }
        parts.length = k;
      }
    }
    txn?.sendAdds();
    this.#wakeAt(nextWake, now);
  }

  /** When the batch may be sent: linger, backoff, or now. */
  #readyAt(b: Batch): number {
    if (b.attempts > 0) return b.retryAt;
    if (b.state !== OPEN || this.#hooks.urgent()) return 0;
    return b.createdAt + this.#config.lingerMs;
  }

  /** Closes and encodes a batch about to be sent; false while its compression is still running. */
  #prepare(b: Batch): boolean {
    const tp = b.tp;
    if (b.state === OPEN) tp.close(b);
    const pid = this.#pid;
    if (b.bytes === null && b.header === null) {
      const builder = b.builder!;
      if (this.#compression) {
        if (b.state === COMPRESSING) return false;
        const placeholder = this.#txn ? NO_PRODUCER_TXN : NO_PRODUCER;
        const finish = (bytes: Uint8Array) => {
          // Compression that does not shrink the batch (random or encrypted values) would only cost
          // every reader a decompression: send it uncompressed (attributes say none), as franz-go does.
          const encoded = bytes.length < builder.sizeInBytes ? bytes : builder.build(placeholder);
          this.obs?.compressed(b, builder.sizeInBytes);
          this.#encoded(b, encoded);
        };
        let r: Uint8Array | Promise<Uint8Array>;
        try {
          r = this.#build!(this.#codec, builder, placeholder, this.#compression);
          // A synchronous codec (snappy, lz4, zstd): the batch goes out in this drain, not a later one.
          if (r instanceof Uint8Array) return finish(r), this.#prepare(b);
        } catch (e) {
          r = Promise.reject(e);
        }
        tp.compressing(b);
        r.then((bytes) => {
          if (b.done) return;
          tp.compressed(b);
          finish(bytes);
          this.wake();
        }).catch((e: unknown) => {
          if (b.done) return;
          tp.compressed(b);
          this.finalFail(b, asKafkasmError(e, "COMPRESSION_ERROR", `Cannot compress a batch for ${JSON.stringify(tp.topic)}/${tp.partition}`));
          this.wake();
        });
        return false;
      }
      // Encoded later, straight into the request frame (#send): no copy of its own.
      b.header = NO_PRODUCER;
    }
    if (pid && (b.baseSequence < 0 || b.producerEpoch !== pid.producerEpoch || b.producerId !== pid.producerId)) {
      // First send, or a resend after an epoch bump: stamp the current producer state.
      tp.sequence(b, pid.producerId, pid.producerEpoch);
      // A batch sent before holds a view of that request's frame, which the transport may still hold: restamp a copy.
      if (b.bytes) restampBatch(b.attempts > 0 ? (b.bytes = b.bytes.slice()) : b.bytes, b.producerId, b.producerEpoch, b.baseSequence, (x) => this.#codec.crc32c(x));
      else b.header = { producerId: b.producerId, producerEpoch: b.producerEpoch, baseSequence: b.baseSequence, transactional: this.#txn !== null };
    }
    return true;
  }

  /** The batch is `bytes` from now on: its staging block goes back to the pool, and only those bytes count. */
  #encoded(b: Batch, bytes: Uint8Array): void {
    b.bytes = bytes;
    b.header = null;
    b.tp.stagingHint = b.builder!.stagingBytes;
    b.builder!.release();
    b.builder = null;
    const n = bytes.length;
    if (n < b.accounted) {
      this.#hooks.release(b.accounted - n);
      b.accounted = n;
    }
  }

  #send(conn: Connection, leader: number, batches: Batch[]): void {
    // No lookup closure, parts made at their size: at linger 0 this runs per send.
    const topics: ProduceTopicData[] = [];
    const parts = new Array<ProducePartitionData>(batches.length);
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!, tp = b.tp, p: ProducePartitionData = { index: tp.partition, records: b };
      tp.send(b);
      parts[i] = p;
      const t = topicData(topics, tp.topic);
      if (t) t.partitions.push(p);
      else topics.push({ name: tp.topic, partitions: [p] });
    }
    const acks = this.#config.acks;
    const request: ProduceRequest = { transactionalId: this.#txn?.transactionalId ?? null, acks, timeoutMs: this.#config.requestTimeoutMs, topics };
    let version: number;
    try {
      version = versionFor(conn, Produce);
    } catch (e) {
      for (const b of batches) this.retryOrFail(b, e as KafkasmError);
      return;
    }
    this.#inFlightRequests++;
    const sent = conn.request(Produce, version, request, acks !== 0);
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i], f = parts[i].framed;
      // Its copy in the frame is the batch's bytes from now on (without a frame, the request failed
      // before it was written: the batch stays to be encoded by the next one).
      if (b.bytes === null && f) this.#encoded(b, f);
    }
    const observed = this.obs?.request(conn.address, leader, batches);
    // One reaction with two handlers, not a chain: at linger 0 this runs per send, and every link allocates.
    const failed = (e: unknown) => {
      // A lost request, or a throw while handling its answer (which must not become an unhandled rejection).
      const err = asKafkasmError(e, "CONNECTION_ERROR", `Produce to broker ${leader} failed`, true);
      observed?.(undefined, err);
      if (err.code === "CONNECTION_ERROR" || err.code === "REQUEST_TIMEOUT") this.#metadata.request();
      for (const b of batches) this.retryOrFail(b, err);
    };
    sent.then((res) => {
      this.#inFlightRequests--;
      try {
        observed?.(res);
        if (acks === 0) {
          for (const b of batches) this.#succeed(b, -1, -1);
        } else {
          this.#onResponse(leader, batches, res);
        }
      } catch (e) {
        failed(e);
      }
      this.wake();
    }, (e: unknown) => {
      this.#inFlightRequests--;
      failed(e);
      this.wake();
    });
  }

  #onResponse(leader: number, batches: Batch[], res: ProduceResponse): void {
    // An answer for partitions this request did not send (or twice for one) cannot be matched to batches: fail it as a whole.
    let answered = 0;
    for (const t of res.topics) answered += t.partitions.length;
    if (answered > batches.length) {
      const err = new ClientError("PROTOCOL_ERROR", `Broker ${leader} answered ${answered} partitions for ${batches.length}`, { retriable: true });
      for (const b of batches) this.retryOrFail(b, err);
      return;
    }
    for (const b of batches) {
      const tp = b.tp;
      let pr: ProduceResponse["topics"][number]["partitions"][number] | undefined;
      for (const t of res.topics) {
        if (t.name !== tp.topic) continue;
        for (const p of t.partitions) if (p.index === tp.partition) { pr = p; break; }
        if (pr) break;
      }
      if (!pr) {
        this.retryOrFail(b, new ClientError("PROTOCOL_ERROR", `Broker ${leader} answered a Produce request without partition ${JSON.stringify(tp.topic)}/${tp.partition}`, { retriable: true }));
        continue;
      }
      const code = pr.errorCode;
      if (code === 0 || code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        this.#succeed(b, pr.baseOffset, pr.logAppendTimeMs);
        continue;
      }
      if (isStaleMetadataError(code)) this.#metadata.request();
      // The rarer paths (retry, split, epoch bump) load with the checks: the page's first bytes stay few.
      this.checks.partitionError(this, b, pr, leader, this.#pid, this.#txn, () => import("./split.ts").then((m) => m.split(b, this, this.#codec, this.#config, this.#hooks)));
    }
  }

  #succeed(b: Batch, baseOffset: number, logAppendTime: number): void {
    if (b.done) return;
    b.tp.acknowledged(b);
    this.obs?.acked(b, baseOffset);
    this.#hooks.release(b.accounted);
    b.succeed(baseOffset, logAppendTime, this.#hooks.onCallbackError);
  }

  /** Retries a retriable failure (after backoff) unless retries or the delivery timeout are used up. */
  retryOrFail(b: Batch, err: KafkasmError, forceRetriable = false): void {
    if (b.done) return;
    b.lastError = err;
    const now = this.#clock.now();
    const config = this.#config;
    const deadline = b.createdAt + config.deliveryTimeoutMs;
    if (!(err.retriable || forceRetriable) || this.#closed || b.attempts > config.retries) {
      this.finalFail(b, err);
      return;
    }
    if (now >= deadline) {
      this.finalFail(b, this.#timeoutError(b, now));
      return;
    }
    // A retry due after the deadline never happens: #expire fails the batch at the deadline.
    this.obs?.retry(b, err);
    b.tp.retry(b, now + this.backoff(b.attempts), this.#pid !== null);
    this.active.add(b.tp);
  }

  /** Exponential backoff with ±20% jitter: retryBackoffMs · 2^(attempt−1), capped at retryBackoffMaxMs. */
  backoff(attempt: number): number {
    const { retryBackoffMs, retryBackoffMaxMs } = this.#config;
    const exp = Math.min(retryBackoffMaxMs, retryBackoffMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
    const jitter = 0.8 + 0.4 * this.#clock.random();
    return Math.min(retryBackoffMaxMs, Math.round(exp * jitter));
  }

  #timeoutError(b: Batch, now: number): ClientError {
    return this.checks.deliveryTimeout(b, now, this.#config.deliveryTimeoutMs);
  }

  /** Fails queued batches older than deliveryTimeoutMs; returns the next expiry time of this partition. */
  #expire(tp: PartitionState, now: number): number {
    const limit = this.#config.deliveryTimeoutMs;
    const q = tp.queue;
    let next = Infinity;
    for (let i = 0; i < q.length;) {
      const b = q[i];
      if (b.createdAt + limit <= now && b.state !== COMPRESSING) {
        this.finalFail(b, this.#timeoutError(b, now));
      } else {
        next = Math.min(next, b.createdAt + limit);
        i++;
      }
    }
    return next;
  }

  finalFail(b: Batch, err: KafkasmError): void {
    if (b.done) return;
    // A sequenced batch that failed for good leaves a gap (or an unknown outcome): the partition's
    // sequences cannot continue, so the producer starts a new epoch before sending more.
    if (this.#pid && b.baseSequence >= 0) {
      if (this.#txn) this.#txn.bumpOnAbort = true;
      else this.#pid.bumpNeeded = true;
    }
    if (this.#txn && !this.#txn.abortableError && (this.#txn.state === "inTransaction" || this.#txn.state === "committing")) this.#txn.abortableError = err;
    this.obs?.failed(b, err);
    this.#hooks.release(b.accounted);
    b.fail(err, this.#hooks.onError, this.#hooks.onDeadLetter, this.#hooks.onCallbackError);
  }

  #initProducerId(): void {
    const pid = this.#pid!;
    // Sequences restart in #drain when it sees the new id/epoch: resetting here, microtasks after
    // the id changed, could zero sequences a drain in between had already used.
    pid.run(this.#brokers, this.#clock, this.#config.retryBackoffMs, this.#config.requestTimeoutMs, () => this.#closed).then(() => {
      this.wake();
    }, () => {
      // No broker answered in time: try again after a backoff.
      this.#wakeAt(this.#clock.now() + this.#config.retryBackoffMs, this.#clock.now());
    });
  }

  /** After a new epoch or ProducerId: every partition starts at sequence 0; queued batches get new sequences when resent. */
  resetSequences(): void {
    for (const t of this.#metadata.topics.values()) {
      if (!t.partitions) continue;
      for (const tp of t.partitions) tp.resetSequences();
    }
  }

  /** Fails every batch (queued and in flight) with `err`; used by close({timeoutMs}) and fatal errors. */
  failAll(err: KafkasmError, stop: boolean): void {
    if (stop) this.#closed = true;
    for (const tp of [...this.active]) {
      for (const b of [...tp.inFlight, ...tp.queue]) this.finalFail(b, err);
      this.active.delete(tp);
    }
  }

  /** Fails every batch not in flight (abortTransaction); in-flight ones complete normally. */
  failQueued(err: KafkasmError): void {
    for (const tp of this.active) {
      for (const b of [...tp.queue]) this.finalFail(b, err);
    }
  }

  /** Every unfinished batch, for flush(). */
  pendingBatches(): Batch[] {
    const out: Batch[] = [];
    for (const tp of this.active) out.push(...tp.inFlight, ...tp.queue);
    return out;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
