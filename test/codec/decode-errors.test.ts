import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { getCodec } from "../../bindings/codec.ts";
import { decodeRecordBatches, decodeRecordBatchesAsync, type DecodeOptions } from "../../src/protocol/record-batch.ts";
import { encodeRecordBatch } from "../../src/codec.ts";
import { ClientError } from "../../src/errors.ts";

const codec = await getCodec();
const te = new TextEncoder();

const sample = encodeRecordBatch({
  producerId: 9, producerEpoch: 1, baseSequence: 5,
  records: [
    { key: te.encode("k1"), value: te.encode("first value"), headers: [{ key: "h", value: te.encode("x") }, { key: "n", value: null }], timestamp: 1_700_000_000_000 },
    { key: null, value: te.encode("second"), timestamp: 1_700_000_000_050 },
    { key: te.encode("k3"), value: null, timestamp: 1_699_999_999_000 },
  ],
});

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof ClientError)) throw new Error(`expected a ClientError, got ${e}`);
    return e.code;
  }
}

/** Recomputes the CRC so that a mutation reaches the structure checks instead of the CRC check. */
function reCrc(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset).setUint32(17, codec.crc32c(batch.subarray(21)));
  return batch;
}

test("the sample decodes (sanity for the mutations below)", () => {
  assert.is(decodeRecordBatches(sample)[0]!.records.length, 3);
});

test("a batch truncated at every byte is CORRUPT_RECORD_BATCH (and empty input is no batches)", () => {
  assert.equal(decodeRecordBatches(new Uint8Array(0)), []);
  for (let cut = 1; cut < sample.length; cut++) {
    assert.is(errorCode(() => decodeRecordBatches(sample.subarray(0, cut))), "CORRUPT_RECORD_BATCH", `cut at ${cut}`);
  }
});

test("allowPartialTrailingBatch returns the whole batches before a partial one", () => {
  const two = new Uint8Array(sample.length * 2);
  two.set(sample);
  two.set(sample, sample.length);
  for (const cut of [sample.length + 1, sample.length + 16, sample.length + 17, two.length - 1]) {
    const batches = decodeRecordBatches(two.subarray(0, cut), { allowPartialTrailingBatch: true });
    assert.is(batches.length, 1, `cut at ${cut}`);
  }
});

test("any single flipped bit under the CRC is CORRUPT_RECORD_BATCH (CRC32C catches all 1-bit errors)", () => {
  for (let i = 16; i < sample.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = sample.slice();
      bad[i]! ^= bit;
      assert.is(errorCode(() => decodeRecordBatches(bad)), "CORRUPT_RECORD_BATCH", `byte ${i} bit ${bit}`);
    }
  }
});

test("magic other than 2 is rejected as CORRUPT_RECORD_BATCH", () => {
  for (const magic of [0, 1, 3, 0xff]) {
    const bad = sample.slice();
    bad[16] = magic;
    assert.match(String(errorCode(() => decodeRecordBatches(bad))), "CORRUPT_RECORD_BATCH");
  }
});

test("batchLength too small, too large or negative is CORRUPT_RECORD_BATCH", () => {
  for (const len of [-1, 0, 48, sample.length - 12 - 1, sample.length - 12 + 1, 0x7fffffff]) {
    const bad = sample.slice();
    new DataView(bad.buffer).setInt32(8, len);
    assert.is(errorCode(() => decodeRecordBatches(bad)), "CORRUPT_RECORD_BATCH", `batchLength ${len}`);
  }
});

test("recordCount that disagrees with the records (CRC fixed up) is CORRUPT_RECORD_BATCH", () => {
  for (const count of [-1, 0, 2, 4, 1000, 0x7fffffff]) {
    const bad = sample.slice();
    new DataView(bad.buffer).setInt32(57, count);
    assert.is(errorCode(() => decodeRecordBatches(reCrc(bad))), "CORRUPT_RECORD_BATCH", `recordCount ${count}`);
  }
});

test("random byte mutations of the records section with a fixed-up CRC decode or throw ClientError, never crash (fuzz)", () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
    const bad = sample.slice();
    for (const [at, v] of edits) bad[61 + (at % (bad.length - 61))] = v;
    const code = errorCode(() => decodeRecordBatches(reCrc(bad)));
    return code === undefined || code === "CORRUPT_RECORD_BATCH";
  }), { numRuns: 3000 });
});

test("random garbage input is CORRUPT_RECORD_BATCH or no batches, never another exception (fuzz)", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, partial) => {
    const code = errorCode(() => decodeRecordBatches(bytes, { allowPartialTrailingBatch: partial, verifyCrc: false }));
    return code === undefined || code === "CORRUPT_RECORD_BATCH";
  }), { numRuns: 3000 });
});

test("verifyCrc: false decodes a batch whose CRC is wrong", () => {
  const bad = sample.slice();
  bad[17]! ^= 0xff;
  assert.is(errorCode(() => decodeRecordBatches(bad)), "CORRUPT_RECORD_BATCH");
  assert.is(decodeRecordBatches(bad, { verifyCrc: false })[0]!.records.length, 3);
});

function withCompression(attr: number): Uint8Array {
  const bad = sample.slice();
  new DataView(bad.buffer).setInt16(21, attr);
  return reCrc(bad);
}

test("a compressed batch without a decompressor, or whose codec fails or overflows the cap, is COMPRESSION_ERROR", async () => {
  assert.is(errorCode(() => decodeRecordBatches(withCompression(2))), "COMPRESSION_ERROR");
  const failing: DecodeOptions = { decompress: () => { throw new Error("bad snappy"); } };
  assert.is(errorCode(() => decodeRecordBatches(withCompression(2), failing)), "COMPRESSION_ERROR");
  const huge: DecodeOptions = { decompress: () => new Uint8Array(100), maxUncompressedBytes: 10 };
  assert.is(errorCode(() => decodeRecordBatches(withCompression(1), huge)), "COMPRESSION_ERROR");
  for (const opts of [
    { codecForAttribute: async () => { throw new Error("no codec"); } },
    { codecForAttribute: async () => ({ name: "gzip" as const, attribute: 1 as const, compress: (d: Uint8Array) => d, decompress: () => new Uint8Array(100) }), maxUncompressedBytes: 10 },
  ]) {
    try {
      await decodeRecordBatchesAsync(withCompression(1), opts);
      assert.unreachable();
    } catch (e) {
      assert.is((e as ClientError).code, "COMPRESSION_ERROR");
    }
  }
});

test("decompressed garbage inside a valid compressed batch is CORRUPT_RECORD_BATCH", () => {
  const opts: DecodeOptions = { decompress: () => new Uint8Array([0xff, 0xff, 0xff]) };
  assert.is(errorCode(() => decodeRecordBatches(withCompression(1), opts)), "CORRUPT_RECORD_BATCH");
});

test("a LogAppendTime batch gives every record the batch maxTimestamp", () => {
  const [batch] = decodeRecordBatches(withCompression(0x08));
  assert.equal(batch!.records.map((r) => r.timestamp), [1_700_000_000_050, 1_700_000_000_050, 1_700_000_000_050]);
});

test.run();
