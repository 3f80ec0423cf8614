/**
 * The "consumer" protocol type's embedded bytes: ConsumerProtocolSubscription (JoinGroup protocol metadata)
 * and ConsumerProtocolAssignment (SyncGroup assignment). Both start with an int16 version and are never
 * flexible (Kafka's ConsumerProtocolSubscription.json / ConsumerProtocolAssignment.json).
 *
 * | version | Subscription | Assignment |
 * |---|---|---|
 * | v0 | topics [string], user_data (nullable bytes) | assigned_partitions [topic, partitions [int32]], user_data |
 * | v1 | + owned_partitions [topic, partitions] (KIP-429, cooperative rebalancing) | same as v0 |
 * | v2 | + generation_id (int32, -1 = none; KIP-792) | same as v0 |
 * | v3 | + rack_id (nullable string; KIP-881) | same as v0 |
 *
 * As Java's ConsumerProtocol does, a version newer than v3 is read as v3 and its trailing bytes are
 * ignored (newer members append fields), so a group mixing client versions still works.
 */
import { ClientError } from "../errors.ts";
import { Reader, Writer } from "./wire.ts";

export const CONSUMER_PROTOCOL_TYPE = "consumer";
/** The newest version written and fully read here. */
export const CONSUMER_PROTOCOL_VERSION = 3;

/** Partitions of one topic. */
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface Subscription {
  topics: string[];
  userData: Uint8Array | null;
  /** v1+: partitions the member owns (cooperative protocol); [] before. */
  ownedPartitions: TopicPartitions[];
  /** v2+: the generation those partitions were owned in; -1 = none / before v2. */
  generationId: number;
  /** v3+; null before. */
  rackId: string | null;
}

export interface Assignment {
  assignedPartitions: TopicPartitions[];
  userData: Uint8Array | null;
}

function readVersion(r: Reader, what: string): number {
  const v = r.int16(`${what} version`);
  if (v < 0) throw new ClientError("PROTOCOL_ERROR", `Cannot read ${what}: version ${v}`);
  return Math.min(v, CONSUMER_PROTOCOL_VERSION);
}

const writeTopicPartitions = (w: Writer, t: TopicPartitions) => w.string(t.topic).array(false, t.partitions, (w, p) => w.int32(p));
const readTopicPartitions = (r: Reader): TopicPartitions => ({ topic: r.string("topic"), partitions: r.int32Array(false, "partitions") });

export function encodeSubscription(s: Subscription, version = CONSUMER_PROTOCOL_VERSION): Uint8Array {
  const w = new Writer(64);
  w.int16(version).array(false, s.topics, (w, t) => w.string(t)).bytes(s.userData);
  if (version >= 1) w.array(false, s.ownedPartitions, writeTopicPartitions);
  if (version >= 2) w.int32(s.generationId);
  if (version >= 3) w.string(s.rackId);
  return w.finish();
}

/** Decodes JoinGroup member metadata; anything malformed is a ClientError PROTOCOL_ERROR. */
export function decodeSubscription(bytes: Uint8Array): Subscription & { version: number } {
  const r = new Reader(bytes);
  const version = readVersion(r, "subscription");
  const topics = r.array(false, (r) => r.string("subscribed topic"), "topics", 2);
  const userData = r.nullableBytes("user_data");
  const ownedPartitions = version >= 1 ? r.array(false, readTopicPartitions, "owned_partitions", 6) : [];
  const generationId = version >= 2 ? r.int32("generation_id") : -1;
  const rackId = version >= 3 ? r.nullableString("rack_id") : null;
  return { version, topics, userData: userData && userData.slice(), ownedPartitions, generationId, rackId };
}

export function encodeAssignment(a: Assignment, version = CONSUMER_PROTOCOL_VERSION): Uint8Array {
  const w = new Writer(64);
  w.int16(version).array(false, a.assignedPartitions, writeTopicPartitions).bytes(a.userData);
  return w.finish();
}

/**
 * Decodes a SyncGroup assignment. Empty bytes (what the coordinator sends a member the leader gave
 * nothing, and on errors) are an empty assignment, as librdkafka reads them.
 */
export function decodeAssignment(bytes: Uint8Array): Assignment & { version: number } {
  if (bytes.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  const r = new Reader(bytes);
  const version = readVersion(r, "assignment");
  const assignedPartitions = r.array(false, readTopicPartitions, "assigned_partitions", 6);
  const userData = r.nullableBytes("user_data");
  return { version, assignedPartitions, userData: userData && userData.slice() };
}
