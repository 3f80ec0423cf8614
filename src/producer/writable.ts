/**
 * `writable(producer, { topic })`: a WHATWG `WritableStream` of records, so any `ReadableStream`
 * can be piped into Kafka (`readable.pipeTo(writable(producer, { topic: "events" }))`) in every
 * runtime. Backpressure: at most `maxPending` records may be sent and not yet acknowledged; a
 * write beyond that waits for acks, so a fast source is slowed to what the cluster takes instead of
 * growing memory. The first delivery failure errors the stream (later writes reject with it);
 * `close()` resolves once every record written was acknowledged.
 */
import { ClientError, type KafkasmError } from "../errors.ts";
import type { ProducerRecord, RecordMetadata } from "./config.ts";

/** What a {@link writable} needs from a producer: `Producer` fits. */
export interface SendingProducer<K, V> {
  send(record: ProducerRecord<K, V>, callback: (error: KafkasmError | null, metadata?: RecordMetadata) => void): void;
}

/** A chunk written to the stream: a record without `topic` (the stream's) or with its own. */
export type WritableRecord<K, V> = Omit<ProducerRecord<K, V>, "topic"> & { topic?: string };

export interface WritableOptions {
  /** Topic of every record that does not name its own. */
  topic: string;
  /** [maxPending=1024] Records sent and not yet acknowledged before `write()` waits. */
  maxPending?: number;
}

/** Returns a WritableStream that sends every chunk with `producer.send`. */
export function writable<K = string | Uint8Array, V = string | Uint8Array>(
  producer: SendingProducer<K, V>,
  options: WritableOptions,
): WritableStream<WritableRecord<K, V>> {
  const topic = options?.topic;
  if (typeof topic !== "string" || topic.length === 0) {
    throw new ClientError("INVALID_CONFIG", `Cannot create writable: topic must be a non-empty string, got ${JSON.stringify(topic)}`);
  }
  const maxPending = options.maxPending ?? 1024;
  if (!Number.isInteger(maxPending) || maxPending < 1) {
    throw new ClientError("INVALID_CONFIG", `Cannot create writable: maxPending must be a positive integer, got ${String(maxPending)}`);
  }
  let sink: { write(chunk: WritableRecord<K, V>): Promise<void>; close(): Promise<void> };
  return new WritableStream<WritableRecord<K, V>>({
    // The sink is a chunk of its own, loaded as the stream starts (writes wait for it): the browser's
    // up-front bundle carries only the option checks (test/protocol/bundle.test.ts).
    start: (controller) => import("./writable-sink.ts").then((m) => { sink = m.sink(producer, topic, maxPending, controller); }),
    write: (chunk) => sink.write(chunk),
    close: () => sink.close(),
  }, { highWaterMark: 1 });
}
