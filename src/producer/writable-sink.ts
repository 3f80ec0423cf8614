/**
 * The sink of `writable()` (writable.ts): backpressure by records sent and not yet acknowledged,
 * the first delivery failure errors the stream, close() waits for every acknowledgement. A chunk of
 * its own, loaded when a stream starts.
 */
import type { KafkasmError } from "../errors.ts";
import type { ProducerRecord } from "./config.ts";
import type { SendingProducer, WritableRecord } from "./writable.ts";

export function sink<K, V>(producer: SendingProducer<K, V>, topic: string, maxPending: number, controller: WritableStreamDefaultController) {
  let pending = 0;
  let failure: KafkasmError | undefined;
  let wake: (() => void) | undefined;

  const settled = (error: KafkasmError | null) => {
    pending--;
    if (error && !failure) {
      failure = error;
      controller.error(error);
    }
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitFor = async (cond: () => boolean) => {
    while (!cond() && !failure) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
  };

  return {
    async write(chunk: WritableRecord<K, V>) {
      if (failure) throw failure;
      const record = (chunk.topic === undefined ? { ...chunk, topic } : chunk) as ProducerRecord<K, V>;
      pending++;
      producer.send(record, settled);
      if (pending >= maxPending) await waitFor(() => pending < maxPending);
    },
    async close() {
      await waitFor(() => pending === 0);
    },
  };
}
