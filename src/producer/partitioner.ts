/**
 * Partition choice. Keyed records: Java's `Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions`
 * (murmur2 of the serialized key, run in WASM), so a key lands where any JVM producer puts it.
 * Keyless records: sticky (KIP-480 / KIP-794) — all go to one partition until `batchSize` bytes have
 * gone there, then a random other one; or round robin; or a user function.
 */
import { ClientError } from "../errors.ts";
import type { PartitionerFunction, ProducerRecord } from "./config.ts";

/** The two hashes the codec provides (Java's signed int32 murmur2 with seed 0x9747b28c). */
export interface Murmur2 {
  murmur2(bytes: Uint8Array): number;
  murmur2String(key: string): number;
}

/** Per-topic partitioner state, kept on the topic's metadata entry. */
export interface PartitionerState {
  stickyPartition: number;
  stickyBytes: number;
  roundRobin: number;
}

export function newPartitionerState(): PartitionerState {
  return { stickyPartition: -1, stickyBytes: 0, roundRobin: 0 };
}

/** Java's partition for a serialized key: `(murmur2(key) & 0x7fffffff) % partitionCount`. */
export function keyPartition(hash: Murmur2, key: Uint8Array | string, partitionCount: number): number {
  const h = typeof key === "string" ? hash.murmur2String(key) : hash.murmur2(key);
  return (h & 0x7fffffff) % partitionCount;
}

/**
 * Sticky partition for a keyless record of about `size` bytes. `available` lists partitions with a
 * known leader (preferred, as Java does); it may be empty.
 */
export function stickyPartition(
  state: PartitionerState, partitionCount: number, available: readonly number[], size: number, batchSize: number, random: () => number,
): number {
  let p = state.stickyPartition;
  if (p < 0 || p >= partitionCount || state.stickyBytes >= batchSize) {
    p = pickOther(p, partitionCount, available, random);
    state.stickyPartition = p;
    state.stickyBytes = 0;
  }
  state.stickyBytes += size;
  return p;
}

function pickOther(current: number, partitionCount: number, available: readonly number[], random: () => number): number {
  if (available.length === 1) return available[0];
  if (available.length > 1) {
    // A different partition than the current one, uniformly among the others.
    let i = Math.floor(random() * available.length);
    if (available[i] === current) i = (i + 1 + Math.floor(random() * (available.length - 1))) % available.length;
    return available[i];
  }
  if (partitionCount === 1) return 0;
  let p = Math.floor(random() * partitionCount);
  if (p === current) p = (p + 1 + Math.floor(random() * (partitionCount - 1))) % partitionCount;
  return p;
}

/** Round robin over all partitions. */
export function roundRobinPartition(state: PartitionerState, partitionCount: number): number {
  const p = state.roundRobin % partitionCount;
  state.roundRobin = (p + 1) % partitionCount;
  return p;
}

/** Calls a user partitioner and checks its answer. */
export function customPartition(
  fn: PartitionerFunction, topic: string, key: Uint8Array | string | null, partitionCount: number, record: ProducerRecord<unknown, unknown>,
): number {
  const p = fn(topic, key, partitionCount, record);
  if (!Number.isInteger(p) || p < 0 || p >= partitionCount) {
    throw new ClientError("INVALID_RECORD", `The partitioner returned ${String(p)} for topic ${JSON.stringify(topic)}, which has ${partitionCount} partitions`);
  }
  return p;
}
