// Differential tests against KafkaJS's encoders/decoders (dev-only oracle) for the non-flexible versions
// it implements: ApiVersions v0-2, Metadata v0-6, Produce v3-7, InitProducerId v0-1, ListOffsets v1-3, Fetch v4-11.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, readRequestHeader } from "../../src/protocol/frame.ts";
import { ApiVersions, ApiVersionsServer } from "../../src/protocol/api-versions.ts";
import { Metadata, MetadataServer, type MetadataResponse } from "../../src/protocol/metadata.ts";
import { Produce, ProduceServer, type ProduceResponse } from "../../src/protocol/produce.ts";
import { InitProducerId, InitProducerIdServer } from "../../src/protocol/init-producer-id.ts";
import { ListOffsets, ListOffsetsServer } from "../../src/protocol/list-offsets.ts";
import { Fetch, FetchServer, type FetchResponse } from "../../src/protocol/fetch.ts";
import { samples } from "./samples.ts";
import { encodeTestBatch } from "../fake/batch.ts";

const require = createRequire(import.meta.url);
const kjs = (p: string) => require(`kafkajs/src/protocol/${p}`);
const kjsFrame = kjs("request");
const hex = (b: Uint8Array | Buffer) => Buffer.from(b).toString("hex");

async function kafkajsFrame(request: unknown, correlationId = 42, clientId = "kafkasm-test"): Promise<string> {
  const enc = await kjsFrame({ correlationId, clientId, request });
  return hex(enc.buffer);
}

// The body after the v0 response header, as KafkaJS's connection hands it to `decode`.
function body(frame: Uint8Array): Buffer {
  return Buffer.from(frame.subarray(8));
}

const sample = (name: string) => samples.find((s) => s.api.name === name)!;

test("ApiVersions v0-v2 request frames are byte-identical to KafkaJS's", async () => {
  for (let v = 0; v <= 2; v++) {
    const ours = encodeRequestFrame(ApiVersions, v, 42, "kafkasm-test", {});
    assert.is(hex(ours), await kafkajsFrame(kjs(`requests/apiVersions/v${v}/request`)()), `v${v}`);
  }
});

test("ApiVersions v0-v2 responses we encode decode in KafkaJS to the same ranges and throttle time", async () => {
  const res = sample("ApiVersions").responses[0];
  for (let v = 0; v <= 2; v++) {
    const decoded = await kjs(`requests/apiVersions/v${v}/response`).decode(body(encodeResponseFrame(ApiVersionsServer, v, 1, res)));
    assert.is(decoded.errorCode, 0);
    assert.equal(decoded.apiVersions, res.apiKeys);
    if (v >= 1) assert.is(decoded.clientSideThrottleTime ?? decoded.throttleTime, res.throttleTimeMs);
  }
});

test("Metadata v0-v6 request frames are byte-identical to KafkaJS's, for named topics and all topics", async () => {
  for (let v = 0; v <= 6; v++) {
    // KafkaJS writes an empty list as a null array in v1+ (its "all topics"); Kafka reads empty as "no
    // topics", so the empty case is compared in v0 only, where empty means all.
    for (const topics of v === 0 ? [["events", "ünïcode"], []] : [["events", "ünïcode"]]) {
      const ours = encodeRequestFrame(Metadata, v, 42, "kafkasm-test", { topics, allowAutoTopicCreation: false });
      const theirs = kjs(`requests/metadata/v${v}/request`)({ topics, allowAutoTopicCreation: false });
      assert.is(hex(ours), await kafkajsFrame(theirs), `v${v} ${topics.length}`);
    }
  }
  // null topics (all) in v1+: KafkaJS expresses "all" as an empty list, which it writes as a null array.
  for (let v = 1; v <= 6; v++) {
    const ours = encodeRequestFrame(Metadata, v, 42, "kafkasm-test", { topics: null, allowAutoTopicCreation: true });
    assert.is(hex(ours), await kafkajsFrame(kjs(`requests/metadata/v${v}/request`)({ topics: [], allowAutoTopicCreation: true })), `v${v} null`);
  }
});

test("Metadata v0-v6 responses we encode decode in KafkaJS to the same brokers, leaders and replicas", async () => {
  const res: MetadataResponse = sample("Metadata").responses[0];
  for (let v = 0; v <= 6; v++) {
    const d = await kjs(`requests/metadata/v${v}/response`).decode(body(encodeResponseFrame(MetadataServer, v, 1, res)));
    assert.equal(d.brokers, res.brokers.map((b) => v >= 1 ? { ...b } : { nodeId: b.nodeId, host: b.host, port: b.port }), `v${v} brokers`);
    if (v >= 1) assert.is(d.controllerId, res.controllerId);
    if (v >= 2) assert.is(d.clusterId, res.clusterId);
    if (v >= 3) assert.is(d.clientSideThrottleTime ?? d.throttleTime, res.throttleTimeMs);
    assert.equal(d.topicMetadata.map((t: any) => ({
      errorCode: t.topicErrorCode, name: t.topic, isInternal: t.isInternal ?? false,
      partitions: t.partitionMetadata.map((p: any) => ({ errorCode: p.partitionErrorCode, index: p.partitionId, leader: p.leader,
        replicas: p.replicas, isr: p.isr, offline: p.offlineReplicas ?? [] })),
    })), res.topics.map((t) => ({
      errorCode: t.errorCode, name: t.name, isInternal: v >= 1 ? t.isInternal : false,
      partitions: t.partitions.map((p) => ({ errorCode: p.errorCode, index: p.partitionIndex, leader: p.leaderId,
        replicas: p.replicaNodes, isr: p.isrNodes, offline: v >= 5 ? p.offlineReplicas : [] })),
    })), `v${v} topics`);
  }
});

test("Produce v3-v7: KafkaJS's request frames decode with our decoder and re-encode byte for byte", async () => {
  const topicData = [
    { topic: "events", partitions: [
      { partition: 0, firstSequence: 0, messages: [{ key: "k1", value: "v1", timestamp: 1700000000000 }, { value: "v2", timestamp: 1700000000001, headers: { h: "x" } }] },
      { partition: 2, firstSequence: 5, messages: [{ key: null, value: Buffer.from([1, 2, 3]), timestamp: 1700000000002 }] },
    ] },
    { topic: "ünïcode", partitions: [{ partition: 1, messages: [{ value: "é", timestamp: 1 }] }] },
  ];
  for (let v = 3; v <= 7; v++) {
    for (const transactionalId of [undefined, "txn-1"]) {
      const req = kjs(`requests/produce/v${v}/request`)({ acks: -1, timeout: 30000, transactionalId, producerId: 77, producerEpoch: 1, topicData });
      const theirs = Buffer.from((await kjsFrame({ correlationId: 9, clientId: "kjs", request: req })).buffer);
      const { header, reader } = readRequestHeader(theirs.subarray(4), () => Produce as any);
      assert.equal(header, { apiKey: 0, apiVersion: v, correlationId: 9, clientId: "kjs" });
      const decoded = ProduceServer.decodeRequest(reader, v);
      reader.expectEnd("produce request");
      assert.is(decoded.acks, -1);
      assert.is(decoded.timeoutMs, 30000);
      assert.is(decoded.transactionalId, transactionalId ?? null);
      assert.equal(decoded.topics.map((t) => [t.name, t.partitions.map((p) => p.index)]), [["events", [0, 2]], ["ünïcode", [1]]]);
      const ours = encodeRequestFrame(Produce, v, 9, "kjs", decoded);
      assert.is(hex(ours), hex(theirs), `v${v}`);
    }
  }
});

test("Produce v3-v7 responses we encode decode in KafkaJS to the same offsets and error codes", async () => {
  const res: ProduceResponse = sample("Produce").responses[0];
  for (let v = 3; v <= 7; v++) {
    const d = await kjs(`requests/produce/v${v}/response`).decode(body(encodeResponseFrame(ProduceServer, v, 1, res)));
    assert.is(d.clientSideThrottleTime ?? d.throttleTime, res.throttleTimeMs);
    assert.equal(d.topics.map((t: any) => [t.topicName, t.partitions.map((p: any) =>
      [p.partition, p.errorCode, p.baseOffset, p.logAppendTime, p.logStartOffset ?? "-1"])]),
    res.topics.map((t) => [t.name, t.partitions.map((p) =>
      [p.index, p.errorCode, String(p.baseOffset), String(p.logAppendTimeMs), v >= 5 ? String(p.logStartOffset) : "-1"])]), `v${v}`);
  }
});

test("Produce v3-v7: KafkaJS-shaped response bytes decode with our decoder (KafkaJS has no response encoder, so bytes are built field by field)", () => {
  for (let v = 3; v <= 7; v++) {
    // [responses: 1 topic "t" [1 partition: index 4, error 0, base 99, append -1, (start 5)]] throttle 0
    const parts = ["00000001", "0001", "74", "00000001", "00000004", "0000", "0000000000000063", "ffffffffffffffff",
      v >= 5 ? "0000000000000005" : "", "00000000"];
    const frame = Buffer.from("0000002a" + parts.join(""), "hex");
    const d = decodeResponseFrame(Produce, v, frame);
    assert.equal(d.topics[0].partitions[0], { index: 4, errorCode: 0, baseOffset: 99, logAppendTimeMs: -1,
      logStartOffset: v >= 5 ? 5 : -1, recordErrors: [], errorMessage: null });
  }
});

test("InitProducerId v0-v1 requests are byte-identical to KafkaJS's and responses decode to the same id/epoch", async () => {
  for (let v = 0; v <= 1; v++) {
    for (const transactionalId of [null, "txn-ü"]) {
      const ours = encodeRequestFrame(InitProducerId, v, 42, "kafkasm-test", { transactionalId, transactionTimeoutMs: 60000 });
      const theirs = kjs(`requests/initProducerId/v${v}/request`)({ transactionalId, transactionTimeout: 60000 });
      assert.is(hex(ours), await kafkajsFrame(theirs), `v${v}`);
    }
    const res = { throttleTimeMs: 0, errorCode: 0, producerId: 8589934593, producerEpoch: 12 };
    const d = await kjs(`requests/initProducerId/v${v}/response`).decode(body(encodeResponseFrame(InitProducerIdServer, v, 1, res)));
    assert.equal([d.producerId, d.producerEpoch, d.errorCode], ["8589934593", 12, 0]);
  }
});

test("ListOffsets v1-v3 request frames are byte-identical to KafkaJS's and responses decode to the same offsets", async () => {
  const topics = [{ topic: "events", partitions: [{ partition: 0, timestamp: -1 }, { partition: 3, timestamp: 1700000000000 }] }];
  for (let v = 1; v <= 3; v++) {
    const ours = encodeRequestFrame(ListOffsets, v, 42, "kafkasm-test", {
      replicaId: -1, isolationLevel: 1, topics: topics.map((t) => ({ name: t.topic, partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, timestamp: p.timestamp })) })),
    });
    assert.is(hex(ours), await kafkajsFrame(kjs(`requests/listOffsets/v${v}/request`)({ replicaId: -1, isolationLevel: 1, topics })), `v${v}`);
    const res = sample("ListOffsets").responses[0];
    const d = await kjs(`requests/listOffsets/v${v}/response`).decode(body(encodeResponseFrame(ListOffsetsServer, v, 1, res)));
    assert.equal(d.responses.map((t: any) => [t.topic, t.partitions.map((p: any) => [p.partition, p.errorCode, p.timestamp, p.offset])]),
      res.topics.map((t: any) => [t.name, t.partitions.map((p: any) => [p.partitionIndex, p.errorCode, String(p.timestamp), String(p.offset)])]));
  }
});

test("Fetch v4-v11 request frames are byte-identical to KafkaJS's", async () => {
  for (let v = 4; v <= 11; v++) {
    const theirs = kjs(`requests/fetch/v${v}/request`)({
      replicaId: -1, maxWaitTime: 500, minBytes: 1, maxBytes: 10485760, isolationLevel: 1, sessionId: 3, sessionEpoch: 4, rackId: "rack-ü",
      topics: [{ topic: "events", partitions: [{ partition: 2, currentLeaderEpoch: 5, fetchOffset: "1234567890123", logStartOffset: -1, maxBytes: 1048576 }] }],
      forgottenTopics: [{ topic: "gone", partitions: [7, 8] }],
    });
    const ours = encodeRequestFrame(Fetch, v, 42, "kafkasm-test", {
      replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 10485760, isolationLevel: 1, sessionId: 3, sessionEpoch: 4, rackId: "rack-ü",
      topics: [{ topic: "events", partitions: [{ partition: 2, currentLeaderEpoch: 5, fetchOffset: 1234567890123, logStartOffset: -1, partitionMaxBytes: 1048576 }] }],
      forgottenTopicsData: [{ topic: "gone", partitions: [7, 8] }],
    });
    assert.is(hex(ours), await kafkajsFrame(theirs), `v${v}`);
  }
});

test("Fetch v4-v11 responses we encode decode in KafkaJS to the same offsets, aborted transactions and records", async () => {
  const records = encodeTestBatch({ baseOffset: 40, records: [{ key: "k", value: "first" }, { value: "second", timestampDelta: 3 }] });
  const res: FetchResponse = {
    throttleTimeMs: 0, errorCode: 0, sessionId: 9,
    responses: [{ topic: "events", topicId: new Uint8Array(16), partitions: [
      { partitionIndex: 2, errorCode: 0, highWatermark: 42, lastStableOffset: 41, logStartOffset: 3,
        abortedTransactions: [{ producerId: 5, firstOffset: 10 }], preferredReadReplica: 1, records },
    ] }],
  };
  for (let v = 4; v <= 11; v++) {
    const d = await kjs(`requests/fetch/v${v}/response`).decode(body(encodeResponseFrame(FetchServer, v, 1, res)));
    if (v >= 7) assert.is(d.sessionId, 9);
    const p = d.responses[0].partitions[0];
    assert.is(d.responses[0].topicName, "events");
    assert.equal([p.partition, p.errorCode, p.highWatermark, p.lastStableOffset], [2, 0, "42", "41"]);
    if (v >= 5) assert.is(p.lastStartOffset, "3");
    if (v >= 11) assert.is(p.preferredReadReplica, 1);
    assert.equal(p.abortedTransactions, [{ producerId: "5", firstOffset: "10" }]);
    assert.equal(p.messages.map((m: any) => [m.offset, m.key?.toString() ?? null, m.value.toString()]), [["40", "k", "first"], ["41", null, "second"]]);
  }
});

test.run();
