/**
 * Metadata (key 3): brokers, and per topic its partitions' leaders.
 *
 * | version | change |
 * |---|---|
 * | v0 | request topics []string (empty = all topics); response brokers, topics/partitions |
 * | v1 | request topics nullable (null = all, empty = none); + broker rack, controller_id, topic is_internal |
 * | v2 | + cluster_id |
 * | v3 | + throttle_time_ms (first response field) |
 * | v4 | request + allow_auto_topic_creation (Kafka 4.x's minimum) |
 * | v5 | + partition offline_replicas |
 * | v6 | same as v5 |
 * | v7 | + partition leader_epoch |
 * | v8 | request + include_cluster/topic_authorized_operations; response + topic/cluster_authorized_operations |
 * | v9 | flexible (compact types, tagged fields) |
 * | v10 | + topic_id (UUID) in request topics and response topics; request topic name nullable |
 * | v11 | cluster authorized operations removed from request and response (KIP-700) |
 * | v12 | response topic name nullable |
 */
import { type Api, type ServerApi } from "./api.ts";
import * as ApiKey from "./api-keys.ts";
import { type Reader, type Uuid, type Writer, ZERO_UUID } from "./wire.ts";

export interface MetadataRequest {
  /** Topic names; null = all topics. */
  topics: readonly string[] | null;
  /** v4+ (default true). */
  allowAutoTopicCreation?: boolean;
  /** v8-v10. */
  includeClusterAuthorizedOperations?: boolean;
  /** v8+. */
  includeTopicAuthorizedOperations?: boolean;
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  /** v7+; -1 when absent. */
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
}

export interface MetadataTopic {
  errorCode: number;
  /** Null only in v12+ when the topic was requested by id. */
  name: string | null;
  /** v10+; all zeros when absent. */
  topicId: Uuid;
  isInternal: boolean;
  partitions: MetadataPartition[];
  topicAuthorizedOperations: number;
}

export interface MetadataResponse {
  throttleTimeMs: number;
  brokers: MetadataBroker[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
  clusterAuthorizedOperations: number;
}

const NO_OPS = -2147483648;

export const Metadata: Api<MetadataRequest, MetadataResponse> = {
  name: "Metadata",
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  firstFlexibleVersion: 9,

  encodeRequest(w: Writer, v: number, req: MetadataRequest): void {
    const flex = v >= 9;
    const topics = req.topics === null && v === 0 ? [] : req.topics;
    w.array(flex, topics, (w, name) => {
      if (v >= 10) w.uuid(ZERO_UUID);
      w.str(flex, name).tags(flex);
    });
    if (v >= 4) w.bool(req.allowAutoTopicCreation ?? true);
    if (v >= 8 && v <= 10) w.bool(req.includeClusterAuthorizedOperations ?? false);
    if (v >= 8) w.bool(req.includeTopicAuthorizedOperations ?? false);
    w.tags(flex);
  },

  decodeResponse(r: Reader, v: number): MetadataResponse {
    const flex = v >= 9;
    const throttleTimeMs = v >= 3 ? r.int32("throttle_time_ms") : 0;
    const brokers = r.array(flex, (r) => {
      const b: MetadataBroker = {
        nodeId: r.int32("broker node_id"),
        host: r.str(flex, "broker host"),
        port: r.int32("broker port"),
        rack: v >= 1 ? r.nullableStr(flex, "broker rack") : null,
      };
      r.tags(flex);
      return b;
    }, "brokers", 10);
    const clusterId = v >= 2 ? r.nullableStr(flex, "cluster_id") : null;
    const controllerId = v >= 1 ? r.int32("controller_id") : -1;
    const topics = r.array(flex, (r) => {
      const errorCode = r.int16("topic error_code");
      const name = v >= 12 ? r.nullableStr(flex, "topic name") : r.str(flex, "topic name");
      const topicId = v >= 10 ? r.uuid("topic_id") : ZERO_UUID;
      const isInternal = v >= 1 ? r.bool("is_internal") : false;
      const partitions = r.array(flex, (r) => {
        const p: MetadataPartition = {
          errorCode: r.int16("partition error_code"),
          partitionIndex: r.int32("partition_index"),
          leaderId: r.int32("leader_id"),
          leaderEpoch: v >= 7 ? r.int32("leader_epoch") : -1,
          replicaNodes: r.int32Array(flex, "replica_nodes"),
          isrNodes: r.int32Array(flex, "isr_nodes"),
          offlineReplicas: v >= 5 ? r.int32Array(flex, "offline_replicas") : [],
        };
        r.tags(flex);
        return p;
      }, "partitions", 10);
      const topicAuthorizedOperations = v >= 8 ? r.int32("topic_authorized_operations") : NO_OPS;
      r.tags(flex);
      return { errorCode, name, topicId, isInternal, partitions, topicAuthorizedOperations };
    }, "topics", 4);
    const clusterAuthorizedOperations = v >= 8 && v <= 10 ? r.int32("cluster_authorized_operations") : NO_OPS;
    r.tags(flex);
    return { throttleTimeMs, brokers, clusterId, controllerId, topics, clusterAuthorizedOperations };
  },
};

/** Metadata with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const MetadataServer: ServerApi<MetadataRequest, MetadataResponse> = /* @__PURE__ */ (() => ({
  ...Metadata,
  decodeRequest(r: Reader, v: number): MetadataRequest {
    const flex = v >= 9;
    let topics = r.nullableArray(flex, (r) => {
      if (v >= 10) r.uuid("topic_id");
      const name = r.nullableStr(flex, "topic name") ?? "";
      r.tags(flex);
      return name;
    }, "topics");
    if (v === 0 && topics !== null && topics.length === 0) topics = null;
    const req: MetadataRequest = { topics };
    if (v >= 4) req.allowAutoTopicCreation = r.bool("allow_auto_topic_creation");
    if (v >= 8 && v <= 10) req.includeClusterAuthorizedOperations = r.bool("include_cluster_authorized_operations");
    if (v >= 8) req.includeTopicAuthorizedOperations = r.bool("include_topic_authorized_operations");
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: MetadataResponse): void {
    const flex = v >= 9;
    if (v >= 3) w.int32(res.throttleTimeMs);
    w.array(flex, res.brokers, (w, b) => {
      w.int32(b.nodeId).str(flex, b.host).int32(b.port);
      if (v >= 1) w.str(flex, b.rack);
      w.tags(flex);
    });
    if (v >= 2) w.str(flex, res.clusterId);
    if (v >= 1) w.int32(res.controllerId);
    w.array(flex, res.topics, (w, t) => {
      w.int16(t.errorCode).str(flex, t.name);
      if (v >= 10) w.uuid(t.topicId);
      if (v >= 1) w.bool(t.isInternal);
      w.array(flex, t.partitions, (w, p) => {
        w.int16(p.errorCode).int32(p.partitionIndex).int32(p.leaderId);
        if (v >= 7) w.int32(p.leaderEpoch);
        w.array(flex, p.replicaNodes, (w, n) => w.int32(n));
        w.array(flex, p.isrNodes, (w, n) => w.int32(n));
        if (v >= 5) w.array(flex, p.offlineReplicas, (w, n) => w.int32(n));
        w.tags(flex);
      });
      if (v >= 8) w.int32(t.topicAuthorizedOperations);
      w.tags(flex);
    });
    if (v >= 8 && v <= 10) w.int32(res.clusterAuthorizedOperations);
    w.tags(flex);
  },
}))();
