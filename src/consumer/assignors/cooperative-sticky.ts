/**
 * "cooperative-sticky" (KIP-429, Java's CooperativeStickyAssignor): a balanced assignment that keeps
 * each member's owned partitions where balance allows, then the cooperative rule: a partition whose
 * owner changes is only revoked in this rebalance (left out of everyone's assignment); the old owner
 * gives it up, rejoins, and the next rebalance assigns it to its new member. So no partition ever has
 * two owners at once, and partitions that do not move are never revoked.
 *
 * Ownership comes from the subscriptions' owned_partitions with their generation (subscription v2+,
 * else the int32 Java writes as this assignor's user_data): only claims from the newest generation
 * count, and a partition claimed twice in that generation counts as unowned (as Java does).
 *
 * Balance: with equal subscriptions, counts differ by at most 1; with unequal ones, no partition could
 * move to an eligible member holding 2 or more fewer partitions.
 */
import { Writer } from "../../protocol/wire.ts";
import {
  type Assignor, type GroupAssignment, type GroupMember, type PartitionCounts, type PartitionKey,
  compareMembers, finish, partitionKey, splitKey,
} from "./index.ts";

/** The generation a member's owned partitions belong to; -1 when unknown. */
export function memberGeneration(m: GroupMember): number {
  const s = m.subscription;
  if (s.generationId >= 0) return s.generationId;
  const u = s.userData;
  // Java's COOPERATIVE_STICKY_ASSIGNOR_USER_DATA_V0: one int32 "generation"; unreadable → -1
  if (!u || u.length < 4) return -1;
  return new DataView(u.buffer, u.byteOffset, u.byteLength).getInt32(0);
}

/** Current valid owner of each partition (member id), by the rules in the header. */
export function currentOwners(members: readonly GroupMember[], partitionCounts: PartitionCounts): Map<PartitionKey, string> {
  let maxGeneration = -1;
  for (const m of members) if (m.subscription.ownedPartitions.length > 0) maxGeneration = Math.max(maxGeneration, memberGeneration(m));
  const owners = new Map<PartitionKey, string>();
  const contested = new Set<PartitionKey>();
  for (const m of members) {
    if (memberGeneration(m) !== maxGeneration) continue;
    for (const { topic, partitions } of m.subscription.ownedPartitions) {
      const n = partitionCounts.get(topic);
      if (n === undefined || !m.subscription.topics.includes(topic)) continue; // no longer subscribed or gone
      for (const p of partitions) {
        if (!(p >= 0 && p < n)) continue;
        const k = partitionKey(topic, p);
        if (owners.has(k) && owners.get(k) !== m.memberId) contested.add(k);
        else owners.set(k, m.memberId);
      }
    }
  }
  for (const k of contested) owners.delete(k);
  return owners;
}

/** The balanced, sticky target assignment (before the cooperative rule), as member id → partition keys. */
export function stickyTarget(members: readonly GroupMember[], partitionCounts: PartitionCounts, owners: Map<PartitionKey, string>): Map<string, PartitionKey[]> {
  const sorted = [...members].sort(compareMembers);
  const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.subscription.topics)]));
  const holding = new Map<string, Set<PartitionKey>>(sorted.map((m) => [m.memberId, new Set()]));
  const eligible = new Map<PartitionKey, string[]>();
  const topics = [...new Set(sorted.flatMap((m) => m.subscription.topics))].sort();
  for (const t of topics) {
    const n = partitionCounts.get(t) ?? 0;
    const who = sorted.filter((m) => subscribed.get(m.memberId)!.has(t)).map((m) => m.memberId);
    for (let p = 0; p < n; p++) eligible.set(partitionKey(t, p), who);
  }
  for (const [k, id] of owners) if (eligible.has(k)) holding.get(id)?.add(k);

  const equal = sorted.every((m) => sameTopics(subscribed.get(m.memberId)!, subscribed.get(sorted[0].memberId)!));
  if (equal && sorted.length > 0) {
    // Keep owned partitions up to the quota: ceil(N/M) for at most N % M members (those owning most), floor(N/M) for the rest.
    const minQuota = Math.floor(eligible.size / sorted.length);
    let ceilSlots = eligible.size % sorted.length;
    const byOwned = [...sorted].sort((a, b) => holding.get(b.memberId)!.size - holding.get(a.memberId)!.size);
    for (const m of byOwned) {
      const h = holding.get(m.memberId)!;
      let quota = minQuota;
      if (ceilSlots > 0 && h.size > minQuota) { quota++; ceilSlots--; }
      if (h.size > quota) {
        const keep = [...h].sort(byPartition).slice(0, quota);
        holding.set(m.memberId, new Set(keep));
      }
    }
  }
  // Unassigned partitions, those with the fewest eligible members first, each to the eligible member holding fewest.
  const taken = new Set<PartitionKey>();
  for (const h of holding.values()) for (const k of h) taken.add(k);
  const free = [...eligible.keys()].filter((k) => !taken.has(k))
    .sort((a, b) => eligible.get(a)!.length - eligible.get(b)!.length || byPartition(a, b));
  for (const k of free) {
    let best: Set<PartitionKey> | undefined;
    for (const id of eligible.get(k)!) {
      const h = holding.get(id)!;
      if (!best || h.size < best.size) best = h;
    }
    best!.add(k);
  }
  // Unequal subscriptions: move partitions from a member to an eligible one holding 2+ fewer until none can move.
  if (!equal) {
    for (let moved = true; moved;) {
      moved = false;
      for (const m of sorted) {
        const from = holding.get(m.memberId)!;
        for (const k of [...from].sort(byPartition)) {
          for (const id of eligible.get(k)!) {
            const to = holding.get(id)!;
            if (to.size + 1 < from.size) {
              from.delete(k);
              to.add(k);
              moved = true;
              break;
            }
          }
        }
      }
    }
  }
  return new Map([...holding].map(([id, h]) => [id, [...h]]));
}

function sameTopics(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const t of a) if (!b.has(t)) return false;
  return true;
}

function byPartition(a: PartitionKey, b: PartitionKey): number {
  const [ta, pa] = splitKey(a), [tb, pb] = splitKey(b);
  return ta < tb ? -1 : ta > tb ? 1 : pa - pb;
}

export const cooperativeStickyAssignor: Assignor = {
  name: "cooperative-sticky",
  supportedProtocols: ["COOPERATIVE", "EAGER"],
  subscriptionUserData(generationId: number): Uint8Array {
    return new Writer(4).int32(generationId).finish();
  },
  assign(members, partitionCounts): GroupAssignment {
    const owners = currentOwners(members, partitionCounts);
    const target = stickyTarget(members, partitionCounts, owners);
    const out = new Map<string, [string, number][]>();
    for (const [id, keys] of target) {
      // the cooperative rule: a partition changing owner is only revoked now, assigned next rebalance
      out.set(id, keys.filter((k) => { const o = owners.get(k); return o === undefined || o === id; }).map(splitKey));
    }
    return finish(out);
  },
};
