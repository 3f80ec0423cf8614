/**
 * RecordBatch v2 decoding (Kafka's magic 2 on-disk and on-wire format). Checks magic, lengths and
 * the CRC32C, and turns any corruption or truncation into a ClientError — never a crash or hang.
 * Encoding lives in WASM (bindings/codec.ts); this side is needed by tests, the fake cluster and
 * consumers, so it favours clarity over speed.
 */
import { getLoadedCodec } from "../../bindings/codec.ts";
import type { CompressionCodec } from "../compression/codec.ts";
import { ClientError, KafkasmError } from "../errors.ts";

/** A decoded record header. Header keys are UTF-8 strings; values may be null. */
export interface RecordHeaderValue {
  key: string;
  value: Uint8Array | null;
}

/** One record, with its absolute offset and timestamp resolved from the batch. */
export interface Record {
  /** baseOffset + offsetDelta. */
  offset: number;
  /** baseTimestamp + timestampDelta (or maxTimestamp for LogAppendTime batches). */
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeaderValue[];
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
}

/** One RecordBatch, field names as in Kafka's protocol documentation. */
export interface RecordBatch {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Unsigned CRC32C as stored (verified unless `verifyCrc: false`). */
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  records: Record[];
}

export interface DecodeOptions {
  /** Check each batch's CRC32C (default true). */
  verifyCrc?: boolean;
  /** Stop quietly at a partial batch at the end, as Fetch responses may carry (default false: throw). */
  allowPartialTrailingBatch?: boolean;
  /** Cap on one batch's decompressed records section (default 64 MiB): compressed data can expand ~1000x. */
  maxUncompressedBytes?: number;
  /** Synchronous decompression of a records section for `attribute` (1 gzip … 4 zstd). */
  decompress?: (attribute: number, data: Uint8Array, maxOutputBytes: number) => Uint8Array;
}

export interface DecodeAsyncOptions extends Omit<DecodeOptions, "decompress"> {
  /** The codec for compression attribute bits 0-2 (src/compression `codecForAttribute`). */
  codecForAttribute: (attribute: number) => Promise<CompressionCodec>;
}

/** Attribute bits, from Kafka's RecordBatch specification. */
export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
export const TRANSACTIONAL = 0x10;
export const CONTROL = 0x20;

const HEADER_SIZE = 61;
const DEFAULT_MAX_UNCOMPRESSED = 64 * 1024 * 1024;
const decoder = new TextDecoder();

function corrupt(message: string): ClientError {
  return new ClientError("CORRUPT_RECORD_BATCH", `Cannot decode RecordBatch: ${message}`);
}

// A fallback for when the WASM codec is not loaded yet (decoding is synchronous); byte-table CRC32C.
let crcTable: Uint32Array | undefined;
function crc32cJs(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = ~0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function crc32c(bytes: Uint8Array): number {
  const codec = getLoadedCodec();
  return codec !== undefined ? codec.crc32c(bytes) : crc32cJs(bytes);
}

/** A bounds-checked cursor; every overrun is CORRUPT_RECORD_BATCH. */
class Cursor {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number) {}

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) throw corrupt(`${what} needs ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} left`);
  }

  /** Unsigned varint of at most maxBytes; result as a number (exact below 2^53). */
  private uvarint(maxBytes: number, what: string): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < maxBytes; i++) {
      if (this.pos >= this.end) throw corrupt(`${what} is truncated at offset ${this.pos}`);
      const b = this.bytes[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw corrupt(`${what} is a varint longer than ${maxBytes} bytes at offset ${this.pos}`);
  }

  varint(what: string): number {
    const z = this.uvarint(5, what);
    if (z > 0xffffffff) throw corrupt(`${what} overflows 32 bits`);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  varlong(what: string): number {
    const z = this.uvarint(10, what);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** varint length (-1 = null) then that many bytes, copied. */
  nullableBytes(what: string): Uint8Array | null {
    const len = this.varint(`${what} length`);
    if (len < -1) throw corrupt(`${what} length ${len} is negative`);
    if (len === -1) return null;
    this.need(len, what);
    const out = this.bytes.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

function int64(dv: DataView, at: number): number {
  return dv.getInt32(at) * 4294967296 + dv.getUint32(at + 4);
}

interface RawBatch {
  batch: RecordBatch;
  recordCount: number;
  /** The records section as stored (compressed when attributes say so). */
  section: Uint8Array;
}

/** Splits `bytes` into checked batch headers and raw record sections. */
function splitBatches(bytes: Uint8Array, options: DecodeOptions | undefined): RawBatch[] {
  const out: RawBatch[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const verifyCrc = options?.verifyCrc ?? true;
  let at = 0;
  while (at < bytes.length) {
    const left = bytes.length - at;
    if (left < 17) {
      if (options?.allowPartialTrailingBatch) break;
      throw corrupt(`${left} bytes at offset ${at} are too few for a batch header`);
    }
    const batchLength = dv.getInt32(at + 8);
    const magic = dv.getInt8(at + 16);
    if (magic !== 2) throw corrupt(`magic ${magic} at offset ${at} is not 2 (only RecordBatch v2 is supported)`);
    if (batchLength < HEADER_SIZE - 12) throw corrupt(`batchLength ${batchLength} at offset ${at} is below the minimum ${HEADER_SIZE - 12}`);
    if (12 + batchLength > left) {
      if (options?.allowPartialTrailingBatch) break;
      throw corrupt(`batchLength ${batchLength} at offset ${at} runs past the end of the ${bytes.length}-byte input`);
    }
    const end = at + 12 + batchLength;
    const crc = dv.getUint32(at + 17);
    if (verifyCrc) {
      const actual = crc32c(bytes.subarray(at + 21, end));
      if (actual !== crc) throw corrupt(`CRC32C mismatch at offset ${at}: stored 0x${crc.toString(16)}, computed 0x${actual.toString(16)}`);
    }
    const recordCount = dv.getInt32(at + 57);
    if (recordCount < 0) throw corrupt(`recordCount ${recordCount} is negative`);
    out.push({
      batch: {
        baseOffset: int64(dv, at),
        batchLength,
        partitionLeaderEpoch: dv.getInt32(at + 12),
        magic,
        crc,
        attributes: dv.getInt16(at + 21),
        lastOffsetDelta: dv.getInt32(at + 23),
        baseTimestamp: int64(dv, at + 27),
        maxTimestamp: int64(dv, at + 35),
        producerId: int64(dv, at + 43),
        producerEpoch: dv.getInt16(at + 51),
        baseSequence: dv.getInt32(at + 53),
        records: [],
      },
      recordCount,
      section: bytes.subarray(at + HEADER_SIZE, end),
    });
    at = end;
  }
  return out;
}

/** Parses `recordCount` records filling exactly `section`. */
function parseRecords(raw: RawBatch, section: Uint8Array): void {
  const { batch, recordCount } = raw;
  // Each record takes at least 7 bytes, so a count above that is corrupt (and would allocate for nothing).
  if (recordCount > section.length / 7) throw corrupt(`recordCount ${recordCount} does not fit in ${section.length} bytes of records`);
  const logAppend = (batch.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const c = new Cursor(section, 0, section.length);
  for (let i = 0; i < recordCount; i++) {
    const length = c.varint("record length");
    if (length < 0) throw corrupt(`record ${i} length ${length} is negative`);
    c.need(length, `record ${i}`);
    const r = new Cursor(section, c.pos, c.pos + length);
    c.pos += length;
    r.need(1, "record attributes");
    const attributes = section[r.pos++]!;
    const timestampDelta = r.varlong("timestampDelta");
    const offsetDelta = r.varint("offsetDelta");
    const key = r.nullableBytes("key");
    const value = r.nullableBytes("value");
    const headerCount = r.varint("header count");
    if (headerCount < 0 || headerCount > length) throw corrupt(`record ${i} header count ${headerCount} is invalid`);
    const headers: RecordHeaderValue[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hk = r.nullableBytes("header key");
      if (hk === null) throw corrupt(`record ${i} header ${h} has a null key`);
      headers.push({ key: decoder.decode(hk), value: r.nullableBytes("header value") });
    }
    if (r.pos !== r.end) throw corrupt(`record ${i} has ${r.end - r.pos} bytes beyond its fields`);
    batch.records.push({
      offset: batch.baseOffset + offsetDelta,
      timestamp: logAppend ? batch.maxTimestamp : batch.baseTimestamp + timestampDelta,
      key, value, headers, attributes, timestampDelta, offsetDelta,
    });
  }
  if (c.pos !== section.length) throw corrupt(`${section.length - c.pos} bytes follow the last of ${recordCount} records`);
}

function decompressionFailed(cause: unknown): KafkasmError {
  if (cause instanceof KafkasmError) return cause;
  return new ClientError("COMPRESSION_ERROR", `Cannot decompress a RecordBatch: ${(cause as Error)?.message ?? cause}`, { cause });
}

/**
 * Decodes every RecordBatch v2 in `bytes` (a Fetch/Produce records field: batches back to back).
 * Compressed batches need `options.decompress`, else use {@link decodeRecordBatchesAsync}.
 * Throws ClientError CORRUPT_RECORD_BATCH or COMPRESSION_ERROR.
 */
export function decodeRecordBatches(bytes: Uint8Array, options?: DecodeOptions): RecordBatch[] {
  const raws = splitBatches(bytes, options);
  const max = options?.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED;
  for (const raw of raws) {
    const attr = raw.batch.attributes & COMPRESSION_MASK;
    let section = raw.section;
    if (attr !== 0) {
      if (options?.decompress === undefined) {
        throw new ClientError("COMPRESSION_ERROR", `Cannot decode a RecordBatch compressed with codec ${attr} synchronously: pass options.decompress or use decodeRecordBatchesAsync`);
      }
      try {
        section = options.decompress(attr, section, max);
      } catch (cause) {
        throw decompressionFailed(cause);
      }
      if (section.length > max) throw new ClientError("COMPRESSION_ERROR", `Cannot decode a RecordBatch: decompressed records are ${section.length} bytes, over the ${max}-byte cap`);
    }
    parseRecords(raw, section);
  }
  return raws.map((r) => r.batch);
}

/** {@link decodeRecordBatches} for input that may hold compressed batches (codecs may be async). */
export async function decodeRecordBatchesAsync(bytes: Uint8Array, options: DecodeAsyncOptions): Promise<RecordBatch[]> {
  const raws = splitBatches(bytes, options);
  const max = options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED;
  for (const raw of raws) {
    const attr = raw.batch.attributes & COMPRESSION_MASK;
    let section = raw.section;
    if (attr !== 0) {
      try {
        const codec = await options.codecForAttribute(attr);
        section = await codec.decompress(section, max);
      } catch (cause) {
        throw decompressionFailed(cause);
      }
      if (section.length > max) throw new ClientError("COMPRESSION_ERROR", `Cannot decode a RecordBatch: decompressed records are ${section.length} bytes, over the ${max}-byte cap`);
    }
    parseRecords(raw, section);
  }
  return raws.map((r) => r.batch);
}
