// Differential tests against @platformatic/kafka's protocol encoders/decoders (dev-only oracle, an
// implementation independent of ours) for every version it has, including the flexible ones KafkaJS
// lacks: ApiVersions v0-4, Metadata v0-12, Produce v3-11, InitProducerId v0-5, ListOffsets v1-8, Fetch v12-13
// (Fetch v4-11 is checked against KafkaJS).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Reader as OurReader } from "../../src/protocol/wire.ts";
import { ApiVersions, ApiVersionsServer } from "../../src/protocol/api-versions.ts";
import { Metadata, MetadataServer, type MetadataResponse } from "../../src/protocol/metadata.ts";
import { Produce, ProduceServer, type ProduceResponse } from "../../src/protocol/produce.ts";
import { InitProducerId, InitProducerIdServer } from "../../src/protocol/init-producer-id.ts";
import { ListOffsets, ListOffsetsServer } from "../../src/protocol/list-offsets.ts";
import { Fetch, FetchServer, type FetchResponse } from "../../src/protocol/fetch.ts";
import { encodeTestBatch } from "../fake/batch.ts";
import { hex, ourBody, plt, theirParse } from "./platformatic-oracle.ts";

const uuidHex = "0123456789abcdef0123456789abcdef";
const uuidStr = "01234567-89ab-cdef-0123-456789abcdef";
const uuid = Uint8Array.from(Buffer.from(uuidHex, "hex"));



test("ApiVersions v0-v4: request bytes match, and responses (with feature tags from v3) parse to the same values", async () => {
  for (const v of [0, 1, 2, 3, 4]) {
    const m = await plt(`apis/metadata/api-versions-v${v}.js`);
    assert.is(ourBody(ApiVersions, v, { clientSoftwareName: "kafkasm", clientSoftwareVersion: "0.1.0" }), hex(m.createRequest("kafkasm", "0.1.0").buffer));
    const res = { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 12 }], throttleTimeMs: 9,
      supportedFeatures: [{ name: "kraft.version", minVersion: 0, maxVersion: 1 }], finalizedFeaturesEpoch: 77,
      finalizedFeatures: [{ name: "kraft.version", maxVersionLevel: 1, minVersionLevel: 1 }], zkMigrationReady: true };
    const d = theirParse(m, ApiVersionsServer, v, res);
    assert.equal(d.apiKeys.map((k: any) => [k.apiKey, k.minVersion, k.maxVersion]), [[0, 3, 12]]);
    if (v >= 1) assert.is(d.throttleTimeMs, 9);
    if (v < 3) continue;
    assert.equal(d.supportedFeatures, res.supportedFeatures);
    assert.is(d.finalizedFeaturesEpoch, 77n);
    assert.equal(d.finalizedFeatures, res.finalizedFeatures);
    assert.is(d.zkMigrationReady, true);
  }
});

test("Metadata v0-v12: request bytes match and responses parse to the same brokers, topic ids and leaders", async () => {
  const res: MetadataResponse = {
    throttleTimeMs: 4, brokers: [{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }, { nodeId: 2, host: "b2", port: 9093, rack: "r" }],
    clusterId: "c", controllerId: 1, clusterAuthorizedOperations: 12,
    topics: [{ errorCode: 0, name: "events", topicId: uuid, isInternal: false, topicAuthorizedOperations: 8,
      partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 2, leaderEpoch: 6, replicaNodes: [2, 1], isrNodes: [2], offlineReplicas: [1] }] }],
  };
  for (let v = 0; v <= 12; v++) {
    const m = await plt(`apis/metadata/metadata-v${v}.js`);
    // platformatic ignores the authorized-operations flags before v8 and allow_auto_topic_creation before v4
    const theirs = v <= 10 ? m.createRequest(["events", "ü"], false, true, true) : m.createRequest(["events", "ü"], false, true);
    assert.is(ourBody(Metadata, v, { topics: ["events", "ü"], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true, includeClusterAuthorizedOperations: true }),
      hex(theirs.buffer), `v${v} request`);
    const d = theirParse(m, MetadataServer, v, res);
    assert.equal(d.brokers.map((b: any) => [b.nodeId, b.host, b.port, b.rack ?? null]),
      res.brokers.map((b) => [b.nodeId, b.host, b.port, v >= 1 ? b.rack : null]), `v${v}`);
    if (v >= 2) assert.is(d.clusterId, "c");
    if (v >= 1) assert.is(d.controllerId, 1);
    if (v >= 3) assert.is(d.throttleTimeMs, 4);
    const t = d.topics[0];
    assert.is(t.name, "events");
    if (v >= 8) assert.is(t.topicAuthorizedOperations, 8);
    if (v >= 10) assert.is(t.topicId, uuidStr);
    const p = t.partitions[0];
    assert.equal([p.errorCode, p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes], [0, 0, 2, [2, 1], [2]], `v${v}`);
    if (v >= 5) assert.equal(p.offlineReplicas, [1]);
    if (v >= 7) assert.is(p.leaderEpoch, 6);
    if (v >= 8 && v <= 10) assert.is(d.clusterAuthorizedOperations, 12);
  }
});

test("Produce v3-v11: platformatic's request frames decode with our decoder and re-encode byte for byte", async () => {
  for (let v = 3; v <= 11; v++) {
    const m = await plt(`apis/producer/produce-v${v}.js`);
    const messages = [
      { topic: "events", partition: 1, key: Buffer.from("k"), value: Buffer.from("v1"), timestamp: 1700000000000n },
      { topic: "events", partition: 0, value: Buffer.from("v2"), timestamp: 1700000000001n },
      { topic: "ü", partition: 0, value: Buffer.from("v3"), timestamp: 1700000000002n },
    ];
    const theirs: Buffer = m.createRequest(-1, 3000, messages, { transactionalId: "tx", producerId: 5n, producerEpoch: 1 }).buffer;
    const r = new OurReader(theirs);
    const decoded = ProduceServer.decodeRequest(r, v);
    r.expectEnd("produce body");
    assert.equal([decoded.transactionalId, decoded.acks, decoded.timeoutMs], ["tx", -1, 3000]);
    assert.equal(decoded.topics.map((t) => [t.name, t.partitions.map((p) => p.index).sort()]), [["events", [0, 1]], ["ü", [0]]]);
    assert.is(ourBody(Produce, v, decoded), hex(theirs), `v${v}`);
  }
});

test("Produce v3-v11 responses parse in platformatic to the same offsets, record errors, current leader and node endpoints", async () => {
  const res: ProduceResponse = {
    throttleTimeMs: 3,
    topics: [{ name: "events", partitions: [{ index: 1, errorCode: 0, baseOffset: 77, logAppendTimeMs: 1700000000000, logStartOffset: 2,
      recordErrors: [], errorMessage: null, currentLeader: { leaderId: 2, leaderEpoch: 4 } }] }],
    nodeEndpoints: [{ nodeId: 2, host: "h2", port: 9093, rack: "rk" }],
  };
  for (let v = 3; v <= 11; v++) {
    const m = await plt(`apis/producer/produce-v${v}.js`);
    const d = theirParse(m, ProduceServer, v, res);
    const p = d.responses[0].partitionResponses[0];
    assert.equal([d.responses[0].name, p.index, p.errorCode, p.baseOffset, p.logAppendTimeMs],
      ["events", 1, 0, 77n, 1700000000000n], `v${v}`);
    if (v >= 5) assert.is(p.logStartOffset, 2n);
    assert.is(d.throttleTimeMs, 3);
    if (v >= 10) {
      assert.equal(p.currentLeader, { leaderId: 2, leaderEpoch: 4 });
      assert.equal(d.nodeEndpoints, res.nodeEndpoints);
    }
  }
});

test("InitProducerId v0-v5: request bytes match and responses parse to the same id and epoch", async () => {
  for (let v = 0; v <= 5; v++) {
    const m = await plt(`apis/producer/init-producer-id-v${v}.js`);
    const theirs = v >= 3 ? m.createRequest(null, 60000, 4000n, 3) : m.createRequest(null, 60000);
    assert.is(ourBody(InitProducerId, v, { transactionalId: null, transactionTimeoutMs: 60000, producerId: 4000, producerEpoch: 3 }), hex(theirs.buffer), `v${v}`);
    const d = theirParse(m, InitProducerIdServer, v, { throttleTimeMs: 1, errorCode: 0, producerId: 8589934593, producerEpoch: 7 });
    assert.equal([d.producerId, d.producerEpoch], [8589934593n, 7]);
  }
});

test("ListOffsets v1-v8: request bytes match and responses parse to the same offsets and leader epochs", async () => {
  for (let v = 1; v <= 8; v++) {
    const m = await plt(`apis/consumer/list-offsets-v${v}.js`);
    const topics = [{ name: "events", partitions: [{ partitionIndex: 3, currentLeaderEpoch: 5, timestamp: -2 }] }];
    const theirs = m.createRequest(-1, 1, topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, timestamp: BigInt(p.timestamp) })) })));
    assert.is(ourBody(ListOffsets, v, { replicaId: -1, isolationLevel: 1, topics }), hex(theirs.buffer), `v${v}`);
    const d = theirParse(m, ListOffsetsServer, v, { throttleTimeMs: 0, topics: [{ name: "events", partitions: [{ partitionIndex: 3, errorCode: 0, timestamp: -1, offset: 99, leaderEpoch: 5 }] }] });
    const p = d.topics[0].partitions[0];
    assert.equal([p.partitionIndex, p.errorCode, p.offset], [3, 0, 99n], `v${v}`);
    if (v >= 4) assert.is(p.leaderEpoch, 5);
  }
});

test("Fetch v12-v13: request bytes match (names in v12, topic ids in v13) and responses parse to the same partitions and records", async () => {
  const records = encodeTestBatch({ baseOffset: 10, records: [{ value: "a" }, { key: "k", value: "b" }] });
  for (const v of [12, 13]) {
    const m = await plt(`apis/consumer/fetch-v${v}.js`);
    const theirTopics = [{ topic: "events", topicId: v >= 13 ? uuidStr : "events", partitions: [{ partition: 1, currentLeaderEpoch: 2, fetchOffset: 10n, lastFetchedEpoch: 1, partitionMaxBytes: 1048576 }] }];
    const theirs = m.createRequest(500, 1, 1000000, 1, 0, -1, theirTopics, [], "rack");
    const ours = ourBody(Fetch, v, { maxWaitMs: 500, minBytes: 1, maxBytes: 1000000, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, rackId: "rack",
      topics: [{ topic: "events", topicId: uuid, partitions: [{ partition: 1, currentLeaderEpoch: 2, fetchOffset: 10, lastFetchedEpoch: 1, logStartOffset: -1, partitionMaxBytes: 1048576 }] }] });
    assert.is(ours, hex(theirs.buffer), `v${v} request`);
    const res: FetchResponse = { throttleTimeMs: 0, errorCode: 0, sessionId: 4, responses: [{ topic: "events", topicId: uuid, partitions: [
      { partitionIndex: 1, errorCode: 0, highWatermark: 12, lastStableOffset: 12, logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1,
        currentLeader: { leaderId: 3, leaderEpoch: 2 }, records },
    ] }] };
    const d = theirParse(m, FetchServer, v, res);
    const t = d.responses[0];
    if (v >= 13) assert.is(t.topicId, uuidStr); else assert.is(t.topic ?? t.name ?? t.topicId, "events");
    const p = t.partitions[0];
    assert.equal([p.partitionIndex, p.errorCode, p.highWatermark], [1, 0, 12n], `v${v}`);
    assert.equal(p.currentLeader, { leaderId: 3, leaderEpoch: 2 });
    const batch = Array.isArray(p.records) ? p.records[0] : p.records;
    assert.equal(batch.records.map((r: any) => r.value.toString()), ["a", "b"]);
  }
});

test.run();
