import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { ManualClock } from "./helpers.ts";

test("negotiates every API to the highest common version: a librdkafka-mock-like broker (ApiVersions ≤ 2, Metadata ≤ 2, Produce ≤ 7)", async () => {
  const cluster = new FakeCluster({
    brokers: 1, topics: [{ name: "t", partitions: 1 }],
    apiVersions: { [ApiKey.ApiVersions]: { minVersion: 0, maxVersion: 2 }, [ApiKey.Metadata]: { minVersion: 0, maxVersion: 2 }, [ApiKey.Produce]: { minVersion: 0, maxVersion: 7 }, [ApiKey.InitProducerId]: { minVersion: 0, maxVersion: 4 } },
  });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  await producer.send({ topic: "t", value: "x" });
  await producer.close();
  const versions = (k: number) => [...new Set(cluster.requestsOf(k).map((r) => r.apiVersion))];
  assert.equal(versions(ApiKey.ApiVersions), [3, 2], "too-new ApiVersions, then the broker's own maximum");
  assert.equal(versions(ApiKey.Metadata), [2]);
  assert.equal(versions(ApiKey.Produce), [7]);
  assert.equal(versions(ApiKey.InitProducerId), [4]);
  assert.equal(cluster.values("t", 0), ["x"]);
});

test("ApiVersions: v3 first, which every broker since Kafka 2.4 answers at once; a later connection starts where the last one settled", async () => {
  for (const [max, expected] of [[3, [3, 3, 3]], [4, [3, 3, 3]], [2, [3, 2, 2, 2]]] as const) {
    const cluster = new FakeCluster({
      brokers: 3, topics: [{ name: "t", partitions: 3 }],
      apiVersions: { [ApiKey.ApiVersions]: { minVersion: 0, maxVersion: max } },
    });
    const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 0 });
    // One record per partition: a connection to each of the 3 leaders (the bootstrap connection is one of them).
    await Promise.all([0, 1, 2].map((partition) => producer.send({ topic: "t", partition, value: "x" })));
    await producer.close();
    assert.equal(cluster.requestsOf(ApiKey.ApiVersions).map((r) => r.apiVersion), expected, `brokers answering ApiVersions ≤ v${max}`);
  }
});

test("a Kafka 4.x-like broker (old versions removed, flexible versions only) is spoken to at the flexible versions", async () => {
  const cluster = new FakeCluster({
    brokers: 1, topics: [{ name: "t", partitions: 1 }],
    apiVersions: { [ApiKey.Metadata]: { minVersion: 4, maxVersion: 12 }, [ApiKey.Produce]: { minVersion: 3, maxVersion: 12 } },
  });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  await producer.send({ topic: "t", value: "x" });
  await producer.close();
  assert.equal([...new Set(cluster.requestsOf(ApiKey.Metadata).map((r) => r.apiVersion))], [12]);
  assert.equal([...new Set(cluster.requestsOf(ApiKey.Produce).map((r) => r.apiVersion))], [12]);
  assert.equal(cluster.values("t", 0), ["x"]);
});

test("a broker without a Produce version we speak fails the send with UNSUPPORTED_VERSION instead of hanging", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }], apiVersions: { [ApiKey.Produce]: { minVersion: 0, maxVersion: 2 } } });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
  const e = await producer.send({ topic: "t", value: "x" }).catch((e) => e);
  assert.is(e.code, "UNSUPPORTED_VERSION");
  await producer.close();
});

test("metadata is refreshed by age (metadataMaxAgeMs) and a new leader is used without any error", async () => {
  const clock = new ManualClock();
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 1, leaders: [1] }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, clock, metadataMaxAgeMs: 10_000 });
  const p1 = producer.send({ topic: "t", value: "a" });
  await clock.advance(1);
  await p1;
  cluster.setLeader("t", 0, 2);
  // Until the age passes, the producer does not know about the move.
  const before = cluster.requestsOf(ApiKey.Metadata).length;
  await clock.advance(10_001);
  const p2 = producer.send({ topic: "t", value: "b" });
  await clock.advance(1);
  await clock.advance(200);
  await p2;
  assert.ok(cluster.requestsOf(ApiKey.Metadata).length > before);
  assert.equal(cluster.values("t", 0), ["a", "b"]);
  await producer.close();
});

test("brokerAddressMap rewrites the addresses Metadata advertises (here unreachable without it)", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const metadata = cluster.defaultHandler(ApiKey.Metadata)!;
  cluster.handle(ApiKey.Metadata, async (ctx) => {
    const res = (await metadata(ctx)) as { brokers: { host: string }[] };
    for (const b of res.brokers) b.host = "advertised.invalid";
    return res;
  });
  const seen: string[] = [];
  const producer = new Producer({
    brokers: cluster.bootstrap,
    transport: (a, h) => { seen.push(`${a.host}#${a.nodeId}`); return cluster.transport(a, h); },
    brokerAddressMap: (a) => ({ ...a, host: a.host === "advertised.invalid" ? "127.0.0.1" : a.host }),
  });
  const m = await producer.send({ topic: "t", value: "x" });
  assert.is(m.offset, 0);
  await producer.close();
  assert.ok(seen.every((s) => s.startsWith("127.0.0.1#")), seen.join());
});

test.run();
