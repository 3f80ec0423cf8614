/**
 * An in-process fake Kafka cluster (kfake-style) over the in-memory transport, for fast deterministic
 * client tests. N brokers, topics with partition leaders, one default handler per API that behaves like
 * a real broker where it matters to a producer:
 *
 * - ApiVersions with configurable ranges (and the KIP-511 v0 fallback for too-new requests);
 * - Metadata (all topics or the requested ones, UNKNOWN_TOPIC_OR_PARTITION, optional auto-create);
 * - InitProducerId (sequential ids; v3+ epoch bump, KIP-360);
 * - Produce: decodes every RecordBatch with decodeRecordBatches (CRC checked), NOT_LEADER_OR_FOLLOWER
 *   on the wrong broker (with current_leader/node_endpoints in v10+), idempotent sequence checks like
 *   Kafka's ProducerStateManager (duplicates of the last 5 batches answer the original offset,
 *   gaps OUT_OF_ORDER_SEQUENCE_NUMBER, stale epochs INVALID_PRODUCER_EPOCH), acks=0 sends nothing;
 * - ListOffsets and Fetch over the stored log;
 * - FindCoordinator / AddPartitionsToTxn / EndTxn bookkeeping for transactional ids (no control
 *   batches are written: records of aborted transactions stay readable).
 *
 * Faults are injected per API (and optionally per broker): error codes, delays, dropped responses
 * (after the request was processed), connection closes, malformed response bytes, custom answers.
 * Every request is logged in `cluster.requests`.
 *
 * @example
 * const cluster = new FakeCluster({ brokers: 3, topics: [{ name: "events", partitions: 6 }] });
 * const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport });
 * cluster.pushErrors(ApiKey.Produce, [ERR.NOT_LEADER_OR_FOLLOWER], 1);       // next Produce to broker 1
 * cluster.inject({ apiKey: ApiKey.Produce, action: { dropResponse: true } }); // appended, never answered
 * cluster.setLeader("events", 0, 2);
 * await producer.send({ topic: "events", value: "x" });
 * cluster.values("events", 0);                                               // what the log holds
 * // Over TCP instead: const front = await listenTcp(cluster) (test/fake/tcp.ts); brokers: front.bootstrap
 */
import { ApiKey, type ServerApi, type VersionRange } from "../../src/protocol/api.ts";
import { ApiVersionsServer, type ApiVersionsResponse } from "../../src/protocol/api-versions.ts";
import { encodeResponseFrame, FrameAccumulator, readRequestHeader, type RequestHeader } from "../../src/protocol/frame.ts";
import { InitProducerIdServer, type InitProducerIdRequest, type InitProducerIdResponse } from "../../src/protocol/init-producer-id.ts";
import { MetadataServer, type MetadataRequest, type MetadataResponse } from "../../src/protocol/metadata.ts";
import { ProduceServer, type ProducePartitionResponse, type ProduceRequest, type ProduceResponse } from "../../src/protocol/produce.ts";
import { ListOffsetsServer, type ListOffsetsRequest, type ListOffsetsResponse } from "../../src/protocol/list-offsets.ts";
import { FetchServer, type FetchRequest, type FetchResponse, type FetchPartitionResponse } from "../../src/protocol/fetch.ts";
import { FindCoordinatorServer, type FindCoordinatorRequest, type FindCoordinatorResponse } from "../../src/protocol/find-coordinator.ts";
import { AddPartitionsToTxnServer, type AddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from "../../src/protocol/add-partitions-to-txn.ts";
import { EndTxnServer, type EndTxnRequest, type EndTxnResponse } from "../../src/protocol/end-txn.ts";
import { decodeRecordBatches, decodeRecordBatchesAsync, type RecordBatch, type Record as KRecord } from "../../src/protocol/record-batch.ts";
import { MemoryNetwork, type MemoryEndpoint } from "../../src/transport/memory.ts";
import { SaslHandshakeServer } from "../../src/protocol/sasl-handshake.ts";
import { SaslAuthenticateServer } from "../../src/protocol/sasl-authenticate.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { JoinGroupServer } from "../../src/protocol/join-group.ts";
import { SyncGroupServer } from "../../src/protocol/sync-group.ts";
import { HeartbeatServer } from "../../src/protocol/heartbeat.ts";
import { LeaveGroupServer } from "../../src/protocol/leave-group.ts";
import { OffsetCommitServer } from "../../src/protocol/offset-commit.ts";
import { OffsetFetchServer } from "../../src/protocol/offset-fetch.ts";
import { FakeGroupCoordinator } from "./group.ts";

export const ERR = {
  NONE: 0, CORRUPT_MESSAGE: 2, UNKNOWN_TOPIC_OR_PARTITION: 3, NOT_LEADER_OR_FOLLOWER: 6, REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10, NOT_ENOUGH_REPLICAS: 19, INVALID_REQUIRED_ACKS: 21, UNSUPPORTED_VERSION: 35,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45, DUPLICATE_SEQUENCE_NUMBER: 46, INVALID_PRODUCER_EPOCH: 47, UNKNOWN_PRODUCER_ID: 59,
  OFFSET_OUT_OF_RANGE: 1, PRODUCER_FENCED: 90,
} as const;

/** The APIs the fake serves, by key. */
const apis = new Map<number, ServerApi<any, any>>([
  [ApiKey.ApiVersions, ApiVersionsServer], [ApiKey.Metadata, MetadataServer], [ApiKey.Produce, ProduceServer], [ApiKey.InitProducerId, InitProducerIdServer],
  [ApiKey.ListOffsets, ListOffsetsServer], [ApiKey.Fetch, FetchServer],
  [ApiKey.FindCoordinator, FindCoordinatorServer], [ApiKey.AddPartitionsToTxn, AddPartitionsToTxnServer], [ApiKey.EndTxn, EndTxnServer],
  // No default handler: a test that speaks SASL installs its own (cluster.handle).
  [ApiKey.SaslHandshake, SaslHandshakeServer], [ApiKey.SaslAuthenticate, SaslAuthenticateServer],
  // Consumer groups: test/fake/group.ts.
  [ApiKey.JoinGroup, JoinGroupServer], [ApiKey.SyncGroup, SyncGroupServer], [ApiKey.Heartbeat, HeartbeatServer],
  [ApiKey.LeaveGroup, LeaveGroupServer], [ApiKey.OffsetCommit, OffsetCommitServer], [ApiKey.OffsetFetch, OffsetFetchServer],
]);

/** One batch in a partition log: the bytes as a Fetch would return them, and the decoded batch. */
export interface StoredBatch {
  baseOffset: number;
  /** The producer's bytes with baseOffset and partitionLeaderEpoch set by the broker (both outside the CRC). */
  bytes: Uint8Array;
  batch: RecordBatch;
  /** Broker time of the append. */
  appendTimeMs: number;
}

interface ProducerEntry {
  epoch: number;
  lastSeq: number;
  /** The last 5 batches: Kafka's duplicate window. */
  recent: { firstSeq: number; lastSeq: number; baseOffset: number }[];
}

export interface FakePartition {
  readonly topic: string;
  readonly index: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  log: StoredBatch[];
  logStartOffset: number;
  /** Next offset to assign (= high watermark: acks are instant here). */
  logEndOffset: number;
  producers: Map<number, ProducerEntry>;
}

export interface FakeBroker {
  readonly nodeId: number;
  /** The in-memory listener address. */
  readonly host: string;
  readonly port: number;
  /** What Metadata and Produce node_endpoints advertise (the TCP address after `listenTcp`). */
  advertisedHost: string;
  advertisedPort: number;
  up: boolean;
}

/** What a handler sees. */
export interface RequestContext {
  readonly cluster: FakeCluster;
  readonly broker: FakeBroker;
  readonly header: RequestHeader;
  readonly request: any;
}

/** A logged request. */
export interface LoggedRequest {
  brokerId: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  request: any;
}

/** An injected fault, consumed by the next matching request(s). */
export type FaultAction =
  /**
   * Answer with this error code (per partition for Produce/ListOffsets/Fetch, per topic for Metadata);
   * the request is not applied. For Produce, `partitions` limits the error to those partitions
   * ("topic/index"); the others are appended and answered normally.
   */
  | { error: number; partitions?: string[] }
  /** Process normally, respond after `delayMs` (later requests on the connection wait, as on a real broker). */
  | { delayMs: number }
  /** Process the request (e.g. append the batch) but never send the response. */
  | { dropResponse: true }
  /** Close the connection; "before" = the request is not processed, "after" = processed, no response. */
  | { closeConnection: "before" | "after" }
  /** Process normally, then replace the encoded response frame (size prefix included) with `mutate(frame)`. */
  | { malformed: (frame: Uint8Array) => Uint8Array }
  /** Answer with this response object instead of the default handler's. */
  | { respond: (ctx: RequestContext) => unknown };

export interface Fault {
  apiKey: number;
  /** Only requests to this broker (default: any). */
  brokerId?: number;
  /** How many matching requests this applies to (default 1; Infinity for all). */
  count?: number;
  action: FaultAction;
}

export type Handler = (ctx: RequestContext) => unknown | Promise<unknown>;

export interface FakeClusterOptions {
  /** Number of brokers, node ids 1..N (default 1). */
  brokers?: number;
  /** Topics to create; leaders default to round-robin over the brokers. */
  topics?: { name: string; partitions: number; leaders?: number[] }[];
  /** Share a network (e.g. with other fakes); default a new one. */
  network?: MemoryNetwork;
  host?: string;
  /** Port of broker 1; broker n listens on basePort + n - 1 (default 9092). */
  basePort?: number;
  /** Version ranges advertised in ApiVersions, by api key; default: the full ranges kafkasm implements. */
  apiVersions?: Partial<Record<number, VersionRange | null>>;
  /** Create unknown topics on Metadata requests that allow it (default false). */
  autoCreateTopics?: boolean;
  /** Partitions for auto-created topics (default 1). */
  defaultPartitions?: number;
  /** Largest RecordBatch accepted (message.max.bytes, default 1048588). */
  maxMessageBytes?: number;
  /** How duplicates inside the 5-batch window are answered: like Kafka ≥ 0.11 ("original offset", default) or with DUPLICATE_SEQUENCE_NUMBER. */
  duplicateAnswer?: "originalOffset" | "error";
  /** Timer for delays (default globalThis.setTimeout), so tests with a fake clock can drive it. */
  setTimeout?: (fn: () => void, ms: number) => unknown;
  /** Broker clock for append times (default Date.now). */
  now?: () => number;
}

/** The fake cluster. */
export class FakeCluster {
  readonly network: MemoryNetwork;
  readonly transport: Transport;
  readonly brokers: FakeBroker[] = [];
  readonly topics = new Map<string, FakePartition[]>();
  /** Every request received, in order. */
  readonly requests: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  readonly clusterId = "fake-cluster";
  options: Required<Omit<FakeClusterOptions, "topics" | "network" | "apiVersions" | "brokers">>;
  private readonly handlers = new Map<number, Handler>();
  private readonly stopListening = new Map<number, () => void>();
  private readonly connections = new Map<number, Set<MemoryEndpoint>>();
  private readonly versionRanges = new Map<number, VersionRange>();
  private nextProducerId = 1000;
  private readonly producerEpochs = new Map<number, number>();
  /** Transactional id → its producer id, and the partitions of its open transaction ("topic/partition"). */
  readonly transactions = new Map<string, { producerId: number; partitions: Set<string>; ended: ("commit" | "abort")[] }>();
  /** Node id of the transaction coordinator (default: broker 1). */
  coordinatorId = 1;
  private closeAfterCounts = new Map<number, number>();

  constructor(options: FakeClusterOptions = {}) {
    this.network = options.network ?? new MemoryNetwork();
    this.transport = this.network.transport;
    this.options = {
      host: options.host ?? "127.0.0.1",
      basePort: options.basePort ?? 9092,
      autoCreateTopics: options.autoCreateTopics ?? false,
      defaultPartitions: options.defaultPartitions ?? 1,
      maxMessageBytes: options.maxMessageBytes ?? 1048588,
      duplicateAnswer: options.duplicateAnswer ?? "originalOffset",
      setTimeout: options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      now: options.now ?? Date.now,
    };
    for (const [key, api] of apis) this.versionRanges.set(key, { minVersion: api.minVersion, maxVersion: api.maxVersion });
    for (const [k, r] of Object.entries(options.apiVersions ?? {})) {
      if (r === null || r === undefined) this.versionRanges.delete(Number(k));
      else this.versionRanges.set(Number(k), r);
    }
    const n = options.brokers ?? 1;
    for (let id = 1; id <= n; id++) {
      const port = this.options.basePort + id - 1;
      const b: FakeBroker = { nodeId: id, host: this.options.host, port, advertisedHost: this.options.host, advertisedPort: port, up: false };
      this.brokers.push(b);
      this.brokerUp(id);
    }
    for (const t of options.topics ?? []) this.createTopic(t.name, t.partitions, t.leaders);
    this.handlers.set(ApiKey.ApiVersions, (ctx) => this.handleApiVersions(ctx));
    this.handlers.set(ApiKey.Metadata, (ctx) => this.handleMetadata(ctx));
    this.handlers.set(ApiKey.InitProducerId, (ctx) => this.handleInitProducerId(ctx));
    this.handlers.set(ApiKey.Produce, (ctx) => this.handleProduce(ctx));
    this.handlers.set(ApiKey.ListOffsets, (ctx) => this.handleListOffsets(ctx));
    this.handlers.set(ApiKey.Fetch, (ctx) => this.handleFetch(ctx));
    this.handlers.set(ApiKey.FindCoordinator, (ctx) => this.handleFindCoordinator(ctx));
    this.handlers.set(ApiKey.AddPartitionsToTxn, (ctx) => this.handleAddPartitionsToTxn(ctx));
    this.handlers.set(ApiKey.EndTxn, (ctx) => this.handleEndTxn(ctx));
    this.groups = new FakeGroupCoordinator(this);
  }

  /** The group coordinator (consumer groups). */
  readonly groups: FakeGroupCoordinator;

  /** "host:port" of every broker as advertised (in-memory, or TCP after `listenTcp`), for `brokers` options. */
  get bootstrap(): string[] {
    return this.brokers.map((b) => `${b.advertisedHost}:${b.advertisedPort}`);
  }

  broker(id: number): FakeBroker {
    const b = this.brokers.find((x) => x.nodeId === id);
    if (!b) throw new Error(`No broker ${id}`);
    return b;
  }

  // ---- topology ----

  createTopic(name: string, partitions: number, leaders?: number[]): void {
    if (this.topics.has(name)) throw new Error(`Topic ${name} exists`);
    const ps: FakePartition[] = [];
    for (let i = 0; i < partitions; i++) {
      const leader = leaders?.[i] ?? this.brokers[i % this.brokers.length].nodeId;
      ps.push({ topic: name, index: i, leader, leaderEpoch: 0, replicas: [leader], log: [], logStartOffset: 0, logEndOffset: 0, producers: new Map() });
    }
    this.topics.set(name, ps);
  }

  partition(topic: string, index: number): FakePartition {
    const p = this.topics.get(topic)?.[index];
    if (!p) throw new Error(`No partition ${topic}/${index}`);
    return p;
  }

  /**
   * Moves leadership (bumps the leader epoch); -1 leaves the partition leaderless (Metadata then says
   * LEADER_NOT_AVAILABLE, Produce NOT_LEADER_OR_FOLLOWER). Producer state moves with the log, as in Kafka.
   */
  setLeader(topic: string, index: number, nodeId: number): void {
    const p = this.partition(topic, index);
    p.leader = nodeId;
    p.leaderEpoch++;
    if (nodeId >= 0 && !p.replicas.includes(nodeId)) p.replicas.push(nodeId);
  }

  /** Stops a broker: closes its connections and refuses new ones. */
  brokerDown(id: number): void {
    const b = this.broker(id);
    b.up = false;
    this.stopListening.get(id)?.();
    this.stopListening.delete(id);
    for (const c of this.connections.get(id) ?? []) c.close(new Error(`Broker ${id} went down`));
    this.connections.delete(id);
  }

  brokerUp(id: number): void {
    const b = this.broker(id);
    if (b.up) return;
    b.up = true;
    this.stopListening.set(id, this.network.listen(b.host, b.port, (accept) => this.accept(b, accept.socket, accept.setHandlers)));
  }

  /** Closes every open connection to broker `id` (it stays up). */
  dropConnections(id: number): void {
    for (const c of this.connections.get(id) ?? []) c.close(new Error(`Broker ${id} dropped the connection`));
    this.connections.get(id)?.clear();
  }

  /** Closes the next connection to broker `id` after it has received `n` more requests (the n-th is not processed). */
  closeAfter(id: number, n: number): void {
    this.closeAfterCounts.set(id, n);
  }

  /** Stops every broker. */
  close(): void {
    this.groups.close();
    for (const b of this.brokers) if (b.up) this.brokerDown(b.nodeId);
  }

  // ---- injection ----

  /** Replaces the default handler of an API (return the response object). */
  handle(apiKey: number, handler: Handler): void {
    this.handlers.set(apiKey, handler);
  }

  /** The default handler of an API, for overrides that delegate. */
  defaultHandler(apiKey: number): Handler | undefined {
    return this.handlers.get(apiKey);
  }

  inject(fault: Fault): void {
    this.faults.push({ count: 1, ...fault });
  }

  /** The next requests of `apiKey` get these error codes, one per request (0 = answer normally). */
  pushErrors(apiKey: number, errorCodes: number[], brokerId?: number): void {
    for (const code of errorCodes) this.inject({ apiKey, brokerId, action: code === 0 ? { delayMs: 0 } : { error: code } });
  }

  /** Sets the ApiVersions range of one API (null: not advertised). */
  setApiVersions(apiKey: number, range: VersionRange | null): void {
    if (range) this.versionRanges.set(apiKey, range);
    else this.versionRanges.delete(apiKey);
  }

  // ---- inspection ----

  /** All records of a partition, in offset order. */
  records(topic: string, index: number): KRecord[] {
    return this.partition(topic, index).log.flatMap((b) => b.batch.records);
  }

  /** Record values of a partition decoded as UTF-8 strings. */
  values(topic: string, index: number): (string | null)[] {
    const d = new TextDecoder();
    return this.records(topic, index).map((r) => (r.value === null ? null : d.decode(r.value)));
  }

  requestsOf(apiKey: number): LoggedRequest[] {
    return this.requests.filter((r) => r.apiKey === apiKey);
  }

  // ---- connection handling ----

  private accept(broker: FakeBroker, socket: MemoryEndpoint, setHandlers: (h: { onData(c: Uint8Array): void; onClose(e?: Error): void }) => void): void {
    let set = this.connections.get(broker.nodeId);
    if (!set) this.connections.set(broker.nodeId, (set = new Set()));
    set.add(socket);
    const acc = new FrameAccumulator();
    let chain = Promise.resolve();
    setHandlers({
      onData: (chunk) => {
        try {
          acc.push(chunk, (frame) => {
            const copy = frame.slice();
            chain = chain.then(() => this.serve(broker, socket, copy)).catch((e) => {
              socket.close(e instanceof Error ? e : new Error(String(e)));
            });
          });
        } catch (e) {
          socket.close(e as Error);
        }
      },
      onClose: () => {
        set!.delete(socket);
      },
    });
  }

  private takeFault(apiKey: number, brokerId: number): Fault | undefined {
    const i = this.faults.findIndex((f) => f.apiKey === apiKey && (f.brokerId === undefined || f.brokerId === brokerId));
    if (i < 0) return undefined;
    const f = this.faults[i];
    f.count = (f.count ?? 1) - 1;
    if (f.count <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async serve(broker: FakeBroker, socket: MemoryEndpoint, frame: Uint8Array): Promise<void> {
    if (socket.closed) return;
    const { header, reader } = readRequestHeader(frame, (k) => apis.get(k));
    const api = apis.get(header.apiKey);
    const range = this.versionRanges.get(header.apiKey);
    const limit = this.closeAfterCounts.get(broker.nodeId);
    if (limit !== undefined) {
      if (limit <= 1) {
        this.closeAfterCounts.delete(broker.nodeId);
        socket.close(new Error(`Broker ${broker.nodeId} closed the connection (closeAfter)`));
        return;
      }
      this.closeAfterCounts.set(broker.nodeId, limit - 1);
    }
    if (!api) throw new Error(`Fake broker ${broker.nodeId} does not implement api key ${header.apiKey}`);
    // A real broker closes the connection on an unsupported version of anything but ApiVersions.
    if (header.apiKey !== ApiKey.ApiVersions && (!range || header.apiVersion < range.minVersion || header.apiVersion > range.maxVersion)) {
      throw new Error(`Fake broker ${broker.nodeId}: ${api.name} v${header.apiVersion} is not supported`);
    }
    let request: any = {};
    const tooNewApiVersions = header.apiKey === ApiKey.ApiVersions && range !== undefined && header.apiVersion > range.maxVersion;
    if (!tooNewApiVersions) {
      request = api.decodeRequest(reader, header.apiVersion);
      reader.expectEnd(`${api.name} v${header.apiVersion} request`);
    }
    this.requests.push({ brokerId: broker.nodeId, apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId, request });
    const ctx: RequestContext = { cluster: this, broker, header, request };

    const fault = this.takeFault(header.apiKey, broker.nodeId);
    const action = fault?.action;
    if (action && "closeConnection" in action && action.closeConnection === "before") {
      socket.close(new Error(`Broker ${broker.nodeId} closed the connection (injected)`));
      return;
    }
    let response: unknown;
    if (action && "error" in action && action.partitions && header.apiKey === ApiKey.Produce) {
      response = await this.produceWithPartitionErrors(ctx, action.error, new Set(action.partitions));
    } else if (action && "error" in action) response = errorResponse(header.apiKey, request, action.error);
    else if (action && "respond" in action) response = await action.respond(ctx);
    else response = await this.handlers.get(header.apiKey)!(ctx);

    if (action && "closeConnection" in action) {
      socket.close(new Error(`Broker ${broker.nodeId} closed the connection (injected)`));
      return;
    }
    if (action && "dropResponse" in action) return;
    if (header.apiKey === ApiKey.Produce && (request as ProduceRequest).acks === 0) {
      // acks=0 never gets a response; a broker that fails such a request closes the connection instead.
      if (action && "error" in action) socket.close(new Error(`Broker ${broker.nodeId} closed the connection after a failed acks=0 Produce`));
      return;
    }
    if (response === undefined) return;
    // A too-new ApiVersions request is answered with a v0 body (header v0), as Kafka does (KIP-511).
    const version = tooNewApiVersions ? 0 : header.apiVersion;
    let out = encodeResponseFrame(api, version, header.correlationId, response);
    if (tooNewApiVersions) out = encodeResponseFrame(ApiVersionsServer, 0, header.correlationId, response as ApiVersionsResponse);
    if (action && "malformed" in action) out = action.malformed(out);
    if (action && "delayMs" in action && action.delayMs > 0) {
      await new Promise<void>((r) => this.options.setTimeout(r, action.delayMs));
    }
    if (!socket.closed) await socket.write(out).catch(() => {});
  }

  // ---- default handlers ----

  private handleApiVersions(ctx: RequestContext): ApiVersionsResponse {
    const range = this.versionRanges.get(ApiKey.ApiVersions);
    const tooNew = range !== undefined && ctx.header.apiVersion > range.maxVersion;
    return {
      errorCode: tooNew ? ERR.UNSUPPORTED_VERSION : 0,
      apiKeys: [...this.versionRanges].sort((a, b) => a[0] - b[0]).map(([apiKey, r]) => ({ apiKey, ...r })),
      throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false,
    };
  }

  private handleMetadata(ctx: RequestContext): MetadataResponse {
    const req = ctx.request as MetadataRequest;
    const names = req.topics ?? [...this.topics.keys()];
    const topics = names.map((name) => {
      if (!this.topics.has(name) && this.options.autoCreateTopics && (req.allowAutoTopicCreation ?? true)) {
        this.createTopic(name, this.options.defaultPartitions);
      }
      const ps = this.topics.get(name);
      if (!ps) {
        return { errorCode: ERR.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: new Uint8Array(16), isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648 };
      }
      return {
        errorCode: 0, name, topicId: topicIdOf(name), isInternal: false, topicAuthorizedOperations: -2147483648,
        partitions: ps.map((p) => ({
          errorCode: p.leader < 0 ? 5 /* LEADER_NOT_AVAILABLE */ : 0, partitionIndex: p.index, leaderId: p.leader, leaderEpoch: p.leaderEpoch,
          replicaNodes: p.replicas.slice(), isrNodes: p.replicas.slice(), offlineReplicas: [],
        })),
      };
    });
    return {
      throttleTimeMs: 0,
      brokers: this.brokers.filter((b) => b.up).map((b) => ({ nodeId: b.nodeId, host: b.advertisedHost, port: b.advertisedPort, rack: null })),
      clusterId: this.clusterId, controllerId: this.brokers[0].nodeId, topics, clusterAuthorizedOperations: -2147483648,
    };
  }

  private handleInitProducerId(ctx: RequestContext): InitProducerIdResponse {
    const req = ctx.request as InitProducerIdRequest;
    const ok = (producerId: number, producerEpoch: number) => {
      this.producerEpochs.set(producerId, producerEpoch);
      return { throttleTimeMs: 0, errorCode: 0, producerId, producerEpoch };
    };
    if (req.transactionalId !== null && (req.producerId === undefined || req.producerId < 0)) {
      const txn = this.transactions.get(req.transactionalId!);
      if (txn) {
        const epoch = (this.producerEpochs.get(txn.producerId) ?? -1) + 1;
        txn.partitions.clear();
        return ok(txn.producerId, epoch);
      }
      const id = this.nextProducerId++;
      this.transactions.set(req.transactionalId!, { producerId: id, partitions: new Set(), ended: [] });
      return ok(id, 0);
    }
    if (req.producerId !== undefined && req.producerId >= 0) {
      const current = this.producerEpochs.get(req.producerId);
      if (current === undefined || current !== req.producerEpoch) {
        const code = ctx.header.apiVersion >= 4 ? ERR.PRODUCER_FENCED : ERR.INVALID_PRODUCER_EPOCH;
        return { throttleTimeMs: 0, errorCode: code, producerId: -1, producerEpoch: -1 };
      }
      // KIP-360 bump; an exhausted epoch gets a fresh producer id.
      if (current < 32766) return ok(req.producerId, current + 1);
    }
    return ok(this.nextProducerId++, 0);
  }

  private async handleProduce(ctx: RequestContext): Promise<ProduceResponse | undefined> {
    const req = ctx.request as ProduceRequest;
    const v = ctx.header.apiVersion;
    const leaders = new Set<number>();
    const topics = [];
    for (const t of req.topics) {
      const partitions: ProducePartitionResponse[] = [];
      for (const pd of t.partitions) {
        const res = await this.appendPartition(ctx.broker, t.name, pd.index, pd.records as Uint8Array | null, req.acks);
        if (res.currentLeader && v >= 10) {
          if (res.currentLeader.leaderId >= 0) leaders.add(res.currentLeader.leaderId);
        }
        else delete res.currentLeader;
        partitions.push(res);
      }
      topics.push({ name: t.name, partitions });
    }
    if (req.acks === 0) return undefined;
    const res: ProduceResponse = { topics, throttleTimeMs: 0 };
    if (v >= 10 && leaders.size > 0) {
      res.nodeEndpoints = [...leaders].map((id) => this.broker(id)).map((b) => ({ nodeId: b.nodeId, host: b.advertisedHost, port: b.advertisedPort, rack: null }));
    }
    return res;
  }

  private async produceWithPartitionErrors(ctx: RequestContext, code: number, failed: Set<string>): Promise<ProduceResponse | undefined> {
    const req = ctx.request as ProduceRequest;
    const rest = { ...req, topics: req.topics.map((t) => ({ ...t, partitions: t.partitions.filter((p) => !failed.has(`${t.name}/${p.index}`)) })) };
    const ok = (await this.handleProduce({ ...ctx, request: rest })) ?? { topics: [], throttleTimeMs: 0 };
    if (req.acks === 0) return undefined;
    const bad = errorResponse(ApiKey.Produce, req, code) as ProduceResponse;
    return {
      ...ok,
      topics: req.topics.map((t, i) => ({
        name: t.name,
        partitions: t.partitions.map((p, j) => failed.has(`${t.name}/${p.index}`)
          ? bad.topics[i].partitions[j]
          : ok.topics.find((x) => x.name === t.name)!.partitions.find((x) => x.index === p.index)!),
      })),
    };
  }

  private handleListOffsets(ctx: RequestContext): ListOffsetsResponse {
    const req = ctx.request as ListOffsetsRequest;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((q) => {
          const answer = (errorCode: number, offset = -1, timestamp = -1) => ({ partitionIndex: q.partitionIndex, errorCode, timestamp, offset, leaderEpoch: -1 });
          const p = this.topics.get(t.name)?.[q.partitionIndex];
          if (!p) return answer(ERR.UNKNOWN_TOPIC_OR_PARTITION);
          if (p.leader !== ctx.broker.nodeId) return answer(ERR.NOT_LEADER_OR_FOLLOWER);
          const epoch = (r: ReturnType<typeof answer>) => ({ ...r, leaderEpoch: p.leaderEpoch });
          if (q.timestamp === -1) return epoch(answer(0, p.logEndOffset));
          if (q.timestamp === -2 || q.timestamp === -4) return epoch(answer(0, p.logStartOffset));
          const records = p.log.flatMap((b) => b.batch.records);
          if (q.timestamp === -3) {
            let best: KRecord | undefined;
            for (const r of records) if (!best || r.timestamp > best.timestamp) best = r;
            return epoch(best ? answer(0, best.offset, best.timestamp) : answer(0));
          }
          const hit = records.find((r) => r.timestamp >= q.timestamp);
          return epoch(hit ? answer(0, hit.offset, hit.timestamp) : answer(0));
        }),
      })),
    };
  }

  /** Fetch, holding the answer up to max_wait_ms while no partition has data (as a broker's purgatory does). */
  private async handleFetch(ctx: RequestContext): Promise<FetchResponse> {
    const deadline = Date.now() + (ctx.request as FetchRequest).maxWaitMs;
    for (;;) {
      const res = this.fetchNow(ctx);
      const any = res.responses.some((t) => t.partitions.some((p) => p.errorCode !== 0 || (p.records?.length ?? 0) > 0));
      if (any || Date.now() >= deadline || !ctx.broker.up) return res;
      await new Promise<void>((r) => this.options.setTimeout(r, Math.min(10, deadline - Date.now())));
    }
  }

  private fetchNow(ctx: RequestContext): FetchResponse {
    const req = ctx.request as FetchRequest;
    const v = ctx.header.apiVersion;
    const byId = (id: Uint8Array | undefined) => [...this.topics.keys()].find((n) => id && topicIdOf(n).every((b, i) => b === id[i]));
    let budget = req.maxBytes;
    return {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: req.topics.map((t) => {
        const name = v >= 13 ? byId(t.topicId) ?? "" : t.topic;
        return {
          topic: t.topic, topicId: v >= 13 ? t.topicId! : new Uint8Array(16),
          partitions: t.partitions.map((q): FetchPartitionResponse => {
            const p = this.topics.get(name)?.[q.partition];
            const answer = (errorCode: number, records: Uint8Array | null = null): FetchPartitionResponse => ({
              partitionIndex: q.partition, errorCode, highWatermark: p?.logEndOffset ?? -1, lastStableOffset: p?.logEndOffset ?? -1,
              logStartOffset: p?.logStartOffset ?? -1, abortedTransactions: null, preferredReadReplica: -1, records,
            });
            if (!p) return answer(v >= 13 ? 100 /* UNKNOWN_TOPIC_ID */ : ERR.UNKNOWN_TOPIC_OR_PARTITION);
            if (p.leader !== ctx.broker.nodeId) return answer(ERR.NOT_LEADER_OR_FOLLOWER);
            if (q.fetchOffset < p.logStartOffset || q.fetchOffset > p.logEndOffset) return answer(ERR.OFFSET_OUT_OF_RANGE);
            const chunks: Uint8Array[] = [];
            let size = 0;
            for (const b of p.log) {
              if (b.baseOffset + b.batch.lastOffsetDelta < q.fetchOffset) continue;
              // Like Kafka: at least one batch even when over the limits, then stop at the limits.
              if (chunks.length > 0 && (size + b.bytes.length > q.partitionMaxBytes || size + b.bytes.length > budget)) break;
              chunks.push(b.bytes);
              size += b.bytes.length;
            }
            budget -= size;
            const records = new Uint8Array(size);
            let off = 0;
            for (const c of chunks) { records.set(c, off); off += c.length; }
            return answer(0, records);
          }),
        };
      }),
    };
  }

  private handleFindCoordinator(ctx: RequestContext): FindCoordinatorResponse {
    const req = ctx.request as FindCoordinatorRequest;
    const b = this.broker(this.coordinatorId);
    return { throttleTimeMs: 0, coordinators: req.keys.map((key) => ({ key, nodeId: b.nodeId, host: b.advertisedHost, port: b.advertisedPort, errorCode: 0, errorMessage: null })) };
  }

  private handleAddPartitionsToTxn(ctx: RequestContext): AddPartitionsToTxnResponse {
    const req = ctx.request as AddPartitionsToTxnRequest;
    const txn = this.transactions.get(req.transactionalId);
    const fenced = !txn || txn.producerId !== req.producerId || this.producerEpochs.get(req.producerId) !== req.producerEpoch;
    return {
      throttleTimeMs: 0,
      results: req.topics.map((t) => ({
        name: t.name,
        results: t.partitions.map((p) => {
          if (ctx.broker.nodeId !== this.coordinatorId) return { partitionIndex: p, errorCode: 16 /* NOT_COORDINATOR */ };
          if (fenced) return { partitionIndex: p, errorCode: txn ? ERR.INVALID_PRODUCER_EPOCH : 49 /* INVALID_PRODUCER_ID_MAPPING */ };
          if (!this.topics.get(t.name)?.[p]) return { partitionIndex: p, errorCode: ERR.UNKNOWN_TOPIC_OR_PARTITION };
          txn!.partitions.add(`${t.name}/${p}`);
          return { partitionIndex: p, errorCode: 0 };
        }),
      })),
    };
  }

  private handleEndTxn(ctx: RequestContext): EndTxnResponse {
    const req = ctx.request as EndTxnRequest;
    const answer = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 });
    if (ctx.broker.nodeId !== this.coordinatorId) return answer(16);
    const txn = this.transactions.get(req.transactionalId);
    if (!txn || txn.producerId !== req.producerId) return answer(49);
    if (this.producerEpochs.get(req.producerId) !== req.producerEpoch) return answer(ERR.INVALID_PRODUCER_EPOCH);
    txn.ended.push(req.committed ? "commit" : "abort");
    txn.partitions.clear();
    return { ...answer(0), producerId: req.producerId, producerEpoch: req.producerEpoch };
  }

  private async appendPartition(broker: FakeBroker, topic: string, index: number, records: Uint8Array | null, acks: number): Promise<ProducePartitionResponse> {
    const p = this.topics.get(topic)?.[index];
    const answer = (errorCode: number, baseOffset = -1, errorMessage: string | null = null): ProducePartitionResponse =>
      ({ index, errorCode, baseOffset, logAppendTimeMs: -1, logStartOffset: p?.logStartOffset ?? -1, recordErrors: [], errorMessage });
    if (acks !== 0 && acks !== 1 && acks !== -1) return answer(ERR.INVALID_REQUIRED_ACKS);
    if (!p) return answer(ERR.UNKNOWN_TOPIC_OR_PARTITION);
    if (p.leader !== broker.nodeId) {
      return { ...answer(ERR.NOT_LEADER_OR_FOLLOWER), currentLeader: { leaderId: p.leader, leaderEpoch: p.leaderEpoch } };
    }
    if (records === null || records.length === 0) return answer(ERR.CORRUPT_MESSAGE, -1, "No records");
    let batches: RecordBatch[];
    try {
      batches = await decodeBatches(records);
    } catch (e) {
      return answer(ERR.CORRUPT_MESSAGE, -1, (e as Error).message);
    }
    if (batches.length !== 1) return answer(ERR.CORRUPT_MESSAGE, -1, `Produce must carry exactly one batch per partition, got ${batches.length}`);
    const batch = batches[0];
    if (records.length > this.options.maxMessageBytes) return answer(ERR.MESSAGE_TOO_LARGE);
    const count = batch.lastOffsetDelta + 1;
    if (batch.records.length !== count) return answer(ERR.CORRUPT_MESSAGE, -1, "lastOffsetDelta does not match the record count");

    // Idempotence, as Kafka's ProducerStateManager / ProducerAppendInfo.
    let entry: ProducerEntry | undefined;
    if (batch.producerId >= 0) {
      entry = p.producers.get(batch.producerId);
      const firstSeq = batch.baseSequence;
      const lastSeq = (firstSeq + count - 1) % 2147483648;
      if (entry) {
        const dup = entry.recent.find((r) => r.firstSeq === firstSeq && r.lastSeq === lastSeq);
        if (batch.producerEpoch === entry.epoch && dup) {
          return this.options.duplicateAnswer === "error" ? answer(ERR.DUPLICATE_SEQUENCE_NUMBER) : answer(0, dup.baseOffset);
        }
        if (batch.producerEpoch < entry.epoch) return answer(ERR.INVALID_PRODUCER_EPOCH);
        if (batch.producerEpoch > entry.epoch) {
          if (firstSeq !== 0) return answer(ERR.OUT_OF_ORDER_SEQUENCE_NUMBER, -1, `New epoch ${batch.producerEpoch} must start at sequence 0, got ${firstSeq}`);
        } else if (!inSequence(entry.lastSeq, firstSeq)) {
          return answer(ERR.OUT_OF_ORDER_SEQUENCE_NUMBER, -1, `Expected sequence ${(entry.lastSeq + 1) % 2147483648}, got ${firstSeq}`);
        }
      }
      // No state for this producer: like Kafka, any sequence is accepted (state may have expired).
      const next: ProducerEntry = entry && entry.epoch === batch.producerEpoch ? entry : { epoch: batch.producerEpoch, lastSeq: -1, recent: [] };
      next.lastSeq = lastSeq;
      next.recent.push({ firstSeq, lastSeq, baseOffset: p.logEndOffset });
      if (next.recent.length > 5) next.recent.shift();
      p.producers.set(batch.producerId, next);
    }

    const baseOffset = p.logEndOffset;
    const bytes = records.slice();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setBigInt64(0, BigInt(baseOffset));
    view.setInt32(12, p.leaderEpoch);
    for (const r of batch.records) r.offset = baseOffset + r.offsetDelta;
    batch.baseOffset = baseOffset;
    batch.partitionLeaderEpoch = p.leaderEpoch;
    p.log.push({ baseOffset, bytes, batch, appendTimeMs: this.options.now() });
    p.logEndOffset += count;
    return answer(0, baseOffset);
  }
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === 2147483647);
}

async function decodeBatches(bytes: Uint8Array): Promise<RecordBatch[]> {
  // Peek at the first batch's compression bits (attributes at offset 21) to pick sync or async decoding.
  if (bytes.length >= 23 && (bytes[22] & 0x07) !== 0) {
    const { codecForAttribute } = await import("../../src/compression/index.ts");
    return decodeRecordBatchesAsync(bytes, { codecForAttribute });
  }
  return decodeRecordBatches(bytes);
}

/** A stable fake topic id derived from the name. */
export function topicIdOf(name: string): Uint8Array {
  const id = new Uint8Array(16);
  const b = new TextEncoder().encode(name);
  for (let i = 0; i < b.length; i++) id[i % 16] = (id[i % 16] * 31 + b[i]) & 0xff;
  id[0] |= 1;
  return id;
}

/** Builds the error answer of an API for an injected error code. */
export function errorResponse(apiKey: number, request: any, code: number): unknown {
  switch (apiKey) {
    case ApiKey.Produce:
      return {
        throttleTimeMs: 0,
        topics: (request as ProduceRequest).topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ index: p.index, errorCode: code, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null })),
        })),
      } satisfies ProduceResponse;
    case ApiKey.Metadata:
      return {
        throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1, clusterAuthorizedOperations: -2147483648,
        topics: ((request as MetadataRequest).topics ?? []).map((name) => ({
          errorCode: code, name, topicId: new Uint8Array(16), isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648,
        })),
      } satisfies MetadataResponse;
    case ApiKey.InitProducerId:
      return { throttleTimeMs: 0, errorCode: code, producerId: -1, producerEpoch: -1 } satisfies InitProducerIdResponse;
    case ApiKey.ListOffsets:
      return {
        throttleTimeMs: 0,
        topics: (request as ListOffsetsRequest).topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) =>
          ({ partitionIndex: p.partitionIndex, errorCode: code, timestamp: -1, offset: -1, leaderEpoch: -1 })) })),
      } satisfies ListOffsetsResponse;
    case ApiKey.Fetch:
      return {
        throttleTimeMs: 0, errorCode: 0, sessionId: 0,
        responses: (request as FetchRequest).topics.map((t) => ({ topic: t.topic, topicId: t.topicId ?? new Uint8Array(16), partitions: t.partitions.map((p) => ({
          partitionIndex: p.partition, errorCode: code, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
          abortedTransactions: null, preferredReadReplica: -1, records: null })) })),
      } satisfies FetchResponse;
    case ApiKey.FindCoordinator:
      return { throttleTimeMs: 0, coordinators: (request as FindCoordinatorRequest).keys.map((key) => ({ key, nodeId: -1, host: "", port: -1, errorCode: code, errorMessage: null })) } satisfies FindCoordinatorResponse;
    case ApiKey.AddPartitionsToTxn:
      return { throttleTimeMs: 0, results: (request as AddPartitionsToTxnRequest).topics.map((t) => ({ name: t.name, results: t.partitions.map((p) => ({ partitionIndex: p, errorCode: code })) })) } satisfies AddPartitionsToTxnResponse;
    case ApiKey.EndTxn:
      return { throttleTimeMs: 0, errorCode: code, producerId: -1, producerEpoch: -1 } satisfies EndTxnResponse;
    case ApiKey.Heartbeat:
      return { throttleTimeMs: 0, errorCode: code };
    case ApiKey.JoinGroup:
      return { throttleTimeMs: 0, errorCode: code, generationId: -1, protocolType: null, protocolName: null, leader: "", skipAssignment: false, memberId: request.memberId, members: [] };
    case ApiKey.SyncGroup:
      return { throttleTimeMs: 0, errorCode: code, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
    case ApiKey.LeaveGroup:
      return { throttleTimeMs: 0, errorCode: code, members: [] };
    case ApiKey.OffsetCommit:
      return { throttleTimeMs: 0, topics: request.topics.map((t: any) => ({ name: t.name, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })) };
    case ApiKey.OffsetFetch:
      return { throttleTimeMs: 0, groups: request.groups.map((g: any) => ({ groupId: g.groupId, topics: [], errorCode: code })) };
    case ApiKey.ApiVersions:
      return { errorCode: code, apiKeys: [], throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false } satisfies ApiVersionsResponse;
    default:
      throw new Error(`No error response for api key ${apiKey}`);
  }
}
