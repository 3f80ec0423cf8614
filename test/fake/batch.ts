// A small, test-only RecordBatch v2 encoder (uncompressed), independent of the WASM codec, so the fake
// cluster's tests (and producer tests that want hand-made batches) do not depend on the build.
import { crc32c } from "@node-rs/crc32";
import { Writer, writeUint32, writeVarint, writeVarlong } from "../../src/protocol/wire.ts";

export interface TestRecord {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: { key: string; value: Uint8Array | string | null }[];
  timestampDelta?: number;
}

export interface TestBatch {
  records: TestRecord[];
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  attributes?: number;
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

const enc = new TextEncoder();
const bytesOf = (v: Uint8Array | string | null | undefined) => (v === null || v === undefined ? null : typeof v === "string" ? enc.encode(v) : v);

export function encodeTestBatch(b: TestBatch): Uint8Array {
  const baseTimestamp = b.baseTimestamp ?? 1700000000000;
  const body = new Writer(256);
  let maxDelta = 0;
  b.records.forEach((r, i) => {
    const rec = new Writer(64);
    const delta = r.timestampDelta ?? 0;
    maxDelta = Math.max(maxDelta, delta);
    writeVarint(writeVarlong(rec.int8(0), delta), i);
    const key = bytesOf(r.key);
    const value = bytesOf(r.value);
    if (key === null) writeVarint(rec, -1); else writeVarint(rec, key.length).raw(key);
    if (value === null) writeVarint(rec, -1); else writeVarint(rec, value.length).raw(value);
    writeVarint(rec, r.headers?.length ?? 0);
    for (const h of r.headers ?? []) {
      const hk = enc.encode(h.key);
      const hv = bytesOf(h.value);
      writeVarint(rec, hk.length).raw(hk);
      if (hv === null) writeVarint(rec, -1); else writeVarint(rec, hv.length).raw(hv);
    }
    const recBytes = rec.finish();
    writeVarint(body, recBytes.length).raw(recBytes);
  });
  const crcPart = new Writer(64 + body.pos);
  crcPart.int16(b.attributes ?? 0).int32(b.records.length - 1).int64(baseTimestamp).int64(baseTimestamp + maxDelta)
    .int64(b.producerId ?? -1).int16(b.producerEpoch ?? -1).int32(b.baseSequence ?? -1).int32(b.records.length).raw(body.finish());
  const crcBytes = crcPart.finish();
  const out = new Writer(crcBytes.length + 21);
  writeUint32(out.int64(b.baseOffset ?? 0).int32(crcBytes.length + 9).int32(b.partitionLeaderEpoch ?? -1).int8(2), crc32c(Buffer.from(crcBytes)) >>> 0).raw(crcBytes);
  return out.finish();
}
