/**
 * The producer's side of src/client/metadata.ts: the metadata cache over its own
 * TopicState/PartitionState, and checks.ts (a chunk of its own, loaded with the codec).
 */
import type { Brokers } from "../client/brokers.ts";
import type { Clock } from "../client/clock.ts";
import { MetadataCache as ClientMetadataCache, type MetadataOptions } from "../client/metadata.ts";
import { PartitionState, TopicState } from "./accumulator.ts";

/** checks.ts, once loaded: Producer#start loads it with the codec. */
let checks: typeof import("./checks.ts") | undefined;
export const loadChecks = async () => checks ?? (checks = await import("./checks.ts"));

/** The metadata cache keyed to the producer's per-partition state. */
export class MetadataCache extends ClientMetadataCache<TopicState, PartitionState> {
  constructor(brokers: Brokers, config: MetadataOptions, clock: Clock) {
    super(brokers, config, clock, TopicState, PartitionState, loadChecks);
  }
}
