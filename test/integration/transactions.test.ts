// Transactions against the librdkafka mock cluster, which checks sequences and epochs for
// transactional producers (so wrong sequences would fail the sends here). The 2.0.2 mock writes no
// transaction markers (high watermarks count only data records), so read_committed cannot hide an
// aborted transaction there; that part is asserted on the fake cluster (test/producer/transactions.test.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ApiKey, startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { Producer } from "../../src/index.ts";
import { assertExactlyOnceInKeyOrder, tick } from "./helpers.ts";

const it = process.env.KAFKA_BROKERS ? test.skip : test;

it("transactions committed and aborted, with retries under injected errors: every record written exactly once, in per-key order", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "txn", partitions: 3 }] });
  try {
    for (let p = 0; p < 3; p++) await cluster.setLeader("txn", p, p + 1);
    const producer = new Producer({ brokers: cluster.bootstrap.split(","), transactionalId: "kafkasm-it", retryBackoffMs: 20 });
    await producer.initTransactions();
    let n = 0;
    for (let t = 0; t < 6; t++) {
      producer.beginTransaction();
      if (t === 2) for (const b of cluster.brokers) await cluster.pushBrokerRequestErrors(b.id, ApiKey.Produce, Array.from({ length: 5 }, () => ({ code: 6 })));
      const sends = [];
      for (let i = 0; i < 200; i++, n++) {
        const key = `k${n % 8}`;
        sends.push(producer.send({ topic: "txn", key, value: `${key}:${n}` }));
        if (i % 50 === 49) await tick();
      }
      await Promise.all(sends);
      if (t === 3) await producer.abortTransaction();
      else await producer.commitTransaction();
    }
    await producer.close();
    for (const b of cluster.brokers) assert.is(await cluster.brokerRequestErrorCount(b.id, ApiKey.Produce), 0, "every injected error was hit");
    const all = await consumeAll(cluster.bootstrap, "txn", { count: 1200 });
    assertExactlyOnceInKeyOrder(all, 1200);
  } finally {
    await cluster.stop();
  }
});

test.run();
