// KafkaJS's RecordBatch v2 encoder/decoder as a dev-only oracle for differential tests and fixtures.
// KafkaJS reads Date.now() for omitted timestamps and defaults partitionLeaderEpoch to 0, producer
// epoch/sequence to 0: every field is passed explicitly here so its bytes are comparable to ours.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
const decodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js");
const Decoder = require("kafkajs/src/protocol/decoder.js");
const Long = require("kafkajs/src/utils/long.js");

export interface SpecRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Unique, non-numeric keys: KafkaJS takes headers as an object (and cannot encode null values). */
  headers: { key: string; value: Uint8Array }[];
  timestamp: number;
}

export interface SpecBatch {
  records: SpecRecord[];
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
}

const buf = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export async function kafkajsEncode(spec: SpecBatch): Promise<Uint8Array> {
  const base = spec.records[0]!.timestamp;
  const max = Math.max(...spec.records.map((r) => r.timestamp));
  const records = spec.records.map((r, i) => Record({
    offsetDelta: i,
    timestampDelta: Long.fromNumber(r.timestamp - base),
    key: buf(r.key),
    value: buf(r.value),
    headers: Object.fromEntries(r.headers.map((h) => [h.key, buf(h.value)])),
  }));
  const enc = await RecordBatch({
    firstOffset: Long.fromInt(0),
    firstTimestamp: base,
    maxTimestamp: max,
    partitionLeaderEpoch: -1,
    lastOffsetDelta: spec.records.length - 1,
    transactional: spec.transactional,
    producerId: Long.fromNumber(spec.producerId),
    producerEpoch: spec.producerEpoch,
    firstSequence: spec.baseSequence,
    records,
  });
  return new Uint8Array(enc.buffer);
}

export interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

export async function kafkajsDecode(bytes: Uint8Array): Promise<{ records: KafkajsDecodedRecord[]; producerId: string; producerEpoch: number; firstSequence: number; inTransaction: boolean; maxTimestamp: string; firstTimestamp: string }> {
  return decodeBatch(new Decoder(Buffer.from(bytes)));
}
