// Decoding is synchronous, so before getCodec() has resolved it checks CRCs with a JS byte table.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { getLoadedCodec } from "../../bindings/codec.ts";
import { decodeRecordBatches } from "../../src/protocol/record-batch.ts";

const bytes = Uint8Array.from(Buffer.from(readFileSync(new URL("../fixtures/codec/kafkajs-plain.hex", import.meta.url), "utf8").trim(), "hex"));

test("without a loaded WASM codec, decodeRecordBatches still verifies the CRC32C (JS fallback)", () => {
  assert.is(getLoadedCodec(), undefined);
  assert.is(decodeRecordBatches(bytes)[0]!.records.length, 4);
  const bad = bytes.slice();
  bad[bad.length - 1]! ^= 1;
  try {
    decodeRecordBatches(bad);
    assert.unreachable();
  } catch (e) {
    assert.is((e as { code: string }).code, "CORRUPT_RECORD_BATCH");
    assert.match((e as Error).message, "CRC32C mismatch");
  }
  assert.is(getLoadedCodec(), undefined);
});

test.run();
