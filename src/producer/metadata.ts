/**
 * Brokers and metadata. `Brokers` owns one connection per broker (plus bootstrap addresses), opens it
 * on demand and negotiates API versions with ApiVersions right after connecting (highest version
 * both sides support; a broker that does not know our ApiVersions version answers
 * UNSUPPORTED_VERSION with its own range, and we retry at that version). `MetadataCache` keeps each
 * topic's partitions and leaders, refreshed on demand (stale-metadata errors, unknown topics, lost
 * leaders) and by age (`metadataMaxAgeMs`); refreshes are coalesced and spaced by `retryBackoffMs`.
 */
import { ClientError, type KafkasmError, kafkaErrorFor } from "../errors.ts";
import { ApiVersions, apiVersionsMap } from "../protocol/api-versions.ts";
import type { Api } from "../protocol/api.ts";
import { negotiateVersion } from "../protocol/frame.ts";
import { Metadata, type MetadataTopic } from "../protocol/metadata.ts";
import type { BrokerAddress, Transport } from "../transport/transport.ts";
import { PartitionState, TopicState } from "./accumulator.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import type { ResolvedConfig } from "./config.ts";
import { Connection } from "./connection.ts";

const UNSUPPORTED_VERSION = 35;
/** Pause before reconnecting to a broker that just failed (Kafka's reconnect.backoff.ms). */
const RECONNECT_BACKOFF_MS = 50;

interface Node {
  address: BrokerAddress;
  conn: Connection | null;
  /** Connect + ApiVersions in progress. */
  opening: Promise<Connection> | null;
  /** No new attempt before this time after a failure. */
  retryAt: number;
}

export class Brokers {
  #config: ResolvedConfig;
  #transport: Transport;
  #clock: Clock;
  #addressMap: (a: BrokerAddress) => BrokerAddress;
  #nodes = new Map<number, Node>();
  #bootstrap: Node[];
  #bootstrapNext = 0;
  #closed = false;
  /** Called when a connection becomes ready or is lost, so the sender can act. */
  onChange: () => void = () => {};

  constructor(config: ResolvedConfig, transport: Transport, clock: Clock, addressMap?: (a: BrokerAddress) => BrokerAddress) {
    this.#config = config;
    this.#transport = transport;
    this.#clock = clock;
    this.#addressMap = addressMap ?? ((a) => a);
    this.#bootstrap = config.brokers.map((address) => ({ address, conn: null, opening: null, retryAt: 0 }));
  }

  /** Updates the broker list from a Metadata response. A broker whose address changed is reconnected. */
  setBrokers(list: readonly { nodeId: number; host: string; port: number }[]): void {
    for (const b of list) {
      const address = this.#addressMap({ host: b.host, port: b.port, nodeId: b.nodeId });
      const node = this.#nodes.get(b.nodeId);
      if (node && node.address.host === address.host && node.address.port === address.port) continue;
      node?.conn?.close();
      // Adopt a ready bootstrap connection to the same address instead of opening a second one.
      const boot = this.#bootstrap.find((n) => n.address.host === address.host && n.address.port === address.port && n.conn !== null && !n.conn.isClosed && n.conn.versions !== undefined);
      const conn = boot ? boot.conn : null;
      if (boot) boot.conn = null;
      this.#nodes.set(b.nodeId, { address, conn, opening: null, retryAt: 0 });
    }
  }

  has(nodeId: number): boolean {
    return this.#nodes.has(nodeId);
  }

  /** A ready connection to `nodeId`, or undefined while one is being opened (started here). */
  ready(nodeId: number): Connection | undefined {
    const node = this.#nodes.get(nodeId);
    if (!node) return undefined;
    if (node.conn && !node.conn.isClosed && node.conn.versions) return node.conn;
    if (!node.opening && this.#clock.now() >= node.retryAt) this.#open(node).catch(() => {});
    return undefined;
  }

  /** The earliest time a failed broker may be retried (for the sender's wake-up), or 0. */
  retryAt(nodeId: number): number {
    return this.#nodes.get(nodeId)?.retryAt ?? 0;
  }

  /** A connection to `nodeId` with versions negotiated. */
  connect(nodeId: number): Promise<Connection> {
    const node = this.#nodes.get(nodeId);
    if (!node) return Promise.reject(new ClientError("CONNECTION_ERROR", `Broker ${nodeId} is not in the metadata`, { retriable: true }));
    if (node.conn && !node.conn.isClosed && node.conn.versions) return Promise.resolve(node.conn);
    return this.#open(node);
  }

  /** Any broker: a ready connection if there is one, else known brokers and bootstrap addresses in turn. */
  async any(): Promise<Connection> {
    for (const node of [...this.#nodes.values(), ...this.#bootstrap]) if (node.conn && !node.conn.isClosed && node.conn.versions) return node.conn;
    const candidates = [...this.#nodes.values(), ...this.#bootstrap];
    let lastError: unknown;
    // Start with the next bootstrap address so that a dead first broker is not tried first every time.
    const start = this.#bootstrapNext++;
    for (let i = 0; i < candidates.length; i++) {
      const node = candidates[(start + i) % candidates.length];
      try {
        return await this.#open(node);
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError ?? new ClientError("CONNECTION_ERROR", "No broker to connect to", { retriable: true });
  }

  #open(node: Node): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ClientError("PRODUCER_CLOSED", "The producer is closed"));
    if (node.opening) return node.opening;
    // A bootstrap address is opened again by any() while no metadata names brokers (a coordinator
    // not available yet): reuse its connection, or the one replaced would stay open after close().
    const old = node.conn;
    if (old && !old.isClosed) {
      if (old.versions) return Promise.resolve(old);
      old.close();
    }
    const { clientId, requestTimeoutMs, maxInFlight } = this.#config;
    const conn = new Connection(node.address, this.#transport, { clientId, requestTimeoutMs, maxInFlight, clock: this.#clock }, () => {
      if (node.conn === conn) node.conn = null;
      this.onChange();
    });
    node.conn = conn;
    const opening = (async () => {
      try {
        await conn.connect();
        await handshake(conn);
        return conn;
      } catch (e) {
        conn.close(e as KafkasmError);
        node.retryAt = this.#clock.now() + RECONNECT_BACKOFF_MS;
        throw e;
      } finally {
        node.opening = null;
      }
    })();
    node.opening = opening;
    opening.then(() => this.onChange(), () => this.onChange());
    return opening;
  }

  close(): void {
    this.#closed = true;
    for (const n of [...this.#nodes.values(), ...this.#bootstrap]) n.conn?.close(new ClientError("PRODUCER_CLOSED", "The producer is closed"));
  }
}

/** Negotiates versions: ApiVersions at our highest, or at the version the broker says it supports. */
async function handshake(conn: Connection): Promise<void> {
  let version = ApiVersions.maxVersion;
  for (let attempt = 0; attempt < 3; attempt++) {
    let res;
    try {
      res = await conn.request(ApiVersions, version, { clientSoftwareName: "kafkasm", clientSoftwareVersion: "0.1.0" });
    } catch (e) {
      // Some brokers answer a too-new ApiVersions with a body that fits no version (librdkafka's
      // mock does): fall back to v0, which every broker answers plainly.
      if (version > 0 && e instanceof ClientError && e.code === "PROTOCOL_ERROR" && !conn.isClosed) {
        version = 0;
        continue;
      }
      throw e;
    }
    if (res.errorCode === UNSUPPORTED_VERSION) {
      const theirs = res.apiKeys.find((k) => k.apiKey === ApiVersions.apiKey);
      const next = theirs ? Math.min(ApiVersions.maxVersion, theirs.maxVersion) : 0;
      version = next < version ? next : 0;
      continue;
    }
    if (res.errorCode !== 0) throw kafkaErrorFor(res.errorCode, `ApiVersions to ${conn.address.host}:${conn.address.port}`);
    conn.versions = apiVersionsMap(res);
    return;
  }
  throw new ClientError("UNSUPPORTED_VERSION", `Cannot negotiate ApiVersions with ${conn.address.host}:${conn.address.port}`);
}

/** The version of `api` to use on `conn` (highest common). Throws UNSUPPORTED_VERSION. */
export function versionFor(conn: Connection, api: Api<any, any>): number {
  return negotiateVersion(api, conn.versions?.get(api.apiKey));
}

/** Errors after which the partition's leader is probably stale. */
export function isStaleMetadataError(code: number): boolean {
  // UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, REPLICA_NOT_AVAILABLE,
  // KAFKA_STORAGE_ERROR, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_ID, NOT_CONTROLLER
  return code === 3 || code === 5 || code === 6 || code === 9 || code === 56 || code === 74 || code === 75 || code === 100 || code === 41;
}

/** checks.ts (a chunk of its own), once loaded: Producer#start loads it with the codec. */
let checks: typeof import("./checks.ts") | undefined;
export const loadChecks = async () => checks ?? (checks = await import("./checks.ts"));

export class MetadataCache {
  readonly topics = new Map<string, TopicState>();
  #brokers: Brokers;
  #config: ResolvedConfig;
  #clock: Clock;
  #refreshing = false;
  #again = false;
  #timer: TimerHandle | undefined;
  #timerAt = 0;
  #lastAttempt = -Infinity;
  #lastSuccess = 0;
  #closed = false;
  /** Called after every refresh attempt (successful or not). */
  onUpdate: () => void = () => {};
  /** Called when a refresh attempt fails as a whole (no broker reachable). */
  lastError: KafkasmError | undefined;

  constructor(brokers: Brokers, config: ResolvedConfig, clock: Clock) {
    this.#brokers = brokers;
    this.#config = config;
    this.#clock = clock;
    // The first refresh comes with the first topic; age counts from construction.
    this.#lastSuccess = clock.now();
  }

  /** The topic's state; a new topic triggers a metadata request. */
  topic(name: string): TopicState {
    let t = this.topics.get(name);
    if (!t) {
      t = new TopicState(name);
      this.topics.set(name, t);
      this.request();
    }
    return t;
  }

  /** Refreshes by age: call now and then (the sender does on each drain). */
  checkAge(now: number): void {
    if (now - this.#lastSuccess >= this.#config.metadataMaxAgeMs) this.request();
  }

  /** Asks for a refresh soon: now, or `retryBackoffMs` after the previous attempt; coalesced. */
  request(): void {
    if (this.#closed) return;
    if (this.#refreshing) {
      this.#again = true;
      return;
    }
    const at = this.#lastAttempt + this.#config.retryBackoffMs;
    const now = this.#clock.now();
    if (at <= now) {
      void this.#refresh();
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.request();
    }, at - now);
  }

  /** Forgets a topic (after its waiting records failed), so it is no longer refreshed. */
  forget(name: string): void {
    const t = this.topics.get(name);
    if (t && t.partitions === null) this.topics.delete(name);
  }

  async #refresh(): Promise<void> {
    this.#refreshing = true;
    this.#again = false;
    this.#lastAttempt = this.#clock.now();
    try {
      // Loaded already when a Producer started: then only microtasks pass (manual-clock tests stay deterministic).
      const c = await loadChecks();
      const conn = await this.#brokers.any();
      const version = versionFor(conn, Metadata);
      const names = [...this.topics.keys()];
      const res = await conn.request(Metadata, version, { topics: names, allowAutoTopicCreation: true });
      if (this.#closed) return;
      c.checkBrokers(res);
      this.#brokers.setBrokers(res.brokers);
      this.#lastSuccess = this.#clock.now();
      this.lastError = undefined;
      for (const mt of res.topics) {
        const t = mt.name === null ? undefined : this.topics.get(mt.name);
        if (!t) continue; // a topic not asked for changes nothing
        // Only this topic fails (retriable: asked again after a backoff); the others in the answer apply.
        const bad = c.checkTopic(mt);
        if (bad) t.error = bad;
        else this.#apply(t, mt);
      }
      for (const t of this.topics.values()) {
        if (t.partitions === null || t.available.length < t.partitions.length) this.#again = true;
      }
    } catch (e) {
      this.lastError = e as KafkasmError;
      this.#again = true;
    } finally {
      this.#refreshing = false;
    }
    if (this.#closed) return;
    this.onUpdate();
    if (this.#again) this.request();
  }

  #apply(t: TopicState, mt: MetadataTopic): void {
    if (mt.errorCode !== 0 && mt.partitions.length === 0) {
      t.error = kafkaErrorFor(mt.errorCode, `Metadata for topic ${JSON.stringify(t.name)}`);
      if (t.partitions) for (const p of t.partitions) p.leaderId = -1;
      t.available = [];
      return;
    }
    t.error = mt.errorCode !== 0 ? kafkaErrorFor(mt.errorCode, `Metadata for topic ${JSON.stringify(t.name)}`) : undefined;
    // Indexes are 0..n-1 (checkTopic), so this allocates as many partitions as the answer lists.
    const parts = t.partitions ?? [];
    for (let i = parts.length; i < mt.partitions.length; i++) parts.push(new PartitionState(t.name, i));
    for (const mp of mt.partitions) {
      const p = parts[mp.partitionIndex];
      // An answer from a broker that has not seen the latest leader election yet is older: skip it.
      if (mp.leaderEpoch >= 0 && p.leaderEpoch >= 0 && mp.leaderEpoch < p.leaderEpoch) continue;
      p.leaderId = mp.errorCode === 0 || mp.leaderId >= 0 ? mp.leaderId : -1;
      if (mp.leaderEpoch >= 0) p.leaderEpoch = mp.leaderEpoch;
    }
    t.partitions = parts;
    const available: number[] = [];
    for (const p of parts) if (p.leaderId >= 0 && this.#brokers.has(p.leaderId)) available.push(p.partition);
    t.available = available;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
