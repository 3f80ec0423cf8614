/**
 * Checks of broker answers that parse but make no sense, run before an answer changes any state.
 * A chunk of its own (test/protocol/bundle.test.ts): the producer imports it when it starts, so it
 * loads while the first connection opens and the browser's up-front bundle does not carry it.
 */
import { ClientError, KafkaError, type KafkasmError, kafkaErrorFor } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import type { MetadataResponse, MetadataTopic } from "../protocol/metadata.ts";
import type { ProduceResponse } from "../protocol/produce.ts";
import type { Batch } from "./accumulator.ts";
import type { ProducerIdState } from "./idempotence.ts";
import type { Sender } from "./sender.ts";
import type { TransactionManager } from "./transactions.ts";

// The metrics and hooks (metrics.ts) load with these checks, in the one chunk the producer fetches when it starts.
export { Metrics } from "./metrics.ts";

function nonsense(what: string): ClientError {
  // Retriable: the request is asked again after a backoff, bounded by the records' timeouts.
  return new ClientError("PROTOCOL_ERROR", `Nonsensical ${what}`, { retriable: true });
}

/** Throws unless every broker of a Metadata answer can be dialled (leaders may point at any). */
export function checkBrokers(res: MetadataResponse): void {
  for (const b of res.brokers) {
    if (b.nodeId < 0 || !(b.port > 0 && b.port < 65536)) throw nonsense(`Metadata answer: broker ${b.nodeId} at port ${b.port}`);
  }
}

/**
 * Why a topic of a Metadata answer makes no sense, or undefined: Kafka numbers partitions 0..n-1,
 * a topic without error has some, and a leader is a node id or -1. Allocates per partition listed,
 * never per number a broker wrote.
 */
export function checkTopic(mt: MetadataTopic): ClientError | undefined {
  const ps = mt.partitions;
  const n = ps.length;
  const name = JSON.stringify(mt.name);
  if (n === 0 && mt.errorCode === 0) return nonsense(`Metadata answer: topic ${name} has no partitions and no error`);
  const seen = new Uint8Array(n);
  for (const p of ps) {
    const i = p.partitionIndex;
    if (!(i >= 0 && i < n) || seen[i]++) return nonsense(`Metadata answer: topic ${name} lists partition ${i} among ${n}`);
    if (p.leaderId < -1) return nonsense(`Metadata answer: partition ${name}/${i} has leader ${p.leaderId}`);
  }
  return undefined;
}

/** Throws if an InitProducerId answer without error carries a negative ProducerId or epoch (it would be stamped into every batch). */
export function checkProducerId(res: { errorCode: number; producerId: number; producerEpoch: number }): void {
  if (res.errorCode === 0 && (res.producerId < 0 || res.producerEpoch < 0)) {
    throw nonsense(`InitProducerId answer: ProducerId ${res.producerId}, epoch ${res.producerEpoch} without an error`);
  }
}

/** BUFFER_EXHAUSTED for a record that cannot wait: records waiting (for metadata or buffer room, the codec being loaded) already hold `waiting` bytes. */
export function waitQueueFull(topic: string, head: { partitions: unknown[] | null } | undefined, waiting: number, used: number, bufferMemory: number): ClientError {
  const why = head?.partitions == null ? `metadata of topic ${JSON.stringify(topic)}` : "room in bufferMemory";
  return new ClientError("BUFFER_EXHAUSTED",
    `Cannot send: records waiting for ${why} already hold ${waiting} bytes of bufferMemory ${bufferMemory} (besides ${used} bytes in batches)`);
}

/** Why a record waited longer than maxBlockMs (the codec being loaded): its topic's metadata, or buffer room. */
export function blocked(topic: string, t: { partitions: unknown[] | null; error?: KafkasmError | null } | undefined, lastError: KafkasmError | null | undefined,
  ms: number, used: number, bufferMemory: number): ClientError {
  if (!t || t.partitions === null) {
    const why = t?.error ?? lastError;
    return new ClientError("DELIVERY_TIMEOUT",
      `Cannot send to topic ${JSON.stringify(topic)}: it is not in the metadata after maxBlockMs ${ms}${why ? ` (${why.message})` : ""}`, { cause: why });
  }
  return new ClientError("BUFFER_EXHAUSTED", `Cannot send: bufferMemory ${bufferMemory} bytes stayed full for maxBlockMs ${ms} (${used} bytes pending)`);
}

/**
 * A partition of a Produce answer with an error (imports nothing the entry has but errors.ts, or
 * esbuild would split the shared modules into one more file the page loads up front): the batch is retried, split (MESSAGE_TOO_LARGE,
 * not idempotent: `split` loads split.ts), failed, or an epoch bump is asked for.
 */
export function partitionError(s: Sender, b: Batch, pr: ProduceResponse["topics"][number]["partitions"][number], leader: number,
  pid: ProducerIdState | null, txn: TransactionManager | null, split: () => Promise<void>): void {
  const code = pr.errorCode;
  const tp = b.tp;
  // MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE: say how large, since the broker's limit is not known here.
  const size = code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE ? ` (a batch of ${b.bytes?.length ?? b.accounted} bytes, ${b.recordCount} record(s), over the broker's or topic's message.max.bytes)` : "";
  const err = kafkaErrorFor(code, `Produce to ${JSON.stringify(tp.topic)}/${tp.partition} on broker ${leader}${pr.errorMessage ? ` (${pr.errorMessage})` : ""}${size}`);
  if (code === ErrorCode.MESSAGE_TOO_LARGE && b.recordCount > 1 && !pid) {
    // Resent as two batches of half as many records by split.ts; `b` holds its place meanwhile.
    tp.retry(b, Infinity, false);
    split().catch(() => (s.finalFail(b, err), s.wake()));
  } else if (txn && (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID)) {
    // In a transaction these make it abortable; abortTransaction() bumps the epoch.
    s.finalFail(b, err);
  } else if (pid && code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
    if (isFirstUnacknowledged(b)) {
      // A real gap: the broker lost batches it had acknowledged, or we lost track. Do not retry
      // this batch blindly; fail it and start a new epoch for the rest.
      pid.bumpNeeded = true;
      s.finalFail(b, err);
    } else {
      // An earlier batch of this partition failed, so this one could not be appended: resend in order.
      s.retryOrFail(b, new KafkaError(code, err.message), true);
    }
  } else if (pid && code === ErrorCode.UNKNOWN_PRODUCER_ID) {
    // The broker no longer has our producer state (e.g. retention removed it): new epoch, then resend.
    pid.bumpNeeded = true;
    s.retryOrFail(b, err, true);
  } else {
    s.retryOrFail(b, err);
  }
}

/** Idempotence: whether no earlier batch of the partition is unacknowledged. */
function isFirstUnacknowledged(b: Batch): boolean {
  const tp = b.tp;
  for (const o of tp.inFlight) if (o !== b && o.id < b.id) return false;
  for (const o of tp.queue) if (o.id < b.id && o.baseSequence >= 0) return false;
  return true;
}

/** DELIVERY_TIMEOUT for a batch, naming its attempts and last error. */
export function deliveryTimeout(b: Batch, now: number, deliveryTimeoutMs: number): ClientError {
  const tp = b.tp;
  const last = b.lastError ? `; last error: ${b.lastError.message}` : "";
  return new ClientError("DELIVERY_TIMEOUT",
    `Cannot deliver ${b.recordCount} record(s) to ${JSON.stringify(tp.topic)}/${tp.partition}: deliveryTimeoutMs ${deliveryTimeoutMs} passed after ${b.attempts} attempt(s) (${now - b.createdAt} ms)${last}`,
    { cause: b.lastError });
}
