import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as bokuweb from "@bokuweb/zstd-wasm";
import { loadZstd } from "../../bindings/compression.ts";
import { loadCompressionCodec } from "../../src/compression/index.ts";
import { edgeCases, sameBytes, telemetryCorpus } from "./corpus.ts";
import { rejectsWithCompressionError as rejects } from "./reject.ts";

const zstd = await loadZstd();
await bokuweb.init();
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/compression/${name}`, import.meta.url)));

for (const { name, data } of edgeCases()) {
  test(`zstd round-trips ${name}; @bokuweb/zstd-wasm decodes our frame to the same bytes`, () => {
    const frame = zstd.compress(data);
    assert.equal(Array.from(frame.subarray(0, 4)), [0x28, 0xb5, 0x2f, 0xfd]);
    assert.ok(sameBytes(zstd.decompress(frame, data.length), data));
    assert.ok(sameBytes(bokuweb.decompress(frame, { defaultHeapSize: data.length + 1 }), data));
  });
}

test("zstd decodes what @bokuweb/zstd-wasm wrote", () => {
  const data = telemetryCorpus(300_000);
  assert.ok(sameBytes(zstd.decompress(bokuweb.compress(data, 3), data.length), data));
});

// Frames written by the zstd CLI 1.5.4 (native libzstd; test/fixtures/compression/NOTES.md).
for (const [file, n] of [["zstd-cli-l3.zst", 300_000], ["zstd-cli-stream-nosize.zst", 300_000], ["zstd-cli-l19.zst", 100_000]] as const) {
  test(`zstd decodes the zstd CLI frame ${file}`, () => {
    assert.ok(sameBytes(zstd.decompress(fixture(file), n), telemetryCorpus(n)));
  });
}

test("the zstd codec from the registry has attribute 4 and round-trips", async () => {
  const codec = await loadCompressionCodec("zstd");
  assert.is(codec.name, "zstd");
  assert.is(codec.attribute, 4);
  const data = telemetryCorpus(10_000);
  assert.ok(sameBytes(await codec.decompress(await codec.compress(data), 10_000), data));
});

test("zstd rejects malformed frames with COMPRESSION_ERROR", () => {
  const data = telemetryCorpus(100_000);
  const frame = zstd.compress(data);
  rejects(() => zstd.decompress(new Uint8Array(0), 100), /not a zstd frame/);
  rejects(() => zstd.decompress(new TextEncoder().encode("definitely not zstd"), 100), /not a zstd frame/);
  rejects(() => zstd.decompress(frame.subarray(0, frame.length - 5), data.length), /zstd/);
  const corrupt = frame.slice(); for (let i = 40; i < 60; i++) corrupt[i] ^= 0x5a;
  rejects(() => zstd.decompress(corrupt, data.length), /zstd/);
  // The CLI frame carries a content checksum: flip its last byte.
  const cli = fixture("zstd-cli-l3.zst").slice(); cli[cli.length - 1] ^= 1;
  rejects(() => zstd.decompress(cli, 300_000), /zstd/);
  for (let n = 0; n < frame.length; n += 211) rejects(() => zstd.decompress(frame.subarray(0, n), data.length), /zstd/);
});

test("zstd refuses declared sizes over maxOutputBytes and stops bombs without a size at the cap", () => {
  const bomb = zstd.compress(new Uint8Array(64 << 20));
  assert.ok(bomb.length < 10_000);
  rejects(() => zstd.decompress(bomb, 1 << 20), /declares 67108864 bytes, over maxOutputBytes 1048576/);
  // A streamed frame (no content size) expanding past the cap.
  const stream = fixture("zstd-cli-stream-nosize.zst");
  rejects(() => zstd.decompress(stream, 100_000), /exceed maxOutputBytes 100000/);
  // A content size that lies (smaller than the data): patch the frame header's size field.
  const small = zstd.compress(telemetryCorpus(1000));
  const fhd = small[4]!;
  assert.is(fhd >> 6, 1, "a 2-byte content size field (sizes 256..65791, stored minus 256)");
  const lie = small.slice();
  const sizeAt = 5 + ((fhd & 0x20) ? 0 : 1);
  new DataView(lie.buffer).setUint16(sizeAt, 900 - 256, true);
  rejects(() => zstd.decompress(lie, 1 << 20), /zstd/);
});

test.run();
