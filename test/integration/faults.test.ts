// Idempotent producer (acks all) against the librdkafka mock cluster with injected faults; what
// lands is read back with kcat. The mock does not enforce idempotent sequences (test/harness/README.md),
// so a later in-flight batch it accepts after an earlier one failed would be reordered there but
// rejected by a real broker. The error test therefore gives each broker one partition and injects
// errors per broker in runs of maxInFlight (5): every request in flight behind a failed one then
// fails too, as it would on Kafka (OUT_OF_ORDER_SEQUENCE_NUMBER). Where the mock cannot give that
// guarantee (a broker going down with requests in flight: it may append a resent batch twice), only
// delivery and no loss are judged here; exactly-once under such faults is real-faults.test.ts, on Kafka.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ApiKey, startCluster, type Cluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { Producer, type RecordMetadata } from "../../src/index.ts";
import { assertExactlyOnceInKeyOrder, sleep, tick } from "./helpers.ts";

const it = process.env.KAFKA_BROKERS ? test.skip : test;

async function run(cluster: Cluster, topic: string, total: number, during: (i: number) => Promise<void>): Promise<RecordMetadata[]> {
  const producer = new Producer({ brokers: cluster.bootstrap.split(","), acks: "all", idempotent: true, retryBackoffMs: 20, retryBackoffMaxMs: 200, requestTimeoutMs: 5000, batchSize: 2048 });
  const sends: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < total; i++) {
    const key = `k${i % 16}`;
    sends.push(producer.send({ topic, key, value: `${key}:${i}` }));
    if (i % 50 === 49) { await tick(); await during(i); }
  }
  const metas = await Promise.all(sends);
  await producer.close();
  return metas;
}

it("idempotent + acks all under injected NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NETWORK_EXCEPTION, NOT_ENOUGH_REPLICAS: every record exactly once, in per-key order", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "faults", partitions: 3 }] });
  try {
    for (let p = 0; p < 3; p++) await cluster.setLeader("faults", p, p + 1);
    const codes = [6, 7, 13, 19];
    const metas = await run(cluster, "faults", 3000, async (i) => {
      if (i % 500 === 499) {
        const code = codes[(i / 500 | 0) % codes.length];
        for (const b of cluster.brokers) await cluster.pushBrokerRequestErrors(b.id, ApiKey.Produce, Array.from({ length: 5 }, () => ({ code })));
      }
    });
    for (const b of cluster.brokers) assert.is(await cluster.brokerRequestErrorCount(b.id, ApiKey.Produce), 0, "every injected error was hit");
    assert.is(new Set(metas.map((m) => `${m.partition}/${m.offset}`)).size, 3000);
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "faults", { count: 3000, timeoutMs: 20_000 }), 3000);
  } finally {
    await cluster.stop();
  }
});

it("a broker going down and up mid-run, and a leader move: every record acknowledged at its own offset, and every record in the log (mock: no loss; exactly-once is judged on Kafka)", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "moves", partitions: 6 }] });
  try {
    const metas = await run(cluster, "moves", 3000, async (i) => {
      if (i === 999) {
        await cluster.brokerDown(2);
        await sleep(100);
        // Leaders do not move on the mock: move broker 2's partitions as a controller would.
        for (let p = 0; p < 6; p++) await cluster.setLeader("moves", p, p % 2 === 0 ? 1 : 3);
      }
      if (i === 1999) {
        await cluster.brokerUp(2);
        for (let p = 0; p < 6; p++) await cluster.setLeader("moves", p, 2);
      }
    });
    assert.is(new Set(metas.map((m) => `${m.partition}/${m.offset}`)).size, 3000, "distinct offsets acknowledged");
    // The mock does not check sequences, so a batch resent after its response was lost may be appended
    // twice: the log holds every record at least once. All of it is read (every send was acknowledged).
    const values = new Set<string>();
    for (const r of await consumeAll(cluster.bootstrap, "moves", { timeoutMs: 20_000 })) {
      const [k, n] = r.payload!.split(":");
      assert.is(r.key, k);
      assert.ok(Number(n) >= 0 && Number(n) < 3000, r.payload!);
      values.add(r.payload!);
    }
    assert.is(values.size, 3000, "every record in the log");
  } finally {
    await cluster.stop();
  }
});

it("a broker down without a leader move: its records wait and are delivered once it is back", async () => {
  const cluster = await startCluster({ brokers: 2, topics: [{ name: "outage", partitions: 2 }] });
  try {
    await run(cluster, "outage", 600, async (i) => {
      if (i === 199) await cluster.brokerDown(1);
      if (i === 399) { await sleep(300); await cluster.brokerUp(1); }
    });
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "outage", { count: 600 }), 600);
  } finally {
    await cluster.stop();
  }
});

test.run();
