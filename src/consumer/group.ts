/**
 * Group membership (Java's ConsumerCoordinator / AbstractCoordinator): FindCoordinator (key type 0),
 * JoinGroup (MEMBER_ID_REQUIRED retry, KIP-394; group.instance.id, KIP-345), the leader's assignment
 * with the configured assignor, SyncGroup, Heartbeat on its own timer (session and max.poll checks),
 * OffsetFetch / OffsetCommit and LeaveGroup. The coordinator has its own connection (Java's
 * Integer.MAX_VALUE - nodeId trick) so a heartbeat never waits behind a long-polling Fetch, with a
 * request timeout long enough for a JoinGroup that the coordinator holds for the rebalance timeout.
 */
import { Brokers } from "../client/brokers.ts";
import type { Clock, TimerHandle } from "../client/clock.ts";
import type { Connection } from "../client/connection.ts";
import { backoff } from "../client/backoff.ts";
import { versionFor } from "../client/versions.ts";
import { ClientError, KafkasmError, kafkaErrorFor } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import {
  CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type TopicPartitions,
} from "../protocol/consumer-protocol.ts";
import { COORDINATOR_GROUP, FindCoordinator } from "../protocol/find-coordinator.ts";
import { Heartbeat } from "../protocol/heartbeat.ts";
import { JoinGroup, type JoinGroupResponse } from "../protocol/join-group.ts";
import { LeaveGroup } from "../protocol/leave-group.ts";
import { OffsetCommit } from "../protocol/offset-commit.ts";
import { OffsetFetch } from "../protocol/offset-fetch.ts";
import { SyncGroup } from "../protocol/sync-group.ts";
import type { Transport } from "../transport/transport.ts";
import type { SaslConfig } from "../client/sasl/index.ts";
import { toTopicPartitions } from "./assignors/index.ts";
import type { ConsumerConfig, TopicPartition, TopicPartitionOffset } from "./config.ts";

/** What the group needs from its consumer. */
export interface GroupHost {
  subscription(): string[];
  owned(): TopicPartition[];
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  wake(): void;
  fail(e: KafkasmError): void;
}

/** The coordinator's node id in the coordinator Brokers (kept apart from the fetch connections' ids). */
const coordinatorNode = (nodeId: number) => 2147483647 - nodeId;

export class Group {
  memberId = "";
  generationId = -1;
  protocolName: string | null = null;
  /** A rebalance is to be joined at the next poll. */
  needsJoin = true;
  /** Joined and synced in the current generation. */
  active = false;
  /** The partitions owned were taken away (session lost, fenced generation): onPartitionsLost, not revoked. */
  lost = false;
  readonly #config: ConsumerConfig;
  readonly #clock: Clock;
  readonly #brokers: Brokers;
  readonly #host: GroupHost;
  #coordinator: number | null = null;
  #heartbeatTimer: TimerHandle | undefined;
  #heartbeating = false;
  #lastHeartbeat = 0;
  #lastPoll = 0;
  #stopped = false;
  #failures = 0;

  constructor(config: ConsumerConfig, transport: Transport, sasl: SaslConfig | undefined, clock: Clock, host: GroupHost,
    addressMap?: ConstructorParameters<typeof Brokers>[3]) {
    this.#config = config;
    this.#clock = clock;
    this.#host = host;
    // JoinGroup is held by the coordinator up to the rebalance timeout: the request timeout must outlast it.
    const requestTimeoutMs = Math.max(config.requestTimeoutMs, config.maxPollIntervalMs + 5000);
    this.#brokers = new Brokers({ brokers: config.brokers, clientId: config.clientId, requestTimeoutMs, maxInFlight: 1, sasl }, transport, clock, addressMap);
    this.#lastPoll = clock.now();
  }

  /** The application polled (asked for records): resets the max.poll.interval.ms clock. */
  polled(): void {
    this.#lastPoll = this.#clock.now();
  }

  requestRejoin(): void {
    this.needsJoin = true;
    this.#host.wake();
  }

  // ---- coordinator ----

  async #coordinatorConn(): Promise<Connection> {
    if (this.#stopped) throw new ClientError("CONSUMER_CLOSED", "The consumer is closed");
    if (this.#coordinator !== null) return this.#brokers.connect(this.#coordinator);
    const conn = await this.#brokers.any();
    const res = await conn.request(FindCoordinator, versionFor(conn, FindCoordinator), { keyType: COORDINATOR_GROUP, keys: [this.#config.groupId] });
    const c = res.coordinators[0];
    if (!c) throw new ClientError("PROTOCOL_ERROR", "FindCoordinator answered no coordinator", { retriable: true });
    if (c.errorCode !== ErrorCode.NONE) throw kafkaErrorFor(c.errorCode, `FindCoordinator for group ${JSON.stringify(this.#config.groupId)}`);
    const id = coordinatorNode(c.nodeId);
    this.#brokers.setBrokers([{ nodeId: id, host: c.host, port: c.port }]);
    this.#coordinator = id;
    return this.#brokers.connect(id);
  }

  #coordinatorLost(): void {
    this.#coordinator = null;
  }

  /** Coordinator errors that mean "ask FindCoordinator again". */
  #isCoordinatorError(code: number): boolean {
    return code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE || code === ErrorCode.REQUEST_TIMED_OUT;
  }

  async #backoff(): Promise<void> {
    const ms = backoff(this.#failures++, this.#config.retryBackoffMs, 1000, this.#clock.random());
    await new Promise<void>((r) => this.#clock.setTimeout(r, ms));
  }

  // ---- join / sync ----

  /**
   * Joins the group and returns this member's assignment (subscribed topics only), or null when it
   * could not (closed, or a fatal error reported through the host).
   */
  async join(): Promise<TopicPartition[] | null> {
    this.active = false;
    this.#stopHeartbeat();
    const c = this.#config;
    for (;;) {
      if (this.#stopped) return null;
      let joined: JoinGroupResponse;
      try {
        const conn = await this.#coordinatorConn();
        const subscription = this.#host.subscription();
        const owned = c.cooperative ? toTopicPartitions(this.#host.owned().map((tp) => [tp.topic, tp.partition] as const)) : [];
        joined = await conn.request(JoinGroup, versionFor(conn, JoinGroup), {
          groupId: c.groupId, sessionTimeoutMs: c.sessionTimeoutMs, rebalanceTimeoutMs: c.maxPollIntervalMs, memberId: this.memberId,
          groupInstanceId: c.groupInstanceId, protocolType: CONSUMER_PROTOCOL_TYPE,
          protocols: c.assignors.map((a) => ({
            name: a.name,
            metadata: encodeSubscription({ topics: subscription, userData: a.subscriptionUserData?.(this.generationId) ?? null, ownedPartitions: owned, generationId: this.generationId, rackId: null }),
          })),
          reason: this.needsJoin && this.generationId >= 0 ? "rebalance" : null,
        });
      } catch (e) {
        if (this.#retry(e)) { await this.#backoff(); continue; }
        return null;
      }
      const code = joined.errorCode;
      if (code === ErrorCode.MEMBER_ID_REQUIRED) { this.memberId = joined.memberId; continue; }
      if (code !== ErrorCode.NONE) {
        if (this.#joinError(code, "JoinGroup")) { await this.#backoff(); continue; }
        return null;
      }
      this.memberId = joined.memberId;
      this.protocolName = joined.protocolName;
      let assignments: { memberId: string; assignment: Uint8Array }[] = [];
      if (joined.leader === joined.memberId && !joined.skipAssignment) {
        try {
          assignments = await this.#assign(joined);
        } catch (e) {
          this.#host.fail(e instanceof KafkasmError ? e : new ClientError("PROTOCOL_ERROR", `Cannot assign partitions: ${(e as Error)?.message ?? e}`, { cause: e }));
          return null;
        }
      }
      let bytes: Uint8Array;
      try {
        const conn = await this.#coordinatorConn();
        const synced = await conn.request(SyncGroup, versionFor(conn, SyncGroup), {
          groupId: c.groupId, generationId: joined.generationId, memberId: this.memberId, groupInstanceId: c.groupInstanceId,
          protocolType: CONSUMER_PROTOCOL_TYPE, protocolName: joined.protocolName, assignments,
        });
        if (synced.errorCode !== ErrorCode.NONE) {
          if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue; // rejoin at once, as Java does
          if (this.#joinError(synced.errorCode, "SyncGroup")) { await this.#backoff(); continue; }
          return null;
        }
        bytes = synced.assignment;
      } catch (e) {
        if (this.#retry(e)) { await this.#backoff(); continue; }
        return null;
      }
      this.generationId = joined.generationId;
      let assigned: TopicPartitions[];
      try {
        assigned = decodeAssignment(bytes).assignedPartitions;
      } catch (e) {
        this.#host.fail(e as KafkasmError);
        return null;
      }
      this.#failures = 0;
      this.active = true;
      this.needsJoin = false;
      this.#lastHeartbeat = this.#clock.now();
      this.#scheduleHeartbeat();
      const subscribed = new Set(this.#host.subscription());
      return assigned.filter((t) => subscribed.has(t.topic)).flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
    }
  }

  /** The leader's part: every member's subscription through the chosen assignor. */
  async #assign(joined: JoinGroupResponse): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const assignor = this.#config.assignors.find((a) => a.name === joined.protocolName);
    if (!assignor) throw new ClientError("PROTOCOL_ERROR", `The coordinator chose assignor ${JSON.stringify(joined.protocolName)}, which this member did not offer`);
    const members = joined.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, subscription: decodeSubscription(m.metadata) }));
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))].sort();
    const counts = await this.#host.partitionCounts(topics);
    const result = assignor.assign(members, counts);
    return members.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment({ assignedPartitions: result.get(m.memberId) ?? [], userData: null }) }));
  }

  /** Handles a JoinGroup/SyncGroup error; true = retry after a backoff. */
  #joinError(code: number, what: string): boolean {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) { this.memberId = ""; this.generationId = -1; return true; }
    if (code === ErrorCode.ILLEGAL_GENERATION) { this.generationId = -1; return true; }
    if (this.#isCoordinatorError(code)) { this.#coordinatorLost(); return true; }
    const e = kafkaErrorFor(code, `${what} for group ${JSON.stringify(this.#config.groupId)}`);
    if (e.retriable || code === ErrorCode.REBALANCE_IN_PROGRESS || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return true;
    this.#host.fail(e); // FENCED_INSTANCE_ID, GROUP_AUTHORIZATION_FAILED, INCONSISTENT_GROUP_PROTOCOL…
    return false;
  }

  /** A thrown request error: retriable ones lose the coordinator and are retried; others fail the consumer. */
  #retry(e: unknown): boolean {
    if (this.#stopped) return false;
    if (e instanceof KafkasmError && e.retriable) {
      if (e instanceof ClientError || (e.code !== "REBALANCE_IN_PROGRESS" && e.code !== "COORDINATOR_LOAD_IN_PROGRESS")) this.#coordinatorLost();
      return true;
    }
    this.#host.fail(e instanceof KafkasmError ? e : new ClientError("PROTOCOL_ERROR", String((e as Error)?.message ?? e), { cause: e }));
    return false;
  }

  // ---- heartbeat ----

  #scheduleHeartbeat(): void {
    this.#stopHeartbeat();
    if (this.#stopped) return;
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = undefined;
      void this.#heartbeat();
    }, this.#config.heartbeatIntervalMs);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== undefined) this.#clock.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  async #heartbeat(): Promise<void> {
    if (!this.active || this.#stopped || this.#heartbeating) return;
    const c = this.#config;
    const now = this.#clock.now();
    if (now - this.#lastPoll > c.maxPollIntervalMs) {
      // max.poll.interval.ms: the application stopped polling; leave so the group can move on without it.
      this.active = false;
      this.needsJoin = true;
      this.lost = true;
      await this.leave().catch(() => {});
      this.#host.wake();
      return;
    }
    if (now - this.#lastHeartbeat > c.sessionTimeoutMs) this.#coordinatorLost();
    this.#heartbeating = true;
    try {
      const conn = await this.#coordinatorConn();
      const res = await conn.request(Heartbeat, versionFor(conn, Heartbeat), { groupId: c.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: c.groupInstanceId });
      const code = res.errorCode;
      if (code === ErrorCode.NONE) this.#lastHeartbeat = this.#clock.now();
      else if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
        this.#lastHeartbeat = this.#clock.now();
        this.requestRejoin();
      } else if (code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.UNKNOWN_MEMBER_ID) {
        if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
        this.generationId = -1;
        this.active = false;
        this.lost = true;
        this.requestRejoin();
      } else if (this.#isCoordinatorError(code)) this.#coordinatorLost();
      else {
        const e = kafkaErrorFor(code, `Heartbeat for group ${JSON.stringify(c.groupId)}`);
        if (!e.retriable) { this.active = false; this.#host.fail(e); }
      }
    } catch (e) {
      if (e instanceof KafkasmError && !e.retriable && !this.#stopped) this.#host.fail(e);
      else this.#coordinatorLost();
    } finally {
      this.#heartbeating = false;
    }
    if (this.active) this.#scheduleHeartbeat();
  }

  // ---- offsets ----

  /** Committed offsets (-1 = none) with their leader epochs, by "topic\0partition". */
  async fetchOffsets(tps: TopicPartition[]): Promise<Map<string, { offset: number; leaderEpoch: number }>> {
    const c = this.#config;
    const deadline = this.#clock.now() + c.requestTimeoutMs;
    for (;;) {
      try {
        const conn = await this.#coordinatorConn();
        const res = await conn.request(OffsetFetch, versionFor(conn, OffsetFetch), {
          groups: [{ groupId: c.groupId, topics: byTopic(tps).map(([name, ps]) => ({ name, partitionIndexes: ps })) }],
          requireStable: true,
        });
        const g = res.groups[0];
        if (!g) throw new ClientError("PROTOCOL_ERROR", "OffsetFetch answered no group", { retriable: true });
        if (g.errorCode !== ErrorCode.NONE) throw this.#offsetError(g.errorCode, "OffsetFetch");
        const out = new Map<string, { offset: number; leaderEpoch: number }>();
        for (const t of g.topics) for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) throw this.#offsetError(p.errorCode, `OffsetFetch for ${t.name}-${p.partitionIndex}`);
          out.set(`${t.name}\u0000${p.partitionIndex}`, { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch });
        }
        return out;
      } catch (e) {
        if (!(e instanceof KafkasmError) || !e.retriable || this.#stopped || this.#clock.now() >= deadline) throw e;
        await this.#backoff();
      }
    }
  }

  /**
   * OffsetCommit in this member's generation; retried while the coordinator moves or loads. A
   * rebalance or a fenced generation rejects with that KafkaError (REBALANCE_IN_PROGRESS,
   * ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID): the offsets were not stored.
   */
  async commit(offsets: TopicPartitionOffset[], _strict: boolean): Promise<void> {
    const c = this.#config;
    const deadline = this.#clock.now() + c.requestTimeoutMs;
    const topics = new Map<string, TopicPartitionOffset[]>();
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new ClientError("INVALID_CONFIG", `Cannot commit ${o.topic}-${o.partition}: offset ${o.offset} is not a non-negative integer`);
      let l = topics.get(o.topic);
      if (!l) topics.set(o.topic, (l = []));
      l.push(o);
    }
    for (;;) {
      try {
        const conn = await this.#coordinatorConn();
        const res = await conn.request(OffsetCommit, versionFor(conn, OffsetCommit), {
          groupId: c.groupId, generationId: this.active ? this.generationId : -1, memberId: this.active ? this.memberId : "",
          groupInstanceId: c.groupInstanceId, retentionTimeMs: -1,
          topics: [...topics].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({
            partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: p.leaderEpoch ?? -1, commitTimestamp: -1, committedMetadata: p.metadata ?? null,
          })) })),
        });
        for (const t of res.topics) for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) throw this.#offsetError(p.errorCode, `OffsetCommit for ${t.name}-${p.partitionIndex}`);
        }
        return;
      } catch (e) {
        if (!(e instanceof KafkasmError) || !e.retriable || e.code === "REBALANCE_IN_PROGRESS" || this.#stopped || this.#clock.now() >= deadline) throw e;
        await this.#backoff();
      }
    }
  }

  #offsetError(code: number, what: string): KafkasmError {
    if (this.#isCoordinatorError(code)) this.#coordinatorLost();
    if (code === ErrorCode.REBALANCE_IN_PROGRESS) this.requestRejoin();
    if (code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.UNKNOWN_MEMBER_ID) {
      if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
      this.generationId = -1;
      this.active = false;
      this.lost = true;
      this.requestRejoin();
    }
    return kafkaErrorFor(code, `${what} in group ${JSON.stringify(this.#config.groupId)}`);
  }

  /** LeaveGroup for a dynamic member (a static one keeps its place until its session ends, KIP-345). */
  async leave(): Promise<void> {
    const c = this.#config;
    this.#stopHeartbeat();
    const memberId = this.memberId;
    this.active = false;
    this.generationId = -1;
    if (c.groupInstanceId !== null || memberId === "") return;
    this.memberId = "";
    const conn = await this.#coordinatorConn();
    await conn.request(LeaveGroup, versionFor(conn, LeaveGroup), { groupId: c.groupId, members: [{ memberId, groupInstanceId: null, reason: "the consumer is closing" }] });
  }

  stop(): void {
    this.#stopped = true;
    this.#stopHeartbeat();
    this.#brokers.close();
  }
}

function byTopic(tps: TopicPartition[]): [string, number[]][] {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let l = m.get(tp.topic);
    if (!l) m.set(tp.topic, (l = []));
    l.push(tp.partition);
  }
  return [...m];
}
