import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, ERR } from "./cluster.ts";
import { RawClient } from "./client.ts";
import { encodeTestBatch } from "./batch.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { ApiVersions } from "../../src/protocol/api-versions.ts";
import { Metadata } from "../../src/protocol/metadata.ts";
import { Produce, type ProduceRequest } from "../../src/protocol/produce.ts";
import { InitProducerId } from "../../src/protocol/init-producer-id.ts";
import { MemoryNetwork } from "../../src/transport/memory.ts";
import { ListOffsets } from "../../src/protocol/list-offsets.ts";
import { Fetch } from "../../src/protocol/fetch.ts";
import { decodeRecordBatches } from "../../src/protocol/record-batch.ts";
import { listenTcp } from "./tcp.ts";
import { FindCoordinator } from "../../src/protocol/find-coordinator.ts";
import { AddPartitionsToTxn } from "../../src/protocol/add-partitions-to-txn.ts";
import { EndTxn } from "../../src/protocol/end-txn.ts";
import { connect } from "node:net";

const produceReq = (topic: string, partition: number, records: Uint8Array | null, acks = -1): ProduceRequest =>
  ({ transactionalId: null, acks, timeoutMs: 1000, topics: [{ name: topic, partitions: [{ index: partition, records }] }] });
const batch = (values: string[], pid = -1, epoch = -1, seq = -1) =>
  encodeTestBatch({ records: values.map((value) => ({ value })), producerId: pid, producerEpoch: epoch, baseSequence: seq });

async function setup(opts: ConstructorParameters<typeof FakeCluster>[0] = {}) {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2 }], ...opts });
  const c1 = await RawClient.connect(cluster.transport, "127.0.0.1", 9092);
  const c2 = await RawClient.connect(cluster.transport, "127.0.0.1", 9093);
  return { cluster, c1, c2 };
}

test("ApiVersions lists the configured ranges and answers a too-new request with error 35 and a v0 body", async () => {
  const { cluster, c1 } = await setup({ apiVersions: { [ApiKey.Produce]: { minVersion: 0, maxVersion: 7 }, [ApiKey.ApiVersions]: { minVersion: 0, maxVersion: 2 } } });
  const res = await c1.send(ApiVersions, 2, {});
  assert.is(res.errorCode, 0);
  assert.equal(res.apiKeys.find((k) => k.apiKey === 0), { apiKey: 0, minVersion: 0, maxVersion: 7 });
  const fallback = await c1.send(ApiVersions, 4, { clientSoftwareName: "x", clientSoftwareVersion: "1" });
  assert.is(fallback.errorCode, ERR.UNSUPPORTED_VERSION);
  assert.equal(fallback.apiKeys.find((k) => k.apiKey === 18), { apiKey: 18, minVersion: 0, maxVersion: 2 });
  assert.is(cluster.requests.length, 2);
});

test("Metadata lists live brokers, leaders round-robin, and UNKNOWN_TOPIC_OR_PARTITION for unknown topics", async () => {
  const { cluster, c1 } = await setup();
  const res = await c1.send(Metadata, 12, { topics: null });
  assert.equal(res.brokers.map((b) => [b.nodeId, b.port]), [[1, 9092], [2, 9093]]);
  assert.equal(res.topics[0].partitions.map((p) => p.leaderId), [1, 2]);
  const missing = await c1.send(Metadata, 4, { topics: ["nope"] });
  assert.is(missing.topics[0].errorCode, ERR.UNKNOWN_TOPIC_OR_PARTITION);
  cluster.setLeader("t", 0, 2);
  const after = await c1.send(Metadata, 7, { topics: ["t"] });
  assert.equal([after.topics[0].partitions[0].leaderId, after.topics[0].partitions[0].leaderEpoch], [2, 1]);
});

test("a leaderless partition: Metadata says LEADER_NOT_AVAILABLE with leader -1, Produce NOT_LEADER_OR_FOLLOWER", async () => {
  const { cluster, c1 } = await setup();
  cluster.setLeader("t", 0, -1);
  const p = (await c1.send(Metadata, 12, { topics: ["t"] })).topics[0].partitions[0];
  assert.equal([p.errorCode, p.leaderId], [5, -1]);
  const res = await c1.send(Produce, 10, produceReq("t", 0, batch(["x"])));
  assert.is(res.topics[0].partitions[0].errorCode, ERR.NOT_LEADER_OR_FOLLOWER);
  assert.is(res.nodeEndpoints, undefined);
  cluster.setLeader("t", 0, 1);
  assert.is((await c1.send(Produce, 10, produceReq("t", 0, batch(["x"])))).topics[0].partitions[0].errorCode, 0);
});

test("Produce appends to the leader's log with increasing offsets and decodes the records", async () => {
  const { cluster, c1 } = await setup();
  const r1 = await c1.send(Produce, 7, produceReq("t", 0, batch(["a", "b"])));
  const r2 = await c1.send(Produce, 12, produceReq("t", 0, batch(["c"])));
  assert.equal([r1.topics[0].partitions[0].baseOffset, r2.topics[0].partitions[0].baseOffset], [0, 2]);
  assert.equal(cluster.values("t", 0), ["a", "b", "c"]);
  assert.equal(cluster.records("t", 0).map((r) => r.offset), [0, 1, 2]);
  const stored = cluster.partition("t", 0).log[1].bytes;
  assert.is(Number(new DataView(stored.buffer, stored.byteOffset).getBigInt64(0)), 2, "baseOffset patched into the stored bytes");
});

test("Produce to a follower gets NOT_LEADER_OR_FOLLOWER, with current_leader and node_endpoints from v10", async () => {
  const { c1 } = await setup();
  const old = await c1.send(Produce, 9, produceReq("t", 1, batch(["x"])));
  assert.is(old.topics[0].partitions[0].errorCode, ERR.NOT_LEADER_OR_FOLLOWER);
  assert.is(old.topics[0].partitions[0].currentLeader, undefined);
  const res = await c1.send(Produce, 10, produceReq("t", 1, batch(["x"])));
  assert.equal(res.topics[0].partitions[0].currentLeader, { leaderId: 2, leaderEpoch: 0 });
  assert.equal(res.nodeEndpoints, [{ nodeId: 2, host: "127.0.0.1", port: 9093, rack: null }]);
});

test("Produce rejects a batch with a bad CRC as CORRUPT_MESSAGE and an unknown partition as UNKNOWN_TOPIC_OR_PARTITION", async () => {
  const { cluster, c1 } = await setup();
  const bad = batch(["a"]);
  bad[bad.length - 1] ^= 1;
  assert.is((await c1.send(Produce, 7, produceReq("t", 0, bad))).topics[0].partitions[0].errorCode, ERR.CORRUPT_MESSAGE);
  assert.is((await c1.send(Produce, 7, produceReq("t", 9, batch(["a"])))).topics[0].partitions[0].errorCode, ERR.UNKNOWN_TOPIC_OR_PARTITION);
  assert.is(cluster.partition("t", 0).log.length, 0);
});

test("idempotent Produce: in-sequence appends, a retried duplicate gets its original offset, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER", async () => {
  const { cluster, c1 } = await setup();
  const { producerId, producerEpoch } = await c1.send(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000 });
  const p = (vals: string[], seq: number) => c1.send(Produce, 7, produceReq("t", 0, batch(vals, producerId, producerEpoch, seq)));
  assert.is((await p(["a", "b"], 0)).topics[0].partitions[0].baseOffset, 0);
  assert.is((await p(["c"], 2)).topics[0].partitions[0].baseOffset, 2);
  const dup = (await p(["a", "b"], 0)).topics[0].partitions[0];
  assert.equal([dup.errorCode, dup.baseOffset], [0, 0]);
  assert.is((await p(["e"], 5)).topics[0].partitions[0].errorCode, ERR.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(cluster.values("t", 0), ["a", "b", "c"]);
  // KIP-360 epoch bump: the new epoch must start at 0; the old epoch is then fenced.
  const bumped = await c1.send(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId, producerEpoch });
  assert.equal([bumped.errorCode, bumped.producerId, bumped.producerEpoch], [0, producerId, producerEpoch + 1]);
  const q = (seq: number, epoch: number) => c1.send(Produce, 7, produceReq("t", 0, batch(["z"], producerId, epoch, seq)));
  assert.is((await q(3, producerEpoch + 1)).topics[0].partitions[0].errorCode, ERR.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.is((await q(0, producerEpoch + 1)).topics[0].partitions[0].errorCode, 0);
  assert.is((await q(1, producerEpoch)).topics[0].partitions[0].errorCode, ERR.INVALID_PRODUCER_EPOCH);
});

test("idempotent Produce: duplicateAnswer 'error' answers DUPLICATE_SEQUENCE_NUMBER; sequences wrap at 2^31", async () => {
  const { c1 } = await setup({ duplicateAnswer: "error" });
  const pid = 5;
  const send = (seq: number) => c1.send(Produce, 7, produceReq("t", 0, batch(["a"], pid, 0, seq)));
  assert.is((await send(2147483647)).topics[0].partitions[0].errorCode, 0);
  assert.is((await send(2147483647)).topics[0].partitions[0].errorCode, ERR.DUPLICATE_SEQUENCE_NUMBER);
  assert.is((await send(0)).topics[0].partitions[0].errorCode, 0);
});

test("InitProducerId with a stale epoch is fenced (PRODUCER_FENCED from v4, INVALID_PRODUCER_EPOCH before)", async () => {
  const { c1 } = await setup();
  const a = await c1.send(InitProducerId, 5, { transactionalId: null, transactionTimeoutMs: 1 });
  const stale = { transactionalId: null, transactionTimeoutMs: 1, producerId: a.producerId, producerEpoch: a.producerEpoch + 3 };
  assert.is((await c1.send(InitProducerId, 4, stale)).errorCode, ERR.PRODUCER_FENCED);
  assert.is((await c1.send(InitProducerId, 3, stale)).errorCode, ERR.INVALID_PRODUCER_EPOCH);
});

test("acks=0 appends and sends no response; the next response on the connection is the next request's", async () => {
  const { cluster, c1 } = await setup();
  await c1.send(Produce, 7, produceReq("t", 0, batch(["quiet"]), 0), false);
  const md = await c1.send(Metadata, 4, { topics: ["t"] });
  assert.is(md.topics[0].name, "t");
  assert.equal(cluster.values("t", 0), ["quiet"]);
});

test("an injected error on an acks=0 Produce closes the connection instead of answering, as Kafka does", async () => {
  const { cluster, c1 } = await setup();
  cluster.pushErrors(ApiKey.Produce, [ERR.NOT_LEADER_OR_FOLLOWER]);
  await c1.send(Produce, 7, produceReq("t", 0, batch(["lost"]), 0), false);
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(c1.closedWith instanceof Error);
  assert.equal(cluster.values("t", 0), []);
});

test("injected errors apply to the next requests of that API only, without appending", async () => {
  const { cluster, c1 } = await setup();
  cluster.pushErrors(ApiKey.Produce, [ERR.NOT_ENOUGH_REPLICAS, ERR.REQUEST_TIMED_OUT]);
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await c1.send(Produce, 7, produceReq("t", 0, batch([`v${i}`])))).topics[0].partitions[0].errorCode);
  assert.equal(codes, [ERR.NOT_ENOUGH_REPLICAS, ERR.REQUEST_TIMED_OUT, 0]);
  assert.equal(cluster.values("t", 0), ["v2"]);
  cluster.pushErrors(ApiKey.InitProducerId, [ERR.NOT_ENOUGH_REPLICAS]);
  assert.is((await c1.send(InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 1 })).errorCode, ERR.NOT_ENOUGH_REPLICAS);
});

test("a Produce error limited to some partitions fails those and appends the others", async () => {
  const cluster = new FakeCluster({ topics: [{ name: "t", partitions: 2 }] });
  const c = await RawClient.connect(cluster.transport, "127.0.0.1", 9092);
  cluster.inject({ apiKey: ApiKey.Produce, action: { error: ERR.NOT_ENOUGH_REPLICAS, partitions: ["t/1"] } });
  const res = await c.send(Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topics: [{ name: "t", partitions: [
    { index: 0, records: batch(["ok"]) }, { index: 1, records: batch(["failed"]) },
  ] }] });
  assert.equal(res.topics[0].partitions.map((p) => [p.index, p.errorCode, p.baseOffset]), [[0, 0, 0], [1, ERR.NOT_ENOUGH_REPLICAS, -1]]);
  assert.equal([cluster.values("t", 0), cluster.values("t", 1)], [["ok"], []]);
});

test("a dropped response still appends (the retry-duplicate scenario); closeConnection 'before' does not", async () => {
  const { cluster, c1, c2 } = await setup();
  cluster.inject({ apiKey: ApiKey.Produce, action: { dropResponse: true } });
  assert.is(await c1.sendWithin(Produce, 7, produceReq("t", 0, batch(["kept"])), 30), "timeout");
  assert.equal(cluster.values("t", 0), ["kept"]);
  cluster.inject({ apiKey: ApiKey.Produce, brokerId: 2, action: { closeConnection: "before" } });
  try {
    await c2.send(Produce, 7, produceReq("t", 1, batch(["lost"])));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /closed/);
  }
  assert.equal(cluster.values("t", 1), []);
});

test("malformed responses reach the client as PROTOCOL_ERROR", async () => {
  const { cluster, c1 } = await setup();
  cluster.inject({ apiKey: ApiKey.Metadata, action: { malformed: (f) => { const g = f.slice(0, 12); new DataView(g.buffer).setInt32(0, 8); return g; } } });
  try {
    await c1.send(Metadata, 4, { topics: null });
    assert.unreachable();
  } catch (e) {
    assert.is((e as any).code, "PROTOCOL_ERROR");
  }
});

test("a delayed response holds later responses on the same connection, as a broker does", async () => {
  const { cluster, c1 } = await setup();
  cluster.inject({ apiKey: ApiKey.Metadata, action: { delayMs: 20 } });
  const order: string[] = [];
  const a = c1.send(Metadata, 4, { topics: null }).then(() => order.push("metadata"));
  const b = c1.send(ApiVersions, 0, {}).then(() => order.push("apiversions"));
  await Promise.all([a, b]);
  assert.equal(order, ["metadata", "apiversions"]);
});

test("closeAfter closes the connection at the n-th request; brokerDown refuses connections until brokerUp", async () => {
  const { cluster, c1 } = await setup();
  cluster.closeAfter(1, 2);
  await c1.send(ApiVersions, 0, {});
  await c1.send(ApiVersions, 0, {}).then(() => assert.unreachable(), (e) => assert.match(e.message, /closeAfter/));
  cluster.brokerDown(2);
  await RawClient.connect(cluster.transport, "127.0.0.1", 9093).then(() => assert.unreachable(), (e) => assert.match(e.message, /9093/));
  cluster.brokerUp(2);
  const c = await RawClient.connect(cluster.transport, "127.0.0.1", 9093);
  assert.is((await c.send(ApiVersions, 3, {})).errorCode, 0);
});

test("frames split into 7-byte chunks are reassembled by the fake and by the client", async () => {
  const cluster = new FakeCluster({ network: new MemoryNetwork({ maxChunkBytes: 7 }), topics: [{ name: "t", partitions: 1 }] });
  const c = await RawClient.connect(cluster.transport, "127.0.0.1", 9092);
  await c.send(Produce, 11, produceReq("t", 0, batch(["chunked", "frames"])));
  assert.equal(cluster.values("t", 0), ["chunked", "frames"]);
  assert.is((await c.send(Metadata, 12, { topics: null })).topics[0].name, "t");
});

test("an API version outside the advertised range closes the connection", async () => {
  const { c1 } = await setup({ apiVersions: { [ApiKey.Produce]: { minVersion: 3, maxVersion: 7 } } });
  await c1.send(Produce, 9, produceReq("t", 0, batch(["a"]))).then(() => assert.unreachable(), (e) => assert.match(e.message, /not supported/));
});

test("ListOffsets answers earliest, latest and by-timestamp offsets from the stored log", async () => {
  const { c1 } = await setup();
  await c1.send(Produce, 7, produceReq("t", 0, encodeTestBatch({ baseTimestamp: 1000, records: [{ value: "a" }, { value: "b", timestampDelta: 10 }] })));
  await c1.send(Produce, 7, produceReq("t", 0, encodeTestBatch({ baseTimestamp: 2000, records: [{ value: "c" }] })));
  const res = await c1.send(ListOffsets, 8, { topics: [{ name: "t", partitions: [
    { partitionIndex: 0, timestamp: -2 }, { partitionIndex: 0, timestamp: -1 }, { partitionIndex: 0, timestamp: 1005 }, { partitionIndex: 0, timestamp: -3 },
    { partitionIndex: 1, timestamp: -1 },
  ] }] });
  assert.equal(res.topics[0].partitions.map((p) => [p.errorCode, p.offset]), [[0, 0], [0, 3], [0, 1], [0, 2], [ERR.NOT_LEADER_OR_FOLLOWER, -1]]);
});

test("Fetch returns the stored batches from the fetch offset, with real offsets, by name (v4-v12) and by topic id (v13)", async () => {
  const { c1 } = await setup();
  await c1.send(Produce, 7, produceReq("t", 0, batch(["a", "b"])));
  await c1.send(Produce, 7, produceReq("t", 0, batch(["c"])));
  for (const v of [4, 11, 12, 13]) {
    const topicId = (await c1.send(Metadata, 12, { topics: ["t"] })).topics[0].topicId;
    const res = await c1.send(Fetch, v, { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic: "t", topicId, partitions: [{ partition: 0, fetchOffset: 2, partitionMaxBytes: 1 << 20 }] }] });
    const p = res.responses[0].partitions[0];
    assert.is(p.errorCode, 0, `v${v}`);
    assert.is(p.highWatermark, 3);
    const batches = decodeRecordBatches(p.records!);
    assert.equal(batches.flatMap((b) => b.records.map((r) => [r.offset, new TextDecoder().decode(r.value!)])), [[2, "c"]], `v${v}`);
  }
  const out = await c1.send(Fetch, 7, { maxWaitMs: 0, minBytes: 1, maxBytes: 100, topics: [{ topic: "t", partitions: [{ partition: 0, fetchOffset: 9, partitionMaxBytes: 100 }] }] });
  assert.is(out.responses[0].partitions[0].errorCode, ERR.OFFSET_OUT_OF_RANGE);
});

test("transactions: FindCoordinator names the coordinator, InitProducerId fences older epochs, AddPartitionsToTxn and EndTxn track the transaction", async () => {
  const { cluster, c1, c2 } = await setup();
  cluster.coordinatorId = 2;
  const fc = await c1.send(FindCoordinator, 4, { keyType: 1, keys: ["tx"] });
  assert.equal([fc.coordinators[0].key, fc.coordinators[0].nodeId, fc.coordinators[0].port], ["tx", 2, 9093]);
  const first = await c2.send(InitProducerId, 4, { transactionalId: "tx", transactionTimeoutMs: 60000 });
  const second = await c2.send(InitProducerId, 4, { transactionalId: "tx", transactionTimeoutMs: 60000 });
  assert.equal([second.producerId, second.producerEpoch], [first.producerId, first.producerEpoch + 1]);
  const stale = await c2.send(AddPartitionsToTxn, 3, { transactionalId: "tx", producerId: first.producerId, producerEpoch: first.producerEpoch, topics: [{ name: "t", partitions: [0] }] });
  assert.is(stale.results[0].results[0].errorCode, ERR.INVALID_PRODUCER_EPOCH);
  const add = await c2.send(AddPartitionsToTxn, 3, { transactionalId: "tx", producerId: second.producerId, producerEpoch: second.producerEpoch, topics: [{ name: "t", partitions: [0, 1] }] });
  assert.equal(add.results[0].results.map((r) => r.errorCode), [0, 0]);
  assert.equal([...cluster.transactions.get("tx")!.partitions], ["t/0", "t/1"]);
  const notCoord = await c1.send(EndTxn, 3, { transactionalId: "tx", producerId: second.producerId, producerEpoch: second.producerEpoch, committed: true });
  assert.is(notCoord.errorCode, 16);
  const end = await c2.send(EndTxn, 5, { transactionalId: "tx", producerId: second.producerId, producerEpoch: second.producerEpoch, committed: true });
  assert.equal([end.errorCode, end.producerId], [0, second.producerId]);
  assert.equal(cluster.transactions.get("tx")!.ended, ["commit"]);
});

test("listenTcp serves the same cluster over real TCP on 127.0.0.1 and advertises the TCP ports", async () => {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2 }] });
  const front = await listenTcp(cluster);
  try {
    // A throwaway node:net Transport, so this test does not depend on the producer's.
    const tcp = (address: { host: string; port: number }, h: { onData(c: Uint8Array): void; onClose(e?: Error): void }) =>
      new Promise<any>((resolve, reject) => {
        const s = connect(address.port, address.host, () => resolve({ write: (d: Uint8Array) => new Promise<void>((r) => s.write(d, () => r())), close: () => s.end() }));
        s.on("data", (c) => h.onData(new Uint8Array(c)));
        s.on("error", reject);
        s.on("close", () => h.onClose());
      });
    const [host, port] = front.bootstrap[1].split(":");
    const c = await RawClient.connect(tcp as any, host, Number(port));
    const md = await c.send(Metadata, 12, { topics: null });
    assert.equal(md.brokers.map((b) => `${b.host}:${b.port}`), front.bootstrap);
    assert.is((await c.send(Produce, 11, produceReq("t", 1, batch(["over tcp"])))).topics[0].partitions[0].errorCode, 0);
    assert.equal(cluster.values("t", 1), ["over tcp"]);
    c.close();
  } finally {
    await front.close();
    cluster.close();
  }
});

test.run();
