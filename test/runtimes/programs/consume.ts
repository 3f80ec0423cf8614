// Run by test/runtimes/consumer-{deno,bun}.test.ts inside Deno or Bun: imports that runtime's
// kafkasm/consumer entry (native TCP by default), joins GROUP, reads COUNT records of TOPIC, commits
// them, closes (LeaveGroup) and prints one JSON line { ok, count, values, partitions, runtime }.
// Never exits explicitly: the runtime must end by itself after close().
//   deno run --allow-net=127.0.0.1 consume.ts BOOTSTRAP TOPIC GROUP COUNT
//   bun consume.ts BOOTSTRAP TOPIC GROUP COUNT

import { args, runtime, consumerEntry } from "./runtime.ts";

const [bootstrap, topic, groupId, countText] = args;
const count = Number(countText);
const mod = await consumerEntry();
const consumer = new mod.Consumer({ brokers: bootstrap.split(","), groupId, topics: [topic], autoOffsetReset: "earliest", autoCommit: false,
  sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitMs: 100 });
const dec = new TextDecoder();
let result: unknown;
try {
  const values: string[] = [];
  const partitions = new Set<number>();
  for await (const r of consumer) {
    values.push(dec.decode(r.value!));
    partitions.add(r.partition);
    // Breaking out of the loop closes the consumer, so commit first.
    if (values.length === count) { await consumer.commit(); break; }
  }
  result = { ok: true, count: values.length, values, partitions: [...partitions].sort(), runtime };
} catch (e) {
  result = { ok: false, error: String((e as Error)?.message ?? e), code: (e as { code?: string }).code };
}
await consumer.close(); // already closed by the break (idempotent); here for the error path
console.log(JSON.stringify(result));
