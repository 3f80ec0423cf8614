// Pins down what librdkafka 2.0.2's mock broker does and does not check (README "What the 2.0.2
// mock offers"), with hand-built frames, so producer tests know what the mock can prove.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ApiKey, startCluster, type Cluster, type ClusterBroker } from "./cluster.ts";
import { consumeAll, kcatMetadata, queryOffsets } from "./kcat.ts";
import { exchange, initProducerIdV0Body, parseApiVersionsV0, parseInitProducerIdV0, parseProduceV3, produceV3Body, rawRecordBatch, requestFrame } from "./raw.ts";

const external = Boolean(process.env.KAFKA_BROKERS?.trim());
const it = external ? test.skip : test;
let cluster: Cluster;
let b: ClusterBroker;
let correlationId = 100;

test.before(async () => {
  if (external) return;
  cluster = await startCluster({ brokers: 1, topics: [{ name: "m", partitions: 2 }] });
  b = cluster.brokers[0];
});
test.after(async () => { await cluster?.stop(); });

async function produce(topic: string, partitions: { index: number; records: Uint8Array }[], acks = -1) {
  const [r] = await exchange(b.host, b.port, [requestFrame(ApiKey.Produce, 3, correlationId++, produceV3Body(topic, partitions, acks))], 1);
  return parseProduceV3(r.frame).partitions;
}
const v = (s: string) => new Uint8Array(Buffer.from(s));

it("advertises Produce 0..7, Metadata 0..2, InitProducerId 0..4, Fetch 0..11, ListOffsets 0..5, ApiVersions 0..2", async () => {
  const [r] = await exchange(b.host, b.port, [requestFrame(ApiKey.ApiVersions, 0, 1)], 1);
  const apis = new Map(parseApiVersionsV0(r.frame).apis.map((a) => [a.apiKey, `${a.min}..${a.max}`]));
  assert.equal([0, 3, 22, 1, 2, 18].map((k) => apis.get(k)), ["0..7", "0..2", "0..4", "0..11", "0..5", "0..2"]);
  assert.is(apis.has(19), false, "no CreateTopics");
});

it("answers ApiVersions v3 with UNSUPPORTED_VERSION and closes on an unsupported Metadata version", async () => {
  // ApiVersions v3 request: header v2 (tagged fields) + compact client software name/version.
  const frame = Buffer.from("00000010" + "00120003" + "00000002" + "ffff" + "00" + "0161" + "0161" + "00", "hex");
  const [r] = await exchange(b.host, b.port, [frame], 1);
  assert.is(r.frame.readInt16BE(4), 35);
  const e = await exchange(b.host, b.port, [requestFrame(ApiKey.Metadata, 3, 2, Buffer.from("ffffffff00", "hex"))], 1).catch((x: Error) => x);
  assert.match(String(e), /closed after 0 of 1/);
});

it("sends a Produce response even for acks=0", async () => {
  const rs = await exchange(b.host, b.port, [
    requestFrame(ApiKey.Produce, 3, 77, produceV3Body("m", [{ index: 0, records: rawRecordBatch({ values: [v("acks0")] }) }], 0)),
    requestFrame(ApiKey.ApiVersions, 0, 78),
  ], 2);
  assert.equal(rs.map((r) => r.frame.readInt32BE(0)), [77, 78]);
});

it("does not enforce idempotent sequences: gaps, repeats and a wrong epoch are all appended", async () => {
  const [ip] = await exchange(b.host, b.port, [requestFrame(ApiKey.InitProducerId, 0, 3, initProducerIdV0Body())], 1);
  const { errorCode, producerId, producerEpoch } = parseInitProducerIdV0(ip.frame);
  assert.is(errorCode, 0);
  assert.ok(producerId >= 0n);
  const before = (await queryOffsets(cluster.bootstrap, "m"))[1].high;
  const send = (baseSequence: number, epoch = producerEpoch) =>
    produce("m", [{ index: 1, records: rawRecordBatch({ values: [v(`s${baseSequence}`)], producerId, producerEpoch: epoch, baseSequence }) }]);
  const codes = [];
  for (const [seq, epoch] of [[0, producerEpoch], [0, producerEpoch], [7, producerEpoch], [8, producerEpoch + 5]]) codes.push((await send(seq, epoch))[0].errorCode);
  assert.equal(codes, [0, 0, 0, 0]);
  assert.is((await queryOffsets(cluster.bootstrap, "m"))[1].high - before, 4);
});

it("enforces sequences and epoch only for transactional producers: DUPLICATE 46, OUT_OF_ORDER 45, INVALID_EPOCH 47", async () => {
  const str = (x: string) => Buffer.concat([Buffer.from([0, x.length]), Buffer.from(x)]);
  const int = (n: number, size: 2 | 4) => { const h = Buffer.alloc(size); if (size === 2) h.writeInt16BE(n); else h.writeInt32BE(n); return h; };
  const [ip] = await exchange(b.host, b.port, [requestFrame(ApiKey.InitProducerId, 0, 4, Buffer.concat([str("tx1"), int(60_000, 4)]))], 1);
  const { errorCode, producerId, producerEpoch } = parseInitProducerIdV0(ip.frame);
  assert.is(errorCode, 0);
  const pidBytes = Buffer.alloc(8);
  pidBytes.writeBigInt64BE(producerId);
  const add = Buffer.concat([str("tx1"), pidBytes, int(producerEpoch, 2), int(1, 4), str("m"), int(1, 4), int(0, 4)]);
  const [ap] = await exchange(b.host, b.port, [requestFrame(ApiKey.AddPartitionsToTxn, 0, 5, add)], 1);
  assert.is(ap.frame.readInt16BE(ap.frame.length - 2), 0);
  const codes = [];
  for (const [seq, epoch] of [[0, producerEpoch], [0, producerEpoch], [5, producerEpoch], [1, producerEpoch], [2, producerEpoch + 3]]) {
    const body = produceV3Body("m", [{ index: 0, records: rawRecordBatch({ values: [v("t")], producerId, producerEpoch: epoch, baseSequence: seq }) }]);
    const [r] = await exchange(b.host, b.port, [requestFrame(ApiKey.Produce, 3, correlationId++, Buffer.concat([str("tx1"), body.subarray(2)]))], 1);
    codes.push(parseProduceV3(r.frame).partitions[0].errorCode);
  }
  assert.equal(codes, [0, 46, 45, 0, 47]);
});

it("injected errors and disconnects happen before the append; a delayed response does not", async () => {
  const req = () => requestFrame(ApiKey.Produce, 3, correlationId++, produceV3Body("m", [{ index: 1, records: rawRecordBatch({ values: [v("d")] }) }]));
  const high = async () => (await queryOffsets(cluster.bootstrap, "m"))[1].high;
  const start = await high();
  await cluster.pushRequestErrors(ApiKey.Produce, [6]);
  const [r] = await exchange(b.host, b.port, [req()], 1);
  assert.is(parseProduceV3(r.frame).partitions[0].errorCode, 6);
  await cluster.pushRequestErrors(ApiKey.Produce, [-195]);
  assert.match(String(await exchange(b.host, b.port, [req()], 1).catch((e: Error) => e)), /closed after 0 of 1/);
  assert.is(await high(), start);
  // A fresh cluster: per-broker errors would shadow this one's cluster-wide Produce errors.
  const c = await startCluster({ brokers: 1, topics: [{ name: "d", partitions: 1 }] });
  try {
    const cb = c.brokers[0];
    await c.pushBrokerRequestErrors(cb.id, ApiKey.Produce, [{ code: 0, rttMs: 1_000 }]);
    const slow = requestFrame(ApiKey.Produce, 3, 1, produceV3Body("d", [{ index: 0, records: rawRecordBatch({ values: [v("d")] }) }]));
    assert.match(String(await exchange(cb.host, cb.port, [slow], 1, 300).catch((e: Error) => e)), /within 300 ms/);
    assert.equal(await queryOffsets(c.bootstrap, "d"), [{ partition: 0, low: 0, high: 1 }]);
  } finally {
    await c.stop();
  }
});

it("accepts a corrupt CRC and a 3 MB record; injected errors hit every partition of the request", async () => {
  const bad = await produce("m", [{ index: 0, records: rawRecordBatch({ values: [v("bad crc")], crc: 12345 }) }]);
  assert.is(bad[0].errorCode, 0);
  const big = await produce("m", [{ index: 0, records: rawRecordBatch({ values: [new Uint8Array(3_000_000)] }) }]);
  assert.is(big[0].errorCode, 0);
  await cluster.pushRequestErrors(ApiKey.Produce, [10]);
  const two = await produce("m", [0, 1].map((index) => ({ index, records: rawRecordBatch({ values: [v("x")] }) })));
  assert.equal(two.map((p) => p.errorCode), [10, 10]);
});

it("auto-creates 4 partitions on Metadata, refuses Produce to unknown topics, ignores replication factor", async () => {
  const md = await kcatMetadata(cluster.bootstrap, "auto-md");
  assert.is(md.topics[0].partitions.length, 4);
  const p = await produce("never-seen", [{ index: 0, records: rawRecordBatch({ values: [v("x")] }) }]);
  assert.is(p[0].errorCode, 3);
  assert.is((await kcatMetadata(cluster.bootstrap)).topics.some((t) => t.topic === "never-seen"), false);
  const c3 = await startCluster({ brokers: 3, topics: [{ name: "rf1", partitions: 1, replicationFactor: 1 }] });
  try {
    const rf = await kcatMetadata(c3.bootstrap, "rf1");
    assert.equal(rf.topics[0].partitions[0].replicas.map((r) => r.id), [1, 2, 3]);
  } finally {
    await c3.stop();
  }
});

it("answers NOT_LEADER_OR_FOLLOWER for a leaderless partition and serves it again once it has a leader", async () => {
  await cluster.setLeader("m", 0, -1);
  assert.is((await kcatMetadata(cluster.bootstrap, "m")).topics[0].partitions.find((p) => p.partition === 0)!.leader, -1);
  assert.is((await produce("m", [{ index: 0, records: rawRecordBatch({ values: [v("no leader")] }) }]))[0].errorCode, 6);
  await cluster.setLeader("m", 0, 1);
  assert.is((await produce("m", [{ index: 0, records: rawRecordBatch({ values: [v("back")] }) }]))[0].errorCode, 0);
  const last = (await consumeAll(cluster.bootstrap, "m", { partition: 0 })).at(-1);
  assert.is(last?.payload, "back");
});

test.run();
