// A kafkasm group member in its own process for test/integration/real-consumer.test.ts: at-least-once
// (process = print the value, then commit it), so a SIGKILL mid-run loses nothing that was committed.
import { Consumer } from "../../src/consumer/consumer.ts";
import { nodeTransport } from "../../src/transport/node.ts";

const [bootstrap, groupId, topic] = process.argv.slice(2);
const c = new Consumer({ brokers: [bootstrap], transport: nodeTransport, groupId, topics: [topic], autoCommit: false,
  autoOffsetReset: "earliest", sessionTimeoutMs: 6000, heartbeatIntervalMs: 500,
  onPartitionsAssigned: (l) => { process.stdout.write(`assigned ${l.map((t) => t.partition).join(",")}\n`); } });
for await (const r of c) {
  process.stdout.write(`value ${new TextDecoder().decode(r.value!)}\n`);
  await c.commit([{ topic: r.topic, partition: r.partition, offset: r.offset + 1, leaderEpoch: r.leaderEpoch }]);
}
