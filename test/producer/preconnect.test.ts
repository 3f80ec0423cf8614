// A batch opening for a partition whose leader has no connection starts connecting at once, not
// when lingerMs ends, so that a flush on page hide finds the connection open.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { ManualClock } from "./helpers.ts";

test("the leader's connection (ApiVersions) starts when the batch opens, long before lingerMs; the flush then needs no handshake", async () => {
  const clock = new ManualClock();
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2, leaders: [1, 2] }], setTimeout: (fn, ms) => clock.setTimeout(fn, ms), now: clock.now });
  // Bootstrap through broker 1 only: broker 2 (leader of partition 1) is first contacted for the batch.
  const producer = new Producer({ brokers: [cluster.bootstrap[0]], transport: cluster.transport, clock, lingerMs: 60_000 });
  let acked = false;
  const sent = producer.send({ topic: "t", value: "v", partition: 1 }).then((m) => { acked = true; return m; });
  const toBroker2 = () => cluster.requests.filter((r) => r.brokerId === 2).map((r) => r.apiKey);
  // The codec compiles in real time; fake time moves 1 ms per step (at most 200 ms of the 60 s linger).
  for (let i = 0; i < 200 && toBroker2().length === 0; i++) {
    await new Promise((r) => setTimeout(r, 2));
    await clock.advance(1);
  }
  assert.equal(toBroker2(), [ApiKey.ApiVersions], "connected and negotiated with the leader while the batch lingers");
  assert.is(acked, false, "still lingering");
  // A flush (as on pagehide) sends at once over the open connection: the next request to broker 2 is the Produce.
  const flushed = producer.flush();
  await clock.advance(0);
  await flushed;
  assert.equal(toBroker2(), [ApiKey.ApiVersions, ApiKey.Produce]);
  assert.is((await sent).partition, 1);
  assert.equal(cluster.values("t", 1), ["v"]);
  await producer.close();
});

test("no pre-connect for a leader that is already connected: one connection per broker", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 3 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 5 });
  await Promise.all([0, 1, 2, 0].map((p, i) => producer.send({ topic: "t", value: `${i}`, partition: p })));
  await producer.send({ topic: "t", value: "again", partition: 2 });
  assert.is(cluster.requestsOf(ApiKey.ApiVersions).length, 1);
  await producer.close();
});

test("sequences restart with a new ProducerId before any batch is stamped: never two batches with one sequence in an epoch (10 runs with a broker going down and up)", async () => {
  for (let run = 0; run < 10; run++) {
    const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2, leaders: [1, 2] }] });
    const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, retryBackoffMs: 5, batchSize: 300 });
    const failures: string[] = [];
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 150; i++) {
      all.push(producer.send({ topic: "t", key: `k${i % 5}`, value: `${i}` }).catch((e) => failures.push(e.message)));
      if (i === 50) { cluster.brokerDown(2); cluster.setLeader("t", 1, 1); }
      if (i === 100) { cluster.brokerUp(2); cluster.setLeader("t", 1, 2); }
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    await producer.close();
    assert.equal(failures, [], `run ${run}`);
    for (const p of [0, 1]) {
      const seen = new Set<string>();
      for (const b of cluster.partition("t", p).log) {
        const k = `${b.batch.producerEpoch}/${b.batch.baseSequence}`;
        assert.ok(!seen.has(k), `run ${run}: t/${p} got two batches with epoch/sequence ${k}`);
        seen.add(k);
      }
    }
  }
});

test.run();
