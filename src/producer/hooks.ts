/**
 * The public shapes of `producer.metrics()` and the `hooks` option. Apart from metrics.ts (the
 * counters, in the lazily loaded checks chunk) so that the published types of `Producer` reach no
 * internal module (and no WebAssembly or DOM types).
 */
import type { KafkasmError } from "../errors.ts";
import type { ProducerRecord } from "./config.ts";
import type { BrokerAddress } from "../transport/transport.ts";

/** Typed event callbacks (`options.hooks`). A hook that throws is logged once and never breaks the producer. */
export interface ProducerHooks {
  /** A connection to a broker (or a bootstrap address: nodeId -1) is open. */
  onConnect?(event: { broker: BrokerAddress }): void;
  /** A connection closed (`error` when it was lost rather than closed by the producer). */
  onDisconnect?(event: { broker: BrokerAddress; error?: Error }): void;
  /** A Produce request completed: answered, written (acks 0) or failed (`error`). */
  onRequest?(event: { broker: number; partitions: number; bytes: number; rttMs: number; throttleTimeMs: number; error?: KafkasmError }): void;
  /** A batch was acknowledged: its records are at `baseOffset`… (-1 with acks 0). */
  onBatchSent?(event: { topic: string; partition: number; baseOffset: number; records: number; bytes: number; attempts: number }): void;
  /** A record finally failed (after any retries), whatever the send mode. */
  onRecordFailed?(event: { record: ProducerRecord<unknown, unknown>; error: KafkasmError }): void;
  /** The idempotent producer got a new epoch (or ProducerId) after a sequence gap or an unknown ProducerId. */
  onEpochBump?(event: { producerId: number; epoch: number; previousProducerId: number; previousEpoch: number }): void;
}

/** Per broker (keyed `host:port`); request figures are of Produce requests. */
export interface BrokerMetrics {
  nodeId: number;
  /** Open connections now (0 or 1), opened in total, and closed in total. */
  connections: number;
  connects: number;
  disconnects: number;
  /** Bytes written to / read from the socket (every request, handshakes included). */
  bytesOut: number;
  bytesIn: number;
  /** Produce requests sent, awaiting an answer now, and failed (lost connection, timeout). */
  requests: number;
  inFlight: number;
  requestErrors: number;
  /** Round trip of answered Produce requests (send → answer), by the producer's clock. */
  rttAvgMs: number;
  rttMaxMs: number;
  /** Sum and maximum of `throttle_time_ms` in Produce answers (quota throttling). */
  throttleTimeMs: number;
  throttleTimeMaxMs: number;
}

/** Per topic-partition (keyed `topic/partition`). */
export interface PartitionMetrics {
  topic: string;
  partition: number;
  /** Not yet sent: open or closed batches, and what they hold (staged or encoded bytes). */
  queuedBatches: number;
  queuedRecords: number;
  queuedBytes: number;
  /** Sent and awaiting an answer. */
  inFlightBatches: number;
  /** Acknowledged batches, their records and wire bytes; averages per batch. */
  batchesSent: number;
  recordsSent: number;
  bytesSent: number;
  avgBatchRecords: number;
  avgBatchBytes: number;
  /** Wire bytes / uncompressed bytes of acknowledged batches (1 without compression). */
  compressionRatio: number;
  /** Batch send attempts that are retried, and failed attempts by error code (retried or final). */
  retries: number;
  recordsFailed: number;
  errors: Record<string, number>;
}

export interface ProducerMetrics {
  /** The producer's clock when taken. */
  time: number;
  bufferUsed: number;
  bufferMemory: number;
  recordsSent: number;
  recordsFailed: number;
  batchesSent: number;
  bytesSent: number;
  requests: number;
  retries: number;
  epochBumps: number;
  producerId: number;
  producerEpoch: number;
  brokers: Record<string, BrokerMetrics>;
  partitions: Record<string, PartitionMetrics>;
}
