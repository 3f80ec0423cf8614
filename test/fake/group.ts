/**
 * The fake cluster's group coordinator: a small but faithful copy of Kafka's GroupCoordinator state
 * machine (Empty → PreparingRebalance → CompletingRebalance → Stable), for consumer tests.
 *
 * - FindCoordinator key type 0 answers `coordinatorId` (move it to test NOT_COORDINATOR handling);
 *   requests for a group on another broker get NOT_COORDINATOR.
 * - JoinGroup: MEMBER_ID_REQUIRED for new dynamic members (v4+, KIP-394); static members (KIP-345) get
 *   a fresh member id, and the one they replace is fenced (FENCED_INSTANCE_ID); a rejoin waits until
 *   every member rejoined or the rebalance timeout removed it; the protocol every member supports with
 *   the most first-choice votes wins; a static leader rejoining a stable group gets skip_assignment.
 * - SyncGroup: the leader's assignments complete the generation; followers wait for them.
 * - Heartbeat: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS while preparing.
 * - Sessions expire after session_timeout_ms without a request (checked every 20 ms).
 * - OffsetCommit accepts the current generation while Stable or PreparingRebalance (eager members
 *   commit in onPartitionsRevoked), REBALANCE_IN_PROGRESS while CompletingRebalance; generation -1
 *   commits only to an empty group. OffsetFetch answers -1 for nothing committed.
 */
import { ApiKey } from "../../src/protocol/api.ts";
import type { FindCoordinatorRequest, FindCoordinatorResponse } from "../../src/protocol/find-coordinator.ts";
import type { HeartbeatRequest, HeartbeatResponse } from "../../src/protocol/heartbeat.ts";
import type { JoinGroupMember, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse } from "../../src/protocol/join-group.ts";
import type { LeaveGroupRequest, LeaveGroupResponse } from "../../src/protocol/leave-group.ts";
import type { OffsetCommitRequest, OffsetCommitResponse } from "../../src/protocol/offset-commit.ts";
import type { OffsetFetchRequest, OffsetFetchResponse } from "../../src/protocol/offset-fetch.ts";
import type { SyncGroupRequest, SyncGroupResponse } from "../../src/protocol/sync-group.ts";
import type { FakeCluster, RequestContext } from "./cluster.ts";

export const GROUP_ERR = {
  NONE: 0, COORDINATOR_NOT_AVAILABLE: 15, NOT_COORDINATOR: 16, ILLEGAL_GENERATION: 22, INCONSISTENT_GROUP_PROTOCOL: 23,
  UNKNOWN_MEMBER_ID: 25, REBALANCE_IN_PROGRESS: 27, MEMBER_ID_REQUIRED: 79, FENCED_INSTANCE_ID: 82,
} as const;

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable";

export interface FakeMember {
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  lastSeen: number;
  join?: (res: JoinGroupResponse) => void;
  sync?: (res: SyncGroupResponse) => void;
  assignment: Uint8Array;
}

export interface FakeGroup {
  readonly groupId: string;
  state: GroupState;
  generationId: number;
  protocolName: string | null;
  leader: string | null;
  members: Map<string, FakeMember>;
  /** group.instance.id → member id. */
  statics: Map<string, string>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, not joined yet. */
  pending: Set<string>;
  offsets: Map<string, { offset: number; leaderEpoch: number; metadata: string | null }>;
  rebalanceTimer?: ReturnType<typeof setTimeout>;
}

export interface CommitLog { groupId: string; memberId: string; generationId: number; offsets: { topic: string; partition: number; offset: number; leaderEpoch: number }[] }

export class FakeGroupCoordinator {
  readonly groups = new Map<string, FakeGroup>();
  /** Every accepted OffsetCommit, in order. */
  readonly commits: CommitLog[] = [];
  /** The broker coordinating every group. */
  coordinatorId = 1;
  #next = 0;
  #sweeper: ReturnType<typeof setInterval>;
  readonly #cluster: FakeCluster;

  constructor(cluster: FakeCluster) {
    this.#cluster = cluster;
    const findDefault = cluster.defaultHandler(ApiKey.FindCoordinator)!;
    cluster.handle(ApiKey.FindCoordinator, (ctx) => (ctx.request as FindCoordinatorRequest).keyType === 0 ? this.#find(ctx) : findDefault(ctx));
    cluster.handle(ApiKey.JoinGroup, (ctx) => this.#join(ctx));
    cluster.handle(ApiKey.SyncGroup, (ctx) => this.#sync(ctx));
    cluster.handle(ApiKey.Heartbeat, (ctx) => this.#heartbeat(ctx));
    cluster.handle(ApiKey.LeaveGroup, (ctx) => this.#leave(ctx));
    cluster.handle(ApiKey.OffsetCommit, (ctx) => this.#commit(ctx));
    cluster.handle(ApiKey.OffsetFetch, (ctx) => this.#fetchOffsets(ctx));
    this.#sweeper = setInterval(() => this.#expire(), 20);
    this.#sweeper.unref?.();
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const g of this.groups.values()) if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
  }

  group(groupId: string): FakeGroup {
    let g = this.groups.get(groupId);
    if (!g) {
      g = { groupId, state: "Empty", generationId: 0, protocolName: null, leader: null, members: new Map(), statics: new Map(), pending: new Set(), offsets: new Map() };
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** The committed offset of a partition, -1 when none. */
  committed(groupId: string, topic: string, partition: number): number {
    return this.groups.get(groupId)?.offsets.get(`${topic}/${partition}`)?.offset ?? -1;
  }

  /** Ends a member's session now, as if it stopped heartbeating long ago. */
  expire(groupId: string, memberId: string): void {
    const g = this.group(groupId);
    if (g.members.has(memberId)) this.#remove(g, memberId);
  }

  #now(): number {
    return this.#cluster.options.now();
  }

  #find(ctx: RequestContext): FindCoordinatorResponse {
    const b = this.#cluster.broker(this.coordinatorId);
    return { throttleTimeMs: 0, coordinators: (ctx.request as FindCoordinatorRequest).keys.map((key) => ({ key, nodeId: b.nodeId, host: b.advertisedHost, port: b.advertisedPort, errorCode: 0, errorMessage: null })) };
  }

  #newMemberId(clientId: string | null, instance: string | null): string {
    return `${instance ?? clientId ?? "member"}-${(++this.#next).toString(16).padStart(8, "0")}`;
  }

  #join(ctx: RequestContext): JoinGroupResponse | Promise<JoinGroupResponse> {
    const req = ctx.request as JoinGroupRequest;
    const v = ctx.header.apiVersion;
    const answer = (errorCode: number, memberId = req.memberId): JoinGroupResponse => ({
      throttleTimeMs: 0, errorCode, generationId: -1, protocolType: null, protocolName: v >= 7 ? null : "", leader: "", skipAssignment: false, memberId, members: [],
    });
    if (ctx.broker.nodeId !== this.coordinatorId) return answer(GROUP_ERR.NOT_COORDINATOR);
    const g = this.group(req.groupId);
    const instance = req.groupInstanceId ?? null;
    if (g.members.size > 0 && ![...g.members.values()][0].protocols.some((p) => req.protocols.some((q) => q.name === p.name))) {
      return answer(GROUP_ERR.INCONSISTENT_GROUP_PROTOCOL);
    }
    let memberId = req.memberId;
    if (memberId === "") {
      if (instance !== null) {
        memberId = this.#newMemberId(ctx.header.clientId, instance);
        const old = g.statics.get(instance);
        if (old !== undefined && g.members.has(old)) {
          // A static member restarting takes its old place: the old id is fenced, no rebalance while Stable.
          const m = g.members.get(old)!;
          g.members.delete(old);
          m.join?.(answer(GROUP_ERR.FENCED_INSTANCE_ID, old));
          m.sync?.({ throttleTimeMs: 0, errorCode: GROUP_ERR.FENCED_INSTANCE_ID, protocolType: null, protocolName: null, assignment: new Uint8Array(0) });
          const nm: FakeMember = { ...m, memberId, join: undefined, sync: undefined, lastSeen: this.#now(), protocols: req.protocols, sessionTimeoutMs: req.sessionTimeoutMs };
          g.members.set(memberId, nm);
          g.statics.set(instance, memberId);
          if (g.leader === old) g.leader = memberId;
          if (g.state === "Stable") {
            return { ...this.#joinResult(g, memberId, v), skipAssignment: g.leader === memberId && v >= 9, members: [] };
          }
          return this.#awaitJoin(g, nm);
        }
        g.statics.set(instance, memberId);
      } else {
        memberId = this.#newMemberId(ctx.header.clientId, null);
        if (v >= 4) {
          g.pending.add(memberId);
          return answer(GROUP_ERR.MEMBER_ID_REQUIRED, memberId);
        }
      }
    } else if (instance !== null && g.statics.get(instance) !== memberId) {
      return answer(GROUP_ERR.FENCED_INSTANCE_ID);
    } else if (!g.members.has(memberId) && !g.pending.delete(memberId)) {
      return answer(GROUP_ERR.UNKNOWN_MEMBER_ID);
    }
    let m = g.members.get(memberId);
    const changed = !m || !sameProtocols(m.protocols, req.protocols);
    if (!m) {
      m = { memberId, groupInstanceId: instance, protocolType: req.protocolType, protocols: req.protocols, sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs, lastSeen: this.#now(), assignment: new Uint8Array(0) };
      g.members.set(memberId, m);
    } else {
      m.protocols = req.protocols;
      m.lastSeen = this.#now();
    }
    // As Kafka: a follower rejoining with the same metadata gets the current generation back.
    if (!changed && g.leader !== memberId && (g.state === "Stable" || g.state === "CompletingRebalance")) return this.#joinResult(g, memberId, v);
    if (g.state !== "PreparingRebalance") this.#prepare(g);
    return this.#awaitJoin(g, m);
  }

  #awaitJoin(g: FakeGroup, m: FakeMember): Promise<JoinGroupResponse> {
    const p = new Promise<JoinGroupResponse>((resolve) => { m.join = resolve; });
    this.#maybeCompleteJoin(g);
    return p;
  }

  #prepare(g: FakeGroup): void {
    g.state = "PreparingRebalance";
    for (const m of g.members.values()) {
      if (m.sync) {
        const s = m.sync;
        m.sync = undefined;
        s({ throttleTimeMs: 0, errorCode: GROUP_ERR.REBALANCE_IN_PROGRESS, protocolType: null, protocolName: null, assignment: new Uint8Array(0) });
      }
    }
    const timeout = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = setTimeout(() => {
      g.rebalanceTimer = undefined;
      if (g.state !== "PreparingRebalance") return;
      // Members that did not rejoin within the rebalance timeout are removed.
      for (const m of [...g.members.values()]) if (!m.join) this.#drop(g, m.memberId);
      this.#maybeCompleteJoin(g, true);
    }, timeout);
  }

  #maybeCompleteJoin(g: FakeGroup, force = false): void {
    if (g.state !== "PreparingRebalance") return;
    const members = [...g.members.values()];
    if (!force && members.some((m) => !m.join)) return;
    if (g.rebalanceTimer) { clearTimeout(g.rebalanceTimer); g.rebalanceTimer = undefined; }
    g.generationId++;
    if (members.length === 0) {
      g.state = "Empty";
      g.leader = null;
      return;
    }
    // The protocol all members support with the most first-choice votes (Kafka's selectProtocol).
    const candidates = members[0].protocols.map((p) => p.name).filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const first = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(first, (votes.get(first) ?? 0) + 1);
    }
    g.protocolName = candidates.reduce((best, n) => ((votes.get(n) ?? 0) > (votes.get(best) ?? 0) ? n : best), candidates[0]);
    if (g.leader === null || !g.members.has(g.leader)) g.leader = members[0].memberId;
    g.state = "CompletingRebalance";
    for (const m of members) {
      m.lastSeen = this.#now();
      const j = m.join;
      m.join = undefined;
      j?.(this.#joinResult(g, m.memberId, 9));
    }
  }

  #joinResult(g: FakeGroup, memberId: string, v: number): JoinGroupResponse {
    const leader = g.leader === memberId;
    const members: JoinGroupMember[] = leader
      ? [...g.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.protocols.find((p) => p.name === g.protocolName)!.metadata }))
      : [];
    return { throttleTimeMs: 0, errorCode: 0, generationId: g.generationId, protocolType: "consumer", protocolName: g.protocolName, leader: g.leader ?? "", skipAssignment: false, memberId, members };
  }

  #sync(ctx: RequestContext): SyncGroupResponse | Promise<SyncGroupResponse> {
    const req = ctx.request as SyncGroupRequest;
    const answer = (errorCode: number, assignment: Uint8Array = new Uint8Array(0)): SyncGroupResponse => ({ throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment });
    if (ctx.broker.nodeId !== this.coordinatorId) return answer(GROUP_ERR.NOT_COORDINATOR);
    const g = this.group(req.groupId);
    const err = this.#check(g, req.memberId, req.groupInstanceId ?? null, req.generationId);
    if (err) return answer(err);
    const m = g.members.get(req.memberId)!;
    m.lastSeen = this.#now();
    if (g.state === "PreparingRebalance") return answer(GROUP_ERR.REBALANCE_IN_PROGRESS);
    if (g.state === "Stable") return answer(0, m.assignment);
    const p = new Promise<SyncGroupResponse>((resolve) => { m.sync = resolve; });
    if (g.leader === req.memberId) {
      for (const x of g.members.values()) x.assignment = req.assignments.find((a) => a.memberId === x.memberId)?.assignment ?? new Uint8Array(0);
      g.state = "Stable";
      for (const x of g.members.values()) {
        const s = x.sync;
        x.sync = undefined;
        s?.(answer(0, x.assignment));
      }
    }
    return p;
  }

  /** Member, fencing and generation checks shared by SyncGroup, Heartbeat and OffsetCommit. */
  #check(g: FakeGroup, memberId: string, instance: string | null, generationId: number): number {
    if (instance !== null && g.statics.has(instance) && g.statics.get(instance) !== memberId) return GROUP_ERR.FENCED_INSTANCE_ID;
    if (!g.members.has(memberId)) return GROUP_ERR.UNKNOWN_MEMBER_ID;
    if (generationId !== g.generationId) return GROUP_ERR.ILLEGAL_GENERATION;
    return 0;
  }

  #heartbeat(ctx: RequestContext): HeartbeatResponse {
    const req = ctx.request as HeartbeatRequest;
    const answer = (errorCode: number) => ({ throttleTimeMs: 0, errorCode });
    if (ctx.broker.nodeId !== this.coordinatorId) return answer(GROUP_ERR.NOT_COORDINATOR);
    const g = this.group(req.groupId);
    const err = this.#check(g, req.memberId, req.groupInstanceId ?? null, req.generationId);
    if (err) return answer(err);
    g.members.get(req.memberId)!.lastSeen = this.#now();
    return answer(g.state === "PreparingRebalance" ? GROUP_ERR.REBALANCE_IN_PROGRESS : 0);
  }

  #leave(ctx: RequestContext): LeaveGroupResponse {
    const req = ctx.request as LeaveGroupRequest;
    if (ctx.broker.nodeId !== this.coordinatorId) return { throttleTimeMs: 0, errorCode: GROUP_ERR.NOT_COORDINATOR, members: [] };
    const g = this.group(req.groupId);
    const members = req.members.map((lm) => {
      const id = lm.groupInstanceId ? g.statics.get(lm.groupInstanceId) : lm.memberId;
      if (lm.groupInstanceId && lm.memberId && id !== lm.memberId) return { memberId: lm.memberId, groupInstanceId: lm.groupInstanceId ?? null, errorCode: GROUP_ERR.FENCED_INSTANCE_ID };
      if (id === undefined || !g.members.has(id)) return { memberId: lm.memberId, groupInstanceId: lm.groupInstanceId ?? null, errorCode: GROUP_ERR.UNKNOWN_MEMBER_ID };
      this.#remove(g, id);
      return { memberId: lm.memberId, groupInstanceId: lm.groupInstanceId ?? null, errorCode: 0 };
    });
    const top = ctx.header.apiVersion < 3 ? members[0]?.errorCode ?? 0 : 0;
    return { throttleTimeMs: 0, errorCode: top, members: ctx.header.apiVersion >= 3 ? members : [] };
  }

  /** Removes a member and starts a rebalance for the rest. */
  #remove(g: FakeGroup, memberId: string): void {
    this.#drop(g, memberId);
    if (g.state === "PreparingRebalance") this.#maybeCompleteJoin(g);
    else if (g.members.size > 0) this.#prepare(g);
    else { g.state = "Empty"; g.generationId++; g.leader = null; }
  }

  #drop(g: FakeGroup, memberId: string): void {
    const m = g.members.get(memberId);
    if (!m) return;
    g.members.delete(memberId);
    if (m.groupInstanceId !== null && g.statics.get(m.groupInstanceId) === memberId) g.statics.delete(m.groupInstanceId);
    m.join?.({ throttleTimeMs: 0, errorCode: GROUP_ERR.UNKNOWN_MEMBER_ID, generationId: -1, protocolType: null, protocolName: null, leader: "", skipAssignment: false, memberId, members: [] });
    m.sync?.({ throttleTimeMs: 0, errorCode: GROUP_ERR.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: new Uint8Array(0) });
    if (g.leader === memberId) g.leader = null;
  }

  #expire(): void {
    const now = this.#now();
    for (const g of this.groups.values()) {
      for (const m of [...g.members.values()]) {
        if (!m.join && now - m.lastSeen > m.sessionTimeoutMs) this.#remove(g, m.memberId);
      }
    }
  }

  #commit(ctx: RequestContext): OffsetCommitResponse {
    const req = ctx.request as OffsetCommitRequest;
    const g = this.group(req.groupId);
    let err = 0;
    if (ctx.broker.nodeId !== this.coordinatorId) err = GROUP_ERR.NOT_COORDINATOR;
    else if ((req.generationId ?? -1) < 0 && !req.memberId) {
      if (g.members.size > 0) err = GROUP_ERR.UNKNOWN_MEMBER_ID; // only an empty group takes commits from outside it
    } else {
      err = this.#check(g, req.memberId ?? "", req.groupInstanceId ?? null, req.generationId ?? -1);
      if (!err && g.state === "CompletingRebalance") err = GROUP_ERR.REBALANCE_IN_PROGRESS;
      if (!err) g.members.get(req.memberId!)!.lastSeen = this.#now();
    }
    if (!err) {
      const offsets: CommitLog["offsets"] = [];
      for (const t of req.topics) for (const p of t.partitions) {
        g.offsets.set(`${t.name}/${p.partitionIndex}`, { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata });
        offsets.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1 });
      }
      this.commits.push({ groupId: req.groupId, memberId: req.memberId ?? "", generationId: req.generationId ?? -1, offsets });
    }
    return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: err })) })) };
  }

  #fetchOffsets(ctx: RequestContext): OffsetFetchResponse {
    const req = ctx.request as OffsetFetchRequest;
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((rg) => {
        const groupId = ctx.header.apiVersion >= 8 ? rg.groupId : "";
        if (ctx.broker.nodeId !== this.coordinatorId) return { groupId, topics: [], errorCode: GROUP_ERR.NOT_COORDINATOR };
        const g = this.group(rg.groupId);
        const topics = rg.topics ?? [...new Set([...g.offsets.keys()].map((k) => k.slice(0, k.lastIndexOf("/"))))].map((name) => ({
          name, partitionIndexes: [...g.offsets.keys()].filter((k) => k.startsWith(`${name}/`)).map((k) => Number(k.slice(name.length + 1))),
        }));
        return {
          groupId, errorCode: 0,
          topics: topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => {
            const o = g.offsets.get(`${t.name}/${p}`);
            return { partitionIndex: p, committedOffset: o?.offset ?? -1, committedLeaderEpoch: o?.leaderEpoch ?? -1, metadata: o?.metadata ?? "", errorCode: 0 };
          }) })),
        };
      }),
    };
  }
}

function sameProtocols(a: JoinGroupProtocol[], b: JoinGroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.metadata.length === b[i].metadata.length && p.metadata.every((x, j) => x === b[i].metadata[j]));
}
