import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildCompressed } from "../../bindings/compressed-batch.ts";
import { getCodec, type BatchHeader } from "../../bindings/codec.ts";
import { decodeRecordBatches, decodeRecordBatchesAsync } from "../../src/protocol/record-batch.ts";
import { codecForAttribute, loadCompressionCodec } from "../../src/compression/index.ts";
import type { CompressionCodec } from "../../src/compression/codec.ts";
import { ClientError } from "../../src/errors.ts";
import { telemetryEvents } from "../compression/corpus.ts";

const codec = await getCodec();
const header: BatchHeader = { producerId: 3, producerEpoch: 1, baseSequence: 10, transactional: false };
const events = telemetryEvents(200, 3);

function fill(n = events.length, value = (i: number) => events[i]!) {
  const b = codec.newBatchBuilder(1 << 20);
  for (let i = 0; i < n; i++) b.append(1_700_000_000_000 + i, `k${i}`, value(i), [{ key: "h", value: String(i) }]);
  return b;
}

for (const name of ["snappy", "lz4", "zstd"] as const) {
  test(`${name}: buildCompressed returns the batch synchronously (no promise) and it decodes to the records`, async () => {
    const b = fill();
    const plain = decodeRecordBatches(b.build(header))[0]!;
    const out = buildCompressed(codec, b, header, await loadCompressionCodec(name));
    b.release();
    assert.instance(out, Uint8Array);
    const bytes = out as Uint8Array;
    const [batch] = await decodeRecordBatchesAsync(bytes, { codecForAttribute });
    assert.is(batch!.attributes & 7, { snappy: 2, lz4: 3, zstd: 4 }[name]);
    assert.is(batch!.batchLength, bytes.length - 12);
    assert.ok(bytes.length < plain.batchLength / 2);
    assert.equal(batch!.records, plain.records);
  });
}

test("gzip (async): the batch is right even when the builder's output memory is reused before compression ends", async () => {
  const a = fill(150);
  const expected = decodeRecordBatches(a.build(header))[0]!.records;
  const pending = buildCompressed(codec, a, header, await loadCompressionCodec("gzip"));
  assert.instance(pending, Promise);
  const other = fill(150, (i) => events[i]!.toUpperCase()); // same sizes, other bytes: lands on the same output region
  other.build(header);
  other.release();
  a.release();
  const [batch] = await decodeRecordBatchesAsync(await pending, { codecForAttribute });
  assert.is(batch!.attributes & 7, 1);
  assert.equal(batch!.records, expected);
});

test("a synchronous codec that throws makes buildCompressed throw (no rejected promise to lose)", () => {
  const failing: CompressionCodec = {
    name: "lz4", attribute: 3,
    compress: () => { throw new ClientError("COMPRESSION_ERROR", "boom"); },
    decompress: () => new Uint8Array(0),
  };
  const b = fill(5);
  try {
    buildCompressed(codec, b, header, failing);
    assert.unreachable("expected a throw");
  } catch (e) {
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, "COMPRESSION_ERROR");
  } finally {
    b.release();
  }
});

test.run();
