/**
 * Partition assignors: pure functions the group leader runs over every member's subscription and the
 * topics' partition counts. Names are Kafka's (`partition.assignment.strategy`), so kafkasm members share
 * a group with Java, librdkafka and KafkaJS members that use the same assignor.
 */
import type { Subscription, TopicPartitions } from "../../protocol/consumer-protocol.ts";

/** EAGER: every member revokes everything before a rebalance. COOPERATIVE: only what moves (KIP-429). */
export type RebalanceProtocol = "EAGER" | "COOPERATIVE";

export interface GroupMember {
  memberId: string;
  /** Static membership (KIP-345); null for a dynamic member. */
  groupInstanceId: string | null;
  subscription: Subscription;
}

/** Partition count per topic, from metadata; topics missing here are not assigned. */
export type PartitionCounts = ReadonlyMap<string, number>;

/** memberId → its partitions (topics in name order, partitions ascending); every member has an entry. */
export type GroupAssignment = Map<string, TopicPartitions[]>;

export interface Assignor {
  /** The JoinGroup protocol name, e.g. "range". */
  readonly name: string;
  /** Protocols it supports, preferred first. */
  readonly supportedProtocols: readonly RebalanceProtocol[];
  /** user_data for this member's subscription (e.g. cooperative-sticky's generation). */
  subscriptionUserData?(generationId: number): Uint8Array | null;
  assign(members: readonly GroupMember[], partitionCounts: PartitionCounts): GroupAssignment;
}

/**
 * Java's MemberInfo order: static members first, by group.instance.id, then dynamic ones by member id
 * (UTF-16 code-unit order, as String.compareTo).
 */
export function compareMembers(a: GroupMember, b: GroupMember): number {
  const ai = a.groupInstanceId, bi = b.groupInstanceId;
  if (ai !== null && bi !== null) return ai < bi ? -1 : ai > bi ? 1 : 0;
  if (ai !== null) return -1;
  if (bi !== null) return 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

/** A partition key that sorts like Java's TopicPartition order used here (topic, then partition). */
export type PartitionKey = string;
const SEP = "\u0000"; // cannot appear in a topic name
export const partitionKey = (topic: string, partition: number): PartitionKey => topic + SEP + partition;
export function splitKey(key: PartitionKey): [string, number] {
  const i = key.lastIndexOf(SEP);
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

/** Groups (topic, partition) pairs per topic: topics in name order, partitions ascending. */
export function toTopicPartitions(pairs: Iterable<readonly [string, number]>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const [t, p] of pairs) {
    let list = byTopic.get(t);
    if (!list) byTopic.set(t, (list = []));
    list.push(p);
  }
  return [...byTopic.keys()].sort().map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }));
}

/** An empty assignment for every member. */
export function emptyAssignment(members: readonly GroupMember[]): Map<string, [string, number][]> {
  return new Map(members.map((m) => [m.memberId, []]));
}

export function finish(pairs: Map<string, [string, number][]>): GroupAssignment {
  const out: GroupAssignment = new Map();
  for (const [id, list] of pairs) out.set(id, toTopicPartitions(list));
  return out;
}
