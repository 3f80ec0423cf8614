/**
 * The Producer: `send` (promise or callback), `produce` (fire-and-forget), `sendBatch`, `flush`,
 * `close`. The hot path is send → serialize → partition → `RecordBatchBuilder.append` (WASM staging);
 * the per-record cost is one entry of the batch's `Records`, plus the promise for `send`. Records that
 * cannot be appended yet (codec loading, topic metadata unknown, bufferMemory full) wait in one FIFO
 * queue for up to `maxBlockMs`, so per-partition order is kept.
 */
import { type Codec, getCodec, lengthOf } from "../../bindings/codec.ts";
import type { CompressionCodec } from "../compression/codec.ts";
import { InitProducerId } from "../protocol/init-producer-id.ts";
import { asKafkasmError, ClientError, KafkasmError } from "../errors.ts";
import type { Transport } from "../transport/transport.ts";
import type { SslOption } from "../transport/tls.ts";
import { failSlot, type TopicState } from "./accumulator.ts";
import { CALLBACK, Records } from "./records.ts";
import { type Clock, systemClock } from "../client/clock.ts";
import { type ProducerOptions, type ProducerRecord, type RecordMetadata, type ResolvedConfig, resolveConfig } from "./config.ts";
import { ProducerIdState } from "./idempotence.ts";
import { Brokers } from "../client/brokers.ts";
import { versionFor } from "../client/versions.ts";
import { loadChecks, MetadataCache } from "./metadata.ts";
import { customPartition, keyPartition, roundRobinPartition, stickyPartition } from "./partitioner.ts";
import { Sender } from "./sender.ts";
import type { TransactionManager } from "./transactions.ts";
import type { ProducerHooks, ProducerMetrics } from "./hooks.ts";
import { auto, type Serializer } from "./serializers.ts";
import { writable as writableStream, type WritableOptions, type WritableRecord } from "./writable.ts";

/** RecordBatch v2 header. */
const BATCH_HEADER = 61;
/** The batch header plus a Produce request's framing for one partition. */
const BATCH_OVERHEAD = BATCH_HEADER + 64;
/** Upper bound of a record's own varint fields (length, attributes, deltas, key/value lengths, header count). */
const RECORD_OVERHEAD = 5 + 1 + 10 + 5 + 5 + 5 + 5;

/** A RecordBatchBuilder's first staging block is at most this large (bindings/codec.ts). */
const INITIAL_STAGING_BYTES = 64 * 1024;

let defaultTransport: Transport | undefined;
let defaultTls: ((ssl: SslOption) => Transport) | undefined;

/**
 * Sets the transport used when `options.transport` is not given (each runtime entry point does), and
 * `tls`, which makes one for the `ssl` option (validating it); without `tls`, `ssl` is refused.
 */
export function setDefaultTransport(transport: Transport, tls?: (ssl: SslOption) => Transport): void {
  defaultTransport = transport;
  defaultTls = tls;
}

/** Options of {@link Producer.close}. */
export interface CloseOptions {
  /**
   * How long to wait for pending records. Unset: wait until every record is delivered or has failed
   * (at most deliveryTimeoutMs). When it passes, what is left fails with PRODUCER_CLOSED.
   */
  timeoutMs?: number;
}

/** #tryAppend: the record is appended (or failed), waits for its topic's metadata, or waits for the codec or buffer room. */
const DONE = 0, WAIT_TOPIC = 1, WAIT_ALL = 2;


/** Bytes of a key or value (by the intrinsic length); a string counts `perUnit` per UTF-16 unit (3: an upper bound). */
function byteLength(v: Uint8Array | string | null | undefined, perUnit = 3): number {
  return v == null ? 0 : typeof v === "string" ? v.length * perUnit : lengthOf(v);
}

function headersSize(h: Record<string, string | Uint8Array | null>): number {
  let n = 0;
  for (const k in h) n += 10 + byteLength(k) + byteLength(h[k]);
  return n;
}

/** What a waiting record holds, roughly (string lengths in code units): counted against bufferMemory. */
function waitingSize(key: Uint8Array | string | null, value: Uint8Array | string | null, h: Record<string, string | Uint8Array | null> | undefined): number {
  let n = RECORD_OVERHEAD + byteLength(key, 1) + byteLength(value, 1);
  if (h) for (const k in h) n += 10 + k.length + byteLength(h[k], 1);
  return n;
}

/**
 * A Kafka producer.
 *
 * @example
 * ```ts
 * import { Producer } from "kafkasm";
 * const producer = new Producer({ brokers: ["127.0.0.1:9092"] });
 * const meta = await producer.send({ topic: "events", key: "user-1", value: "hello" });
 * producer.produce({ topic: "events", value: "fire and forget" });
 * await producer.close();
 * ```
 */
export class Producer<K = string | Uint8Array, V = string | Uint8Array> {
  readonly #config: ResolvedConfig;
  readonly #clock: Clock;
  readonly #keySer: Serializer<K>;
  readonly #valueSer: Serializer<V>;
  readonly #onError: ((e: KafkasmError, r?: ProducerRecord<K, V>) => void) | undefined;
  readonly #onDeadLetter: ((r: ProducerRecord<K, V>, e: KafkasmError) => void) | undefined;
  readonly #brokers: Brokers;
  readonly #metadata: MetadataCache;
  readonly #sender: Sender;
  readonly #pid: ProducerIdState | null;
  /** Created by initTransactions(), which loads transactions.ts on demand (most producers never need it). */
  #txn: TransactionManager | null = null;
  #codec: Codec | undefined;
  /** checks.ts, loaded with the codec: also words the rarer errors (waiting for metadata or buffer room). */
  #checks: Awaited<ReturnType<typeof loadChecks>> | undefined;
  #startError: KafkasmError | undefined;
  #closeThread: (() => void) | undefined;
  #bufferUsed = 0;
  /** Bytes of the records in #waiting (see waitingSize), bounded by bufferMemory. */
  #waitingBytes = 0;
  /** Records waiting for codec, metadata or buffer room (no object per record), oldest first from #waitHead. */
  #waiting = new Records(5, 3);
  #waitHead = 0;
  /** flush() calls waiting: batches go out without lingering. */
  #flushes = 0;
  /** Some record waits for the codec or buffer room: then every later record waits behind it. */
  #waitAll = false;
  /** Sequence number of the next waiting record (flush waits for those before its call). */
  #waitSeq = 0;
  /** The last topic name that passed validation (NaN equals nothing, so the first is checked). */
  #validTopic: unknown = NaN;
  /** A batch holds a send()'s record only for a hook that is handed it on failure (onDeadLetter, onRecordFailed). */
  #keepRecords: boolean;
  #waitTimer: unknown;
  #waitTimerAt = Infinity;
  #waitersScheduled = false;
  #waiterEvents: (() => void)[] = [];
  #closing = false;
  #closePromise: Promise<void> | undefined;
  #closeFailure: KafkasmError | undefined;
  #onCallbackError = (e: unknown): void => {
    // A user callback threw: surface it like any uncaught exception, without breaking the producer.
    queueMicrotask(() => { throw e; });
  };
  #processWaitersBound = () => this.#processWaiters();
  // Record timestamps: Date.now() is a measurable share of a 1 µs per-record budget, so it is read
  // once per 32 records within one synchronous run and re-read after every microtask boundary.
  #now = -1;
  #nowUses = 0;
  #resetNow = (): void => { this.#now = -1; };

  /** Validates `options` (throws ClientError INVALID_CONFIG naming the option) and starts loading the codec. */
  constructor(options: ProducerOptions<K, V>) {
    this.#config = resolveConfig(options);
    const transport = options.transport ?? (options.ssl ? defaultTls?.(options.ssl) : defaultTransport);
    if (!transport) {
      throw new ClientError("INVALID_CONFIG", "Invalid producer option transport: no default transport in this runtime; pass options.transport");
    }
    this.#clock = options.clock ?? systemClock;
    this.#keepRecords = options.onDeadLetter !== undefined || typeof options.hooks?.onRecordFailed === "function";
    this.#keySer = (options.keySerializer ?? auto) as Serializer<K>;
    this.#valueSer = (options.valueSerializer ?? auto) as Serializer<V>;
    // Nothing is dropped silently: without either hook, the first fire-and-forget failure is logged.
    let warned = false;
    this.#onError = options.onError ?? (options.onDeadLetter ? undefined : (e: KafkasmError) => {
      if (warned) return;
      warned = true;
      globalThis.console?.warn(`kafkasm: a record sent with produce() failed and no onError hook is set (only this first failure is logged): ${e.code}: ${e.message}`);
    });
    this.#onDeadLetter = options.onDeadLetter;
    // Through metrics.ts once loaded: connections and socket bytes per broker (before: none are opened).
    this.#brokers = new Brokers(this.#config, (a, h) => this.#sender.obs?.dial(transport, a, h) ?? transport(a, h), this.#clock, options.brokerAddressMap);
    this.#metadata = new MetadataCache(this.#brokers, this.#config, this.#clock);
    this.#pid = this.#config.idempotent ? new ProducerIdState() : null;
    this.#sender = new Sender(this.#config, this.#clock, this.#brokers, this.#metadata, this.#pid, {
      onError: this.#onError as ((e: KafkasmError, r: ProducerRecord<any, any>) => void) | undefined,
      onDeadLetter: this.#onDeadLetter as ((r: ProducerRecord<any, any>, e: KafkasmError) => void) | undefined,
      onCallbackError: this.#onCallbackError,
      release: (bytes) => {
        this.#bufferUsed -= bytes;
        // Only records waiting for room can use it (a scan per acknowledged batch would be O(waiting)).
        if (this.#waitAll) this.#scheduleWaiters();
      },
      // Records waiting behind a full bufferMemory (or the codec) need batches to go out without lingering.
      urgent: () => this.#flushes > 0 || (this.#waitAll && this.#waitHead < this.#waiting.length),
    });
    this.#brokers.onChange = () => this.#sender.wake();
    this.#metadata.onUpdate = () => {
      this.#sender.wake();
      // At once, not in a microtask: a topic's metadata is then never known while its records still
      // wait for it, so a later record of the topic cannot pass them (it waits only behind #waitAll).
      if (this.#waitHead < this.#waiting.length) this.#processWaiters();
    };
    void this.#start(options.hooks);
  }

  async #start(hooks: ProducerHooks | undefined): Promise<void> {
    try {
      // metrics.ts travels in the checks chunk: no request of its own.
      const [codec, checks] = await Promise.all([getCodec(), loadChecks()]);
      this.#sender.obs = new checks.Metrics(this.#clock, hooks);
      this.#sender.checks = checks;
      this.#checks = checks;
      let compression: CompressionCodec | null = null, build;
      if (this.#config.compression !== "none") {
        const m = await import("../compression/index.ts");
        compression = m.onCompressionThread(await m.loadCompressionCodec(this.#config.compression), this.#config.compressionThreads);
        build = m.buildCompressed;
        // close() ends the compression thread once pending batches are done (already closing: now).
        this.#closeThread = (compression as { close?: () => void }).close;
        if (this.#closing) this.#closeThread?.();
      }
      this.#sender.setCodec(codec, compression, build);
      this.#codec = codec;
    } catch (e) {
      this.#startError = asKafkasmError(e, "WASM_ERROR", "Cannot load the codec");
    }
    this.#processWaiters();
  }

  /**
   * Sends one record. Resolves with where it landed once the broker acknowledged it (for acks 0:
   * once written, with offset -1); rejects with a KafkasmError when it finally failed (also given to
   * `onDeadLetter`). With a callback, returns nothing and calls `callback(err, metadata)` instead.
   */
  send(record: ProducerRecord<K, V>): Promise<RecordMetadata>;
  send(record: ProducerRecord<K, V>, callback: (error: KafkasmError | null, metadata?: RecordMetadata) => void): void;
  send(record: ProducerRecord<K, V>, callback?: (error: KafkasmError | null, metadata?: RecordMetadata) => void): Promise<RecordMetadata> | void {
    if (callback !== undefined) {
      this.#enqueue(record, callback, CALLBACK);
      return;
    }
    return new Promise<RecordMetadata>((resolve, reject) => this.#enqueue(record, resolve, reject));
  }

  /**
   * Fire-and-forget: stages the record and returns at once. Never throws for delivery failures;
   * those (and invalid records) go to `onError(error, record)` and `onDeadLetter`.
   */
  produce(record: ProducerRecord<K, V>): void {
    this.#enqueue(record, null, null);
  }

  /** Sends many records; resolves with their metadata in order, or rejects with the first failure. */
  sendBatch(records: readonly ProducerRecord<K, V>[]): Promise<RecordMetadata[]> {
    const out: Promise<RecordMetadata>[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) out[i] = this.send(records[i]);
    return Promise.all(out);
  }

  /**
   * A WHATWG `WritableStream` of records for `options.topic` (a chunk may name its own topic), so
   * any `ReadableStream` can be piped into Kafka. Backpressure: a write waits while `maxPending`
   * (default 1024) records are unacknowledged. The first delivery failure errors the stream;
   * `close()` resolves once every record written is acknowledged. The producer stays open.
   *
   * @example
   * ```ts
   * import type { Producer } from "kafkasm";
   * declare const producer: Producer, events: ReadableStream<{ value: string }>;
   * await events.pipeTo(producer.writable({ topic: "clicks" })); // any ReadableStream of { key?, value, headers? }
   * const writer = producer.writable({ topic: "logs", maxPending: 256 }).getWriter();
   * await writer.write({ value: "line 1" }); // waits while 256 records are unacknowledged
   * await writer.close(); // resolves once every record written is acknowledged
   * ```
   */
  writable(options: WritableOptions): WritableStream<WritableRecord<K, V>> {
    return writableStream<K, V>(this, options);
  }

  /**
   * Counters per broker, per partition and producer-wide, plus what is queued now (see
   * ProducerMetrics). Cheap: the views are computed per call, the counters kept per batch and request.
   * Undefined until the producer has started (the codec and metrics.ts load in the first moments).
   */
  metrics(): ProducerMetrics | undefined {
    return this.#sender.obs?.snapshot(this.#sender.active, this.#bufferUsed, this.#config.bufferMemory);
  }

  /** Resolves when every record sent before the call is acknowledged or has failed. Never rejects. */
  async flush(): Promise<void> {
    const sender = this.#sender;
    this.#flushes++;
    sender.wake();
    try {
      const target = this.#waitSeq;
      // Waiting records stay in order, so the head is the oldest still waiting.
      while (this.#waitHead < this.#waiting.length && this.#waiting.seq(this.#waitHead) < target) {
        await new Promise<void>((r) => this.#waiterEvents.push(r));
      }
      const pending = sender.pendingBatches();
      sender.wake();
      for (const b of pending) await b.whenDone();
    } finally {
      this.#flushes--;
    }
  }

  /**
   * Stops accepting records (new sends fail with PRODUCER_CLOSED), delivers what is pending, then
   * closes the connections. With `timeoutMs`, what is still pending then fails with PRODUCER_CLOSED
   * (a record already sent may still have been written by the broker). Nothing is dropped silently.
   */
  close(options?: CloseOptions): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 0)) {
      return Promise.reject(new ClientError("INVALID_CONFIG", `Invalid close option timeoutMs: expected a non-negative integer, got ${String(timeoutMs)}`));
    }
    this.#closing = true;
    this.#closePromise = (async () => {
      const flushed = this.flush();
      if (timeoutMs === undefined) {
        await flushed;
      } else {
        let timer: unknown;
        let timedOut = false;
        await Promise.race([flushed, new Promise<void>((r) => { timer = this.#clock.setTimeout(() => { timedOut = true; r(); }, timeoutMs); })]);
        this.#clock.clearTimeout(timer);
        if (timedOut) {
          const err = new ClientError("PRODUCER_CLOSED", `The producer was closed with timeoutMs ${timeoutMs} before the record was acknowledged`);
          this.#closeFailure = err;
          this.#failWaiters(() => err);
          this.#sender.failAll(err, true);
        }
      }
      this.#sender.close();
      this.#metadata.close();
      this.#brokers.close();
      this.#closeThread?.();
      if (this.#waitTimer !== undefined) this.#clock.clearTimeout(this.#waitTimer);
    })();
    return this.#closePromise;
  }

  // ---- transactions ------------------------------------------------------------------------------

  #requireTxn(action: string): TransactionManager {
    if (this.#config.transactionalId === null) throw new ClientError("INVALID_CONFIG", `Cannot ${action}: the producer has no transactionalId`);
    if (this.#closing) throw new ClientError("PRODUCER_CLOSED", `Cannot ${action}: the producer is closing or closed`);
    if (!this.#txn) throw new ClientError("INVALID_TXN_STATE", `Cannot ${action}: the transactional producer is uninitialized; call initTransactions() first`);
    return this.#txn;
  }

  /**
   * Registers the `transactionalId` with its coordinator (fencing any older producer with the same
   * id, whose open transaction is aborted) and gets the ProducerId and epoch. Call once, first.
   *
   * @example
   * ```ts
   * import { Producer } from "kafkasm";
   * declare const brokers: string[], a: string, b: string;
   * const producer = new Producer({ brokers, transactionalId: "orders-1" });
   * await producer.initTransactions();
   * producer.beginTransaction();
   * try {
   *   await Promise.all([producer.send({ topic: "orders", value: a }), producer.send({ topic: "audit", value: b })]);
   *   await producer.commitTransaction();
   * } catch (e) {
   *   await producer.abortTransaction(); // unless e.code is PRODUCER_FENCED / INVALID_PRODUCER_EPOCH: then close
   * }
   * ```
   */
  async initTransactions(): Promise<void> {
    const { transactionalId } = this.#config;
    if (this.#txn === null && transactionalId !== null) {
      const { TransactionManager } = await import("./transactions.ts");
      if (this.#txn === null) {
        this.#txn = new TransactionManager(transactionalId, this.#config.transactionTimeoutMs, this.#config, this.#brokers, this.#clock, this.#pid!, this.#sender,
          { InitProducerId, versionFor, flush: () => this.flush(), failWaiting: (err) => this.#failWaiters(() => err) });
        this.#sender.setTransactions(this.#txn);
      }
    }
    return this.#requireTxn("initTransactions").initTransactions();
  }

  /** Starts a transaction: records sent until commit or abort are written atomically. */
  beginTransaction(): void {
    this.#requireTxn("beginTransaction").beginTransaction();
  }

  /**
   * Delivers every record of the transaction, then commits it. Rejects (the transaction must then be
   * aborted) when a record failed; the error is the record's.
   */
  async commitTransaction(): Promise<void> {
    return this.#requireTxn("commitTransaction").commitTransaction();
  }

  /**
   * Aborts the transaction: records not yet sent fail with TRANSACTION_ABORTED, records in flight
   * are awaited, then the coordinator aborts what was written (consumers reading committed data
   * never see it).
   */
  async abortTransaction(): Promise<void> {
    return this.#requireTxn("abortTransaction").abortTransaction();
  }

  // ---- hot path -------------------------------------------------------------------------------

  #enqueue(record: ProducerRecord<K, V>, resolve: unknown, reject: unknown): void {
    if (this.#closing) {
      this.#fail(record, resolve, reject, new ClientError("PRODUCER_CLOSED", "Cannot send: the producer is closing or closed"));
      return;
    }
    let key: Uint8Array | string | null;
    let value: Uint8Array | string | null;
    try {
      if (this.#config.transactionalId !== null) this.#requireTxn("send").require("inTransaction", "send");
      const topic = record?.topic;
      if (topic !== this.#validTopic) {
        // Kafka's rules (Topic.validate): checked here, a bad name never reaches a shared Metadata request.
        if (typeof topic !== "string" || !/^[\w.-]{1,249}$/.test(topic) || topic === "." || topic === "..") {
          throw new ClientError("INVALID_RECORD", `Cannot send: topic ${JSON.stringify(String(topic).slice(0, 64))} is not 1 to 249 of [a-zA-Z0-9._-] (nor "." or "..")`);
        }
        this.#validTopic = topic;
      }
      const k = record.key;
      key = k === undefined || k === null ? null : this.#keySer(k, topic);
      const v = record.value;
      value = v === undefined || v === null ? null : this.#valueSer(v, topic);
    } catch (e) {
      this.#fail(record, resolve, reject, asKafkasmError(e, "INVALID_RECORD", "Cannot serialize the record"));
      return;
    }
    const waiting = this.#waitHead < this.#waiting.length;
    // A record waits behind one waiting for the codec or buffer room; records of other topics pass
    // those waiting for their topic's metadata (while it is unknown, every record of the topic waits).
    const r = waiting && this.#waitAll ? WAIT_ALL : this.#tryAppend(record, key, value, resolve, reject);
    if (r !== DONE) {
      // Waiting records are bounded in bytes too (by bufferMemory, apart from the batches'), or a
      // cluster that stays unreachable would let them grow without limit for maxBlockMs.
      const size = waitingSize(key, value, record.headers);
      if (this.#waitingBytes + size > this.#config.bufferMemory && waiting) {
        this.#fail(record, resolve, reject, this.#waitQueueFullError());
        return;
      }
      this.#waitingBytes += size;
      if (r === WAIT_ALL) this.#waitAll = true;
      this.#waiting.add(record, resolve, reject, this.#clock.now() + this.#config.maxBlockMs, key, value, size, this.#waitSeq++);
      this.#armWaitTimer();
    }
  }

  /** Appends the record to its partition's open batch (or fails it): DONE; or says what it must wait for (nothing done then). */
  #tryAppend(record: ProducerRecord<K, V>, key: Uint8Array | string | null, value: Uint8Array | string | null, resolve: unknown, reject: unknown): number {
    const codec = this.#codec;
    if (codec === undefined) {
      if (this.#startError) {
        this.#fail(record, resolve, reject, this.#startError);
        return DONE;
      }
      return WAIT_ALL;
    }
    const config = this.#config;
    const t = this.#metadata.topic(record.topic);
    const parts = t.partitions;
    if (parts === null) {
      if (t.error && !t.error.retriable) {
        this.#fail(record, resolve, reject, t.error);
        return DONE;
      }
      return WAIT_TOPIC;
    }
    if (this.#bufferUsed >= config.bufferMemory) {
      this.#sender.wake(); // urgent() is true from now on: batches go out without lingering
      return WAIT_ALL;
    }
    const headers = record.headers;
    const n = parts.length;
    let p = record.partition;
    let size: number;
    try {
      // Cheap upper bound first; the exact size only when the bound is near the limit.
      size = byteLength(key) + byteLength(value) + (headers ? headersSize(headers) : 0) + RECORD_OVERHEAD;
      if (size + BATCH_HEADER > config.maxRequestSize) {
        // Near the limit: the codec stages it alone for the exact size (what Java checks against max.request.size).
        const one = codec.newBatchBuilder(1);
        one.append(0, key, value, headers);
        const batch = one.sizeInBytes;
        one.release();
        if (batch > config.maxRequestSize) {
          throw new ClientError("RECORD_TOO_LARGE",
            `Cannot send record to topic ${JSON.stringify(record.topic)}: a batch of it alone is ${batch} bytes, over maxRequestSize ${config.maxRequestSize}`);
        }
      }
      if (p !== undefined && p !== null) {
        if (!Number.isInteger(p) || p < 0 || p >= n) {
          throw new ClientError("INVALID_RECORD", `Cannot send: partition ${String(p)} does not exist in topic ${JSON.stringify(record.topic)} (${n} partitions)`);
        }
      } else {
        const partitioner = config.partitioner;
        if (typeof partitioner === "function") p = customPartition(partitioner, record.topic, key, n, record as ProducerRecord<unknown, unknown>);
        else if (key !== null && partitioner === "default") p = keyPartition(codec, key, n);
        else if (partitioner === "roundRobin") p = roundRobinPartition(t.partitioner, n);
        else p = stickyPartition(t.partitioner, n, t.available, size, config.batchSize, this.#clock.random);
      }
    } catch (e) {
      this.#fail(record, resolve, reject, asKafkasmError(e, "INVALID_RECORD", "Cannot send"));
      return DONE;
    }
    let timestamp = record.timestamp;
    if (timestamp === undefined || timestamp === null) {
      if (this.#now < 0 || ++this.#nowUses > 32) {
        if (this.#now < 0) queueMicrotask(this.#resetNow);
        this.#now = this.#clock.now();
        this.#nowUses = 0;
      }
      timestamp = this.#now;
    }
    if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp)) {
      this.#fail(record, resolve, reject, new ClientError("INVALID_RECORD", `Cannot send: timestamp must be an integer (ms since the epoch), got ${String(timestamp)}`));
      return DONE;
    }
    const tp = parts[p];
    let b = tp.open;
    try {
      if (b === null || !b.builder!.append(timestamp, key, value, headers)) {
        const capacity = Math.min(config.batchSize, config.maxRequestSize - BATCH_OVERHEAD);
        const staging = tp.nextStaging;
        b = this.#sender.newBatch(tp, capacity, staging);
        // As in Java's BufferPool, a batch holds its staging block until it is encoded, however few
        // records it has (the builder starts with 64 KiB, or what the partition's previous batch
        // staged, up to capacity, and grows as records come); after encoding only its encoded bytes count.
        const block = Math.min(capacity, Math.max(INITIAL_STAGING_BYTES, staging));
        b.accounted = block;
        this.#bufferUsed += block;
        b.builder!.append(timestamp, key, value, headers);
        this.#sender.wake();
      }
    } catch (e) {
      // The codec refused the record (a value that is no byte array after all…): it fails alone, and
      // a batch opened for it goes away again.
      if (b !== null && b.recordCount === 0) {
        tp.discard(b);
        this.#bufferUsed -= b.accounted;
        b.builder!.release();
        b.builder = null;
      }
      this.#fail(record, resolve, reject, asKafkasmError(e, "INVALID_RECORD", "Cannot stage the record"));
      return DONE;
    }
    // Its bytes are staged: holding the record (and its value) until the ack would only make the GC
    // promote it; produce()'s onError and the failure hooks are handed it, so for them it is kept.
    b.records.add(reject === null || this.#keepRecords ? record : null, resolve, reject, timestamp);
    const staged = b.builder!.sizeInBytes;
    if (staged > b.accounted) {
      this.#bufferUsed += staged - b.accounted;
      b.accounted = staged;
    }
    if (staged >= config.batchSize) {
      tp.close(b);
      this.#sender.wake();
    }
    return DONE;
  }

  #fail(record: ProducerRecord<K, V>, resolve: unknown, reject: unknown, error: KafkasmError): void {
    this.#sender.obs?.rejected(record as ProducerRecord<unknown, unknown>, error);
    failSlot(record as ProducerRecord<any, any>, resolve, reject, error, this.#onError as never, this.#onDeadLetter as never, this.#onCallbackError);
  }

  // ---- records waiting for codec, metadata or memory ----------------------------------------------

  #scheduleWaiters(): void {
    if (this.#waitersScheduled) return;
    this.#waitersScheduled = true;
    queueMicrotask(this.#processWaitersBound);
  }

  #processWaiters(): void {
    this.#waitersScheduled = false;
    const w = this.#waiting;
    const end = w.length;
    // Records leave in order, except that those of a topic without metadata yet are skipped over;
    // one waiting for the codec or buffer room stops the pass.
    let all = false;
    let out = this.#waitHead;
    // A record sent from a callback during the pass queues behind those not yet tried (its order).
    this.#waitAll = true;
    for (let h = out; h < end; h++) {
      if (!all) {
        const r = this.#tryAppend(w.record(h) as ProducerRecord<K, V>, w.key(h) as Uint8Array | string | null, w.value(h) as Uint8Array | string | null, w.resolve(h), w.reject(h));
        if (r === DONE) {
          this.#waitingBytes -= w.size(h);
          continue;
        }
        all = r === WAIT_ALL;
      }
      if (out !== h) w.move(h, out);
      out++;
    }
    const progressed = out < end;
    const added = w.length - end;
    w.compact(end, out);
    this.#waitAll = all || added > 0;
    if (added > 0) this.#scheduleWaiters();
    if (this.#waitHead === w.length) this.#emptied();
    if (progressed) this.#notifyWaiterEvents();
    this.#armWaitTimer();
  }

  #emptied(): void {
    this.#waiting = new Records(5, 3);
    this.#waitHead = 0;
    this.#waitingBytes = 0;
    this.#waitAll = false;
  }

  #notifyWaiterEvents(): void {
    const ev = this.#waiterEvents;
    if (ev.length === 0) return;
    this.#waiterEvents = [];
    for (const f of ev) f();
  }

  #armWaitTimer(): void {
    if (this.#waitHead >= this.#waiting.length) return;
    const at = this.#waiting.time(this.#waitHead);
    if (at >= this.#waitTimerAt) return;
    if (this.#waitTimer !== undefined) this.#clock.clearTimeout(this.#waitTimer);
    this.#waitTimerAt = at;
    this.#waitTimer = this.#clock.setTimeout(() => {
      this.#waitTimer = undefined;
      this.#waitTimerAt = Infinity;
      this.#expireWaiters();
    }, Math.max(0, at - this.#clock.now()));
  }

  #expireWaiters(): void {
    this.#processWaiters();
    const now = this.#clock.now();
    this.#failWaiters((record, deadline) => (deadline <= now ? this.#blockedError(record) : undefined));
    this.#armWaitTimer();
  }

  /** Fails waiters from the head while `errorFor` returns an error. */
  #failWaiters(errorFor: (record: ProducerRecord<K, V>, deadline: number) => KafkasmError | undefined): void {
    const w = this.#waiting;
    const failedTopics = new Set<string>();
    while (this.#waitHead < w.length) {
      const h = this.#waitHead;
      const record = w.record(h) as ProducerRecord<K, V>;
      const err = errorFor(record, w.time(h));
      if (!err) break;
      const resolve = w.resolve(h), reject = w.reject(h);
      this.#waitingBytes -= w.size(h);
      w.drop(h, h + 1);
      this.#waitHead = h + 1;
      failedTopics.add(record.topic);
      this.#fail(record, resolve, reject, err);
    }
    if (this.#waitHead === w.length) this.#emptied();
    else if (this.#waitHead > 1024 && this.#waitHead * 2 > w.length) {
      w.compact(this.#waitHead, 0);
      this.#waitHead = 0;
    }
    // A topic is forgotten only once none of its records waits: a later one's error still needs its cause.
    for (let i = this.#waitHead; i < w.length && failedTopics.size > 0; i++) failedTopics.delete((w.record(i) as ProducerRecord<K, V> | undefined)?.topic!); // undefined: taken out of order
    for (const t of failedTopics) this.#metadata.forget(t);
    this.#notifyWaiterEvents();
  }

  #waitQueueFullError(): KafkasmError {
    return this.#codec === undefined
      ? new ClientError("BUFFER_EXHAUSTED", `Cannot send: records waiting for the codec to load already hold ${this.#waitingBytes} bytes of bufferMemory ${this.#config.bufferMemory}`)
      : this.#checks!.waitQueueFull(this.#topicOfHead(), this.#metadata.topics.get(this.#topicOfHead()), this.#waitingBytes, this.#bufferUsed, this.#config.bufferMemory);
  }

  #topicOfHead(): string {
    return (this.#waiting.record(this.#waitHead) as ProducerRecord<K, V>).topic;
  }

  #blockedError(record: ProducerRecord<K, V>): KafkasmError {
    const ms = this.#config.maxBlockMs;
    if (this.#codec === undefined) return this.#startError ?? new ClientError("BUFFER_EXHAUSTED", `Cannot send: the codec did not load within maxBlockMs ${ms}`);
    return this.#checks!.blocked(record.topic, this.#metadata.topics.get(record.topic), this.#metadata.lastError, ms, this.#bufferUsed, this.#config.bufferMemory);
  }
}

