/**
 * `producer.metrics()` and `hooks`: a chunk of its own, loaded with the codec (Producer#start), so the
 * browser's up-front bundle carries only the sender's few `obs?.…` calls. Everything here runs per
 * batch, per Produce request or per connection, never per record (unless `onRecordFailed` is set and a
 * batch fails); the views (averages, queued bytes) are computed only when `metrics()` is called.
 */
import type { KafkasmError } from "../errors.ts";
import type { ProduceResponse } from "../protocol/produce.ts";
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "../transport/transport.ts";
import type { Batch, PartitionState } from "./accumulator.ts";
import type { Clock } from "../client/clock.ts";
import { callHook, dialCounted } from "../client/counted.ts";
import type { ProducerRecord } from "./config.ts";

export type { BrokerMetrics, PartitionMetrics, ProducerHooks, ProducerMetrics } from "./hooks.ts";
import type { BrokerMetrics, PartitionMetrics, ProducerHooks, ProducerMetrics } from "./hooks.ts";

interface PartitionCounters {
  topic: string;
  partition: number;
  batches: number;
  records: number;
  bytes: number;
  raw: number;
  retries: number;
  failed: number;
  errors: Record<string, number>;
}

interface BrokerCounters extends Omit<BrokerMetrics, "rttAvgMs" | "inFlight"> {
  rttSum: number;
  answered: number;
  inFlight: number;
}

type Hook = keyof ProducerHooks;


/** The sender's and producer's view of this module: `obs?.on(event, …)` (events.ts), and `snapshot`. */
export class Metrics {
  #clock: Clock;
  #hooks: ProducerHooks | undefined;
  readonly #warned = { warned: false };
  #partitions = new Map<string, PartitionCounters>();
  #brokers = new Map<string, BrokerCounters>();
  /** Uncompressed size of compressed batches, until acknowledged or failed. */
  #raw = new WeakMap<Batch, number>();
  #recordsSent = 0;
  #recordsFailed = 0;
  #epochBumps = 0;
  #producerId = -1;
  #epoch = -1;

  constructor(clock: Clock, hooks: ProducerHooks | undefined) {
    this.#clock = clock;
    this.#hooks = hooks;
  }

  #emit<H extends Hook>(name: H, event: Parameters<NonNullable<ProducerHooks[H]>>[0]): void {
    callHook(this.#hooks, name, event, this.#warned, "");
  }

  #partition(b: Batch): PartitionCounters {
    const tp = b.tp;
    const key = `${tp.topic}/${tp.partition}`;
    let c = this.#partitions.get(key);
    if (!c) this.#partitions.set(key, (c = { topic: tp.topic, partition: tp.partition, batches: 0, records: 0, bytes: 0, raw: 0, retries: 0, failed: 0, errors: {} }));
    return c;
  }

  #broker(a: BrokerAddress): BrokerCounters {
    const key = `${a.host}:${a.port}`;
    let c = this.#brokers.get(key);
    if (!c) {
      this.#brokers.set(key, (c = { nodeId: a.nodeId, connections: 0, connects: 0, disconnects: 0, bytesOut: 0, bytesIn: 0, requests: 0, inFlight: 0,
        requestErrors: 0, rttSum: 0, answered: 0, rttMaxMs: 0, throttleTimeMs: 0, throttleTimeMaxMs: 0 }));
    }
    return c;
  }

  /** Wraps the producer's transport: connections and socket bytes per broker, onConnect/onDisconnect. */
  dial(transport: Transport, address: BrokerAddress, handlers: TransportHandlers): Promise<TransportSocket> {
    return dialCounted(transport, address, handlers, this.#broker(address),
      () => this.#emit("onConnect", { broker: address }), (error) => this.#emit("onDisconnect", { broker: address, error }));
  }

  /**
   * A Produce request to `leader` goes out on a connection to `address` (a bootstrap connection the
   * leader adopted keeps nodeId -1 there); the returned function is called when it completes.
   */
  request(address: BrokerAddress, leader: number, batches: Batch[]): (res?: ProduceResponse, error?: KafkasmError) => void {
    const c = this.#broker(address);
    c.nodeId = leader;
    const start = this.#clock.now();
    let bytes = 0;
    for (const b of batches) bytes += b.bytes?.length ?? 0;
    c.requests++;
    c.inFlight++;
    return (res, error) => {
      c.inFlight--;
      const rtt = this.#clock.now() - start;
      const throttle = res?.throttleTimeMs ?? 0;
      if (error) {
        c.requestErrors++;
      } else if (res) {
        c.answered++;
        c.rttSum += rtt;
        if (rtt > c.rttMaxMs) c.rttMaxMs = rtt;
        c.throttleTimeMs += throttle;
        if (throttle > c.throttleTimeMaxMs) c.throttleTimeMaxMs = throttle;
      }
      this.#emit("onRequest", { broker: leader, partitions: batches.length, bytes, rttMs: rtt, throttleTimeMs: throttle, error });
    };
  }

  /** A compressed batch was `raw` bytes before compression. */
  compressed(b: Batch, raw: number): void {
    this.#raw.set(b, raw);
  }

  /** The batch was acknowledged (called before its records complete). */
  acked(b: Batch, baseOffset: number): void {
    const c = this.#partition(b);
    const n = b.recordCount;
    const bytes = b.bytes?.length ?? 0;
    c.batches++;
    c.records += n;
    c.bytes += bytes;
    c.raw += this.#raw.get(b) ?? bytes;
    this.#recordsSent += n;
    this.#emit("onBatchSent", { topic: c.topic, partition: c.partition, baseOffset, records: n, bytes, attempts: b.attempts });
  }

  /** A send attempt of the batch failed and it will be resent. */
  retry(b: Batch, error: KafkasmError): void {
    const c = this.#partition(b);
    c.retries++;
    c.errors[error.code] = (c.errors[error.code] ?? 0) + 1;
  }

  /** The batch failed for good (called before its records are failed). */
  failed(b: Batch, error: KafkasmError): void {
    const c = this.#partition(b);
    const n = b.recordCount;
    c.failed += n;
    c.errors[error.code] = (c.errors[error.code] ?? 0) + 1;
    this.#recordsFailed += n;
    if (this.#hooks?.onRecordFailed) {
      const r = b.records;
      for (let i = 0; i < r.length; i++) this.#emit("onRecordFailed", { record: r.record(i) as ProducerRecord<unknown, unknown>, error });
    }
  }

  /** A record failed before reaching a batch (invalid, or waited longer than maxBlockMs). */
  rejected(record: ProducerRecord<unknown, unknown>, error: KafkasmError): void {
    this.#recordsFailed++;
    this.#emit("onRecordFailed", { record, error });
  }

  /** The sender starts sequences for this ProducerId/epoch; any but the first is a bump. */
  epoch(producerId: number, epoch: number): void {
    const previousProducerId = this.#producerId, previousEpoch = this.#epoch;
    this.#producerId = producerId;
    this.#epoch = epoch;
    if (previousProducerId < 0) return;
    this.#epochBumps++;
    this.#emit("onEpochBump", { producerId, epoch, previousProducerId, previousEpoch });
  }

  /** The metrics now: counters so far plus what `active` partitions hold. */
  snapshot(active: Iterable<PartitionState>, bufferUsed: number, bufferMemory: number): ProducerMetrics {
    const partitions: Record<string, PartitionMetrics> = {};
    const view = (c: PartitionCounters): PartitionMetrics => (partitions[`${c.topic}/${c.partition}`] ??= {
      topic: c.topic, partition: c.partition, queuedBatches: 0, queuedRecords: 0, queuedBytes: 0, inFlightBatches: 0,
      batchesSent: c.batches, recordsSent: c.records, bytesSent: c.bytes,
      avgBatchRecords: c.batches ? c.records / c.batches : 0, avgBatchBytes: c.batches ? c.bytes / c.batches : 0,
      compressionRatio: c.raw ? c.bytes / c.raw : 1, retries: c.retries, recordsFailed: c.failed, errors: { ...c.errors },
    });
    let batchesSent = 0, bytesSent = 0, retries = 0, requests = 0;
    for (const c of this.#partitions.values()) {
      view(c);
      batchesSent += c.batches;
      bytesSent += c.bytes;
      retries += c.retries;
    }
    for (const tp of active) {
      const m = view({ topic: tp.topic, partition: tp.partition, batches: 0, records: 0, bytes: 0, raw: 0, retries: 0, failed: 0, errors: {} });
      m.inFlightBatches = tp.inFlight.length;
      for (const b of tp.queue) {
        m.queuedBatches++;
        m.queuedRecords += b.recordCount;
        m.queuedBytes += b.bytes?.length ?? b.builder?.sizeInBytes ?? 0;
      }
    }
    const brokers: Record<string, BrokerMetrics> = {};
    for (const [key, c] of this.#brokers) {
      const { rttSum, answered, ...rest } = c;
      brokers[key] = { ...rest, rttAvgMs: answered ? rttSum / answered : 0 };
      requests += c.requests;
    }
    return {
      time: this.#clock.now(), bufferUsed, bufferMemory, recordsSent: this.#recordsSent, recordsFailed: this.#recordsFailed, batchesSent, bytesSent,
      requests, retries, epochBumps: this.#epochBumps, producerId: this.#producerId, producerEpoch: this.#epoch, brokers, partitions,
    };
  }
}
