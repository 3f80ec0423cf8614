/**
 * Kafka API keys used here. Import as a namespace (`import * as ApiKey from "./api-keys.ts"`), not
 * through api.ts's re-export: esbuild inlines each constant then, so a key costs no bundle bytes.
 */
export const Produce = 0;
export const Fetch = 1;
export const ListOffsets = 2;
export const Metadata = 3;
export const OffsetCommit = 8;
export const OffsetFetch = 9;
export const FindCoordinator = 10;
export const JoinGroup = 11;
export const Heartbeat = 12;
export const LeaveGroup = 13;
export const SyncGroup = 14;
export const SaslHandshake = 17;
export const ApiVersions = 18;
export const InitProducerId = 22;
export const AddPartitionsToTxn = 24;
export const EndTxn = 26;
export const SaslAuthenticate = 36;
