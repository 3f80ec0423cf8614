import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fflate from "fflate";
import zlib from "node:zlib";
import { gzipCodec } from "../../src/compression/gzip.ts";
import { ClientError } from "../../src/errors.ts";
import { edgeCases, sameBytes, telemetryCorpus } from "./corpus.ts";

for (const { name, data } of edgeCases()) {
  test(`gzip round-trips ${name}; node:zlib and fflate decode our stream to the same bytes`, async () => {
    const gz = await gzipCodec.compress(data);
    assert.is(gz[0], 0x1f); assert.is(gz[1], 0x8b);
    assert.ok(sameBytes(await gzipCodec.decompress(gz, data.length), data));
    assert.ok(sameBytes(new Uint8Array(zlib.gunzipSync(gz)), data));
    assert.ok(sameBytes(fflate.gunzipSync(gz), data));
  });
}

test("gzip decodes what node:zlib (every level) and fflate wrote, and concatenated gzip members", async () => {
  const data = telemetryCorpus(200_000);
  for (const level of [1, 6, 9]) {
    assert.ok(sameBytes(await gzipCodec.decompress(zlib.gzipSync(data, { level }), data.length), data));
  }
  assert.ok(sameBytes(await gzipCodec.decompress(fflate.gzipSync(data), data.length), data));
  const two = new Uint8Array([...zlib.gzipSync(data.subarray(0, 1000)), ...zlib.gzipSync(data.subarray(1000, 3000))]);
  assert.ok(sameBytes(await gzipCodec.decompress(two, 3000), data.subarray(0, 3000)));
});

async function rejects(p: unknown, match: RegExp): Promise<void> {
  try { await p; } catch (e) {
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, "COMPRESSION_ERROR");
    assert.match((e as Error).message, match);
    return;
  }
  assert.unreachable("expected a COMPRESSION_ERROR");
}

test("gzip rejects truncated, corrupt and empty data with COMPRESSION_ERROR", async () => {
  const data = telemetryCorpus(50_000);
  const gz = zlib.gzipSync(data);
  await rejects(gzipCodec.decompress(new Uint8Array(0), 100), /empty/);
  await rejects(gzipCodec.decompress(gz.subarray(0, gz.length - 10), data.length), /gzip/);
  await rejects(gzipCodec.decompress(gz.subarray(0, 5), data.length), /gzip/);
  const badCrc = gz.slice(); badCrc[badCrc.length - 6] ^= 0xff;
  await rejects(gzipCodec.decompress(badCrc, data.length), /gzip/);
  await rejects(gzipCodec.decompress(new TextEncoder().encode("not gzip at all"), 100), /gzip/);
});

test("gzip stops a decompression bomb at maxOutputBytes (64 MiB of zeros, 1 MiB cap)", async () => {
  const bomb = zlib.gzipSync(new Uint8Array(64 << 20), { level: 9 });
  assert.ok(bomb.length < 100_000);
  const before = process.memoryUsage().arrayBuffers;
  await rejects(gzipCodec.decompress(bomb, 1 << 20), /exceed maxOutputBytes 1048576/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 32 << 20, "memory stayed bounded");
});

test("gzip codec has Kafka's attribute 1", () => {
  assert.is(gzipCodec.name, "gzip");
  assert.is(gzipCodec.attribute, 1);
});

test.run();
