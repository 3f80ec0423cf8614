/**
 * `kafkasm/codec`: Kafka's byte-level building blocks, backed by the WebAssembly codec.
 *
 * @example
 * ```ts
 * import { crc32c, encodeRecordBatch, decodeRecordBatches } from "kafkasm/codec";
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * const batch = encodeRecordBatch({ records: [{ key: null, value: new Uint8Array([1]), timestamp: 1700000000000 }] });
 * decodeRecordBatches(batch)[0].records[0].offset; // 0
 * ```
 * @module
 */
import { getCodec, partitionForKey as keyPartition } from "../bindings/codec.ts";
import { ClientError } from "./errors.ts";

export { decodeRecordBatches, decodeRecordBatchesAsync } from "./protocol/record-batch.ts";
export type { DecodeAsyncOptions, DecodeOptions, Record, RecordBatch, RecordHeaderValue } from "./protocol/record-batch.ts";

const codec = await getCodec();

/** CRC32C (Castagnoli) of `bytes`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  return codec.crc32c(bytes);
}

/** Kafka's (Java client's) murmur2 of `bytes`: a signed 32-bit number. */
export function murmur2(bytes: Uint8Array): number {
  return codec.murmur2(bytes);
}

/** The partition Kafka's default partitioner picks for a key hash: `(hash & 0x7fffffff) % numPartitions`. */
// Not a re-export: that would make our .d.ts load bindings/codec.d.ts, whose WebAssembly types a Node project (no DOM lib) lacks.
export function partitionForKey(hash: number, numPartitions: number): number {
  return keyPartition(hash, numPartitions);
}

/** One record to encode. `timestamp` is milliseconds since the epoch. */
export interface EncodeRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: { key: string; value: Uint8Array | null }[];
  timestamp: number;
}

export interface EncodeRecordBatchOptions {
  records: readonly EncodeRecord[];
  /**
   * Only `"none"` (the default) is supported here, because encoding stays synchronous; compressed
   * batches are built by the producer (bindings/compressed-batch.ts).
   */
  compression?: "none";
  /** Default -1 (not idempotent). */
  producerId?: number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  /** Sets the transactional attribute bit. Default false. */
  transactional?: boolean;
  /** The timestamp deltas are relative to. Default: the first record's timestamp. */
  baseTimestamp?: number;
}

/**
 * Encodes `records` as one RecordBatch v2 (magic 2, baseOffset 0, partitionLeaderEpoch -1,
 * CreateTime timestamps, CRC32C filled in). Throws ClientError INVALID_RECORD for an empty list or
 * out-of-range fields and INVALID_CONFIG for a compression other than "none".
 */
export function encodeRecordBatch(options: EncodeRecordBatchOptions): Uint8Array {
  const { records } = options;
  if ((options.compression ?? "none") !== "none") {
    throw new ClientError("INVALID_CONFIG", `Cannot encode a RecordBatch with compression "${options.compression}": encodeRecordBatch supports only "none"`);
  }
  if (records.length === 0) throw new ClientError("INVALID_RECORD", "Cannot encode a RecordBatch with no records");
  const builder = codec.newBatchBuilder(Number.MAX_SAFE_INTEGER);
  try {
    if (options.baseTimestamp !== undefined) builder.setBaseTimestamp(options.baseTimestamp);
    for (const r of records) builder.append(r.timestamp, r.key ?? null, r.value ?? null, r.headers);
    return builder.build({
      producerId: options.producerId ?? -1,
      producerEpoch: options.producerEpoch ?? -1,
      baseSequence: options.baseSequence ?? -1,
      transactional: options.transactional ?? false,
    });
  } finally {
    builder.release();
  }
}
