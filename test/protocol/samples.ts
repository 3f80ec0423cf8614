// Sample requests and responses for every API, rich enough to touch every field of every version.
import type { ServerApi } from "../../src/protocol/api.ts";
import { ApiVersionsServer } from "../../src/protocol/api-versions.ts";
import { MetadataServer } from "../../src/protocol/metadata.ts";
import { ProduceServer } from "../../src/protocol/produce.ts";
import { InitProducerIdServer } from "../../src/protocol/init-producer-id.ts";
import { ListOffsetsServer } from "../../src/protocol/list-offsets.ts";
import { FetchServer } from "../../src/protocol/fetch.ts";
import { FindCoordinatorServer } from "../../src/protocol/find-coordinator.ts";
import { AddPartitionsToTxnServer } from "../../src/protocol/add-partitions-to-txn.ts";
import { EndTxnServer } from "../../src/protocol/end-txn.ts";

const uuid = Uint8Array.from({ length: 16 }, (_, i) => i * 17 + 1);
const records = Uint8Array.from({ length: 70 }, (_, i) => (i * 31) & 0xff);

export interface Sample<Req, Res> {
  api: ServerApi<Req, Res>;
  requests: Req[];
  responses: Res[];
  /** What the newest version cannot carry, removed from a sample (e.g. Fetch v13 names topics by id only). */
  atNewest?: (res: Res) => Res;
}

export const samples: Sample<any, any>[] = [
  {
    api: ApiVersionsServer,
    requests: [{ clientSoftwareName: "kafkasm", clientSoftwareVersion: "0.1.0" }],
    responses: [
      { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 12 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }],
        throttleTimeMs: 5, supportedFeatures: [{ name: "metadata.version", minVersion: 1, maxVersion: 27 }],
        finalizedFeaturesEpoch: 1234, finalizedFeatures: [{ name: "metadata.version", maxVersionLevel: 27, minVersionLevel: 27 }],
        zkMigrationReady: true },
      { errorCode: 0, apiKeys: [], throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false },
    ],
  },
  {
    api: MetadataServer,
    requests: [
      { topics: ["events", "ünïcode-topic"], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true, includeClusterAuthorizedOperations: true },
      { topics: null, allowAutoTopicCreation: true },
    ],
    responses: [{
      throttleTimeMs: 7,
      brokers: [{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: "r1" }, { nodeId: 2, host: "broker-2.local", port: 19092, rack: null }],
      clusterId: "kafkasm-cluster", controllerId: 2,
      topics: [
        { errorCode: 0, name: "events", topicId: uuid, isInternal: false, topicAuthorizedOperations: 248,
          partitions: [
            { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1, 2], isrNodes: [1, 2], offlineReplicas: [] },
            { errorCode: 9, partitionIndex: 1, leaderId: 2, leaderEpoch: 0, replicaNodes: [2, 1], isrNodes: [2], offlineReplicas: [1] },
          ] },
        { errorCode: 3, name: "missing", topicId: new Uint8Array(16), isInternal: true, topicAuthorizedOperations: -2147483648, partitions: [] },
      ],
      clusterAuthorizedOperations: -2147483648, // absent from v11+, so the newest-version check keeps the default
    }],
  },
  {
    api: ProduceServer,
    requests: [
      { transactionalId: null, acks: -1, timeoutMs: 30000, topics: [
        { name: "events", partitions: [{ index: 0, records }, { index: 3, records: records.subarray(0, 10) }] },
        { name: "other", partitions: [{ index: 1, records: null }] },
      ] },
      { transactionalId: "txn-ü", acks: 1, timeoutMs: 1, topics: [] },
    ],
    responses: [{
      topics: [{ name: "events", partitions: [
        { index: 0, errorCode: 0, baseOffset: 1234567890123, logAppendTimeMs: -1, logStartOffset: 0, recordErrors: [], errorMessage: null },
        { index: 3, errorCode: 6, baseOffset: -1, logAppendTimeMs: 1700000000000, logStartOffset: 17,
          recordErrors: [{ batchIndex: 2, batchIndexErrorMessage: "bad" }, { batchIndex: 4, batchIndexErrorMessage: null }],
          errorMessage: "Not leader", currentLeader: { leaderId: 2, leaderEpoch: 9 } },
      ] }],
      throttleTimeMs: 3,
      nodeEndpoints: [{ nodeId: 2, host: "127.0.0.1", port: 9093, rack: null }],
    }],
  },
  {
    api: InitProducerIdServer,
    requests: [
      { transactionalId: null, transactionTimeoutMs: 60000, producerId: 4000, producerEpoch: 3 },
      { transactionalId: "tx", transactionTimeoutMs: -1 },
    ],
    responses: [{ throttleTimeMs: 0, errorCode: 0, producerId: 8589934593, producerEpoch: 32767 }],
  },

  {
    api: ListOffsetsServer,
    requests: [
      { replicaId: -1, isolationLevel: 1, topics: [{ name: "events", partitions: [{ partitionIndex: 0, currentLeaderEpoch: 4, timestamp: -1 }, { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: 1700000000000 }] }] },
      { topics: [] },
    ],
    responses: [{ throttleTimeMs: 2, topics: [{ name: "events", partitions: [
      { partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 4242, leaderEpoch: 4 },
      { partitionIndex: 1, errorCode: 6, timestamp: -1, offset: -1, leaderEpoch: -1 },
    ] }] }],
  },
  {
    api: FetchServer,
    atNewest: (res: any) => ({ ...res, responses: res.responses.map((t: any) => ({ ...t, topic: "" })) }),
    requests: [
      { clusterId: "cluster-x", replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 52428800, isolationLevel: 1, sessionId: 7, sessionEpoch: 2,
        topics: [{ topic: "events", topicId: uuid, partitions: [
          { partition: 0, currentLeaderEpoch: 3, fetchOffset: 123456789012, lastFetchedEpoch: 2, logStartOffset: -1, partitionMaxBytes: 1048576 },
          { partition: 4, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 },
        ] }],
        forgottenTopicsData: [{ topic: "old", topicId: uuid, partitions: [1, 2] }], rackId: "rack-1" },
    ],
    responses: [{
      throttleTimeMs: 1, errorCode: 0, sessionId: 7,
      responses: [{ topic: "events", topicId: uuid, partitions: [
        { partitionIndex: 0, errorCode: 0, highWatermark: 100, lastStableOffset: 90, logStartOffset: 5,
          divergingEpoch: { epoch: 2, endOffset: 50 }, currentLeader: { leaderId: 3, leaderEpoch: 9 }, snapshotId: { endOffset: 10, epoch: 1 },
          abortedTransactions: [{ producerId: 77, firstOffset: 12 }], preferredReadReplica: 2, records },
        { partitionIndex: 4, errorCode: 1, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
          abortedTransactions: null, preferredReadReplica: -1, records: null },
      ] }],
    }],
  },

  {
    api: FindCoordinatorServer,
    requests: [{ keyType: 1, keys: ["txn-ü"] }],
    responses: [{ throttleTimeMs: 3, coordinators: [{ key: "", nodeId: 2, host: "127.0.0.1", port: 9093, errorCode: 0, errorMessage: null }] }],
    atNewest: (res: any) => res,
  },
  {
    api: AddPartitionsToTxnServer,
    requests: [{ transactionalId: "txn", producerId: 4000, producerEpoch: 2, topics: [{ name: "events", partitions: [0, 3] }, { name: "ü", partitions: [] }] }],
    responses: [{ throttleTimeMs: 0, results: [{ name: "events", results: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 3, errorCode: 51 }] }] }],
  },
  {
    api: EndTxnServer,
    requests: [{ transactionalId: "txn", producerId: 8589934593, producerEpoch: 2, committed: true }, { transactionalId: "t", producerId: 1, producerEpoch: 0, committed: false }],
    responses: [{ throttleTimeMs: 5, errorCode: 0, producerId: 8589934593, producerEpoch: 3 }],
  },
];
