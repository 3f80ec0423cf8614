import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { codecForAttribute } from "../../src/compression/index.ts";
import { decodeRecordBatchesAsync } from "../../src/protocol/record-batch.ts";
import { kcatFixtureLines } from "./kcat-fixture-lines.ts";

const dec = new TextDecoder();
const expected = kcatFixtureLines().map((l) => { const t = l.indexOf("\t"); return { key: l.slice(0, t), value: l.slice(t + 1) }; });

// What librdkafka wrote, seen in these fixtures: snappy as one raw block (no xerial framing), lz4
// frames with FLG 0x60 / BD 0x40 (independent 64 KiB blocks, no checksums), zstd frames without a
// content size (so our decoder grows its buffer up to the cap), gzip with one member.
const firstSection = (bytes: Uint8Array) => bytes.subarray(61, 12 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(8));

for (const [codec, attr] of [["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4]] as const) {
  test(`kafkasm decodes the ${codec} RecordBatches kcat (librdkafka 2.0.2) produced to the same keys, values and headers`, async () => {
    const bytes = new Uint8Array(readFileSync(new URL(`../fixtures/compression/kcat-${codec}.bin`, import.meta.url)));
    const batches = await decodeRecordBatchesAsync(bytes, { codecForAttribute });
    assert.ok(batches.length >= 1);
    for (const b of batches) assert.is(b.attributes & 7, attr);
    const records = batches.flatMap((b) => b.records);
    assert.is(records.length, expected.length);
    records.forEach((r, i) => {
      assert.is(r.offset, i);
      assert.is(dec.decode(r.key!), expected[i]!.key);
      assert.is(dec.decode(r.value!), expected[i]!.value);
      assert.equal(r.headers.map((h) => [h.key, dec.decode(h.value!)]), [["source", "kcat"], ["codec", codec]]);
    });
  });
}

test("librdkafka's snappy is a raw block and its lz4 frame uses 64 KiB independent blocks (both read here)", () => {
  const snappy = firstSection(new Uint8Array(readFileSync(new URL("../fixtures/compression/kcat-snappy.bin", import.meta.url))));
  assert.is.not(snappy[0], 0x82, "not xerial");
  const lz4 = firstSection(new Uint8Array(readFileSync(new URL("../fixtures/compression/kcat-lz4.bin", import.meta.url))));
  assert.equal(Array.from(lz4.subarray(0, 6)), [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40]);
});

test("a kcat batch whose compressed records section is cut short fails with COMPRESSION_ERROR, for every codec", async () => {
  for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
    const bytes = new Uint8Array(readFileSync(new URL(`../fixtures/compression/kcat-${codec}.bin`, import.meta.url)));
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const cut = bytes.slice(0, 12 + view.getInt32(8) - 100);
    new DataView(cut.buffer).setInt32(8, view.getInt32(8) - 100);
    try {
      await decodeRecordBatchesAsync(cut, { codecForAttribute, verifyCrc: false });
      assert.unreachable(`${codec}: truncation went unnoticed`);
    } catch (e) {
      assert.is((e as { code: string }).code, "COMPRESSION_ERROR", `${codec}: ${(e as Error).message}`);
    }
  }
});

test.run();
