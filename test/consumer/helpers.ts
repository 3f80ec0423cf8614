// Shared by the consumer tests.
import type { ConsumerRecord, TopicPartition } from "../../src/consumer/consumer.ts";
import { within } from "../harness/bounded.ts";

/** Takes `n` records through the iterator without ending it. */
export async function take(it: AsyncIterator<ConsumerRecord>, n: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  while (out.length < n) {
    const r = await within(it.next(), 10_000, `record ${out.length + 1} of ${n}`);
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** "topic-partition" names, sorted. */
export const tps = (l: TopicPartition[]) => l.map((tp) => `${tp.topic}-${tp.partition}`).sort();
