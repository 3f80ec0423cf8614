// The consumer against the librdkafka mock cluster (test/harness/cluster.ts), whose group coordinator
// is librdkafka's own: a kafkasm member and a `kcat -G` member in one group split the partitions.
// Two kafkasm members alone cannot form a group on this mock (librdkafka 2.0.2): it completes the sync
// as soon as the leader's SyncGroup carries every assignment, then answers a follower's later SyncGroup
// with REBALANCE_IN_PROGRESS and a null assignment, so each generation fails again. librdkafka followers
// win that race; real Kafka waits for every member (test/integration/real-consumer.test.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { exitAfterSuite, spawnChild, until } from "../harness/bounded.ts";
import { Consumer, type ConsumerOptions, type ConsumerRecord } from "../../src/consumer/consumer.ts";
import { nodeTransport } from "../../src/transport/node.ts";

const dec = new TextDecoder();

function consumer(bootstrap: string, groupId: string, topic: string, o: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({ brokers: bootstrap.split(","), transport: nodeTransport, groupId, topics: [topic], autoOffsetReset: "earliest",
    sessionTimeoutMs: 6000, heartbeatIntervalMs: 300, maxWaitMs: 100, ...o });
}
function drain(c: Consumer, seen: ConsumerRecord[]): Promise<unknown> {
  return (async () => { for await (const r of c) seen.push(r); })().then(() => undefined, (e) => e);
}

test("a kafkasm member and a kcat -G member share one group's partitions, none read by both", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "mc-mixed", partitions: 4 }] });
  const a = consumer(cluster.bootstrap, "mixed", "mc-mixed");
  const seen: ConsumerRecord[] = [];
  const da = drain(a, seen);
  const kcat = spawnChild("kcat", ["-b", cluster.bootstrap, "-G", "mixed", "-u", "-J", "-X", "auto.offset.reset=earliest",
    "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=300", "mc-mixed"]);
  try {
    // kcat reports each rebalance on stderr; the group is settled when both members hold two partitions.
    const kcatAssigned = () => {
      const last = kcat.stderr.split("\n").filter((l) => l.includes("rebalanced")).pop() ?? "";
      return last.includes("assigned:") && (last.match(/\[\d+\]/g) ?? []).length === 2;
    };
    await until(() => a.assignment().length === 2 && kcatAssigned(), 60_000, `an even split (kafkasm owns ${a.assignment().length}; kcat: ${kcat.stderr.slice(-500)})`);
    await kcatProduce(cluster.bootstrap, "mc-mixed", Array.from({ length: 1000 }, (_, i) => `k${i % 29}:v${i}`), { keyDelimiter: ":" });
    const kcatRecords = () => kcat.stdout.split("\n").slice(0, -1).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { partition: number; payload: string });
    await until(() => seen.length + kcatRecords().length >= 1000, 60_000, `1000 records (kafkasm ${seen.length}, kcat ${kcatRecords().length})`);
    const kParts = new Set(kcatRecords().map((r) => r.partition));
    const mine = new Set(seen.map((r) => r.partition));
    assert.is(kParts.size, 2, "kcat read two partitions");
    assert.is(mine.size, 2, "kafkasm read two partitions");
    assert.ok([...kParts].every((p) => !mine.has(p)), "no partition read by both");
    assert.is(new Set(seen.map((r) => dec.decode(r.value!)).concat(kcatRecords().map((r) => r.payload))).size, 1000);
  } finally {
    kcat.kill();
    await a.close(); await da;
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
