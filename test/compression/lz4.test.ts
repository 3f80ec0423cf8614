import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import lz4js from "lz4js";
import { readFileSync } from "node:fs";
import { loadLz4 } from "../../bindings/compression.ts";
import { loadCompressionCodec } from "../../src/compression/index.ts";
import { edgeCases, noise, sameBytes, telemetryCorpus } from "./corpus.ts";
import { rejectsWithCompressionError as rejects } from "./reject.ts";

const lz4 = await loadLz4();
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/compression/${name}`, import.meta.url)));
const enc = new TextEncoder();

test("xxh32 matches the published vectors", () => {
  assert.is(lz4.xxh32(new Uint8Array(0)), 0x02cc5d05);
  assert.is(lz4.xxh32(enc.encode("a")), 0x550d7456);
  assert.is(lz4.xxh32(enc.encode("abc")), 0x32d153ff);
  assert.is(lz4.xxh32(enc.encode("Nobody inspects the spammish repetition")), 0xe2293b2f);
  assert.is(lz4.xxh32(new Uint8Array(0), 0x9e3779b1), 0x36b78ae7);
});

test("lz4 writes a frame header every Kafka reader takes: magic, FLG 0x60 (independent blocks), BD 0x50 (256 KiB), correct HC", () => {
  const frame = lz4.compress(enc.encode("hello"));
  assert.equal(Array.from(frame.subarray(0, 6)), [0x04, 0x22, 0x4d, 0x18, 0x60, 0x50]);
  assert.is(frame[6], (lz4.xxh32(Uint8Array.from([0x60, 0x50])) >>> 8) & 0xff);
  const java = lz4.compress(enc.encode("hello"), { blockSizeId: 4 });
  assert.equal(Array.from(java.subarray(4, 6)), [0x60, 0x40]);
  // End mark after the one block.
  assert.equal(Array.from(frame.subarray(frame.length - 4)), [0, 0, 0, 0]);
});

for (const { name, data } of edgeCases()) {
  test(`lz4 round-trips ${name}, and lz4js decodes our frame to the same bytes`, () => {
    for (const [contentChecksum, blockSizeId] of [[false, 5], [true, 5], [false, 4], [true, 7]] as const) {
      const frame = lz4.compress(data, { contentChecksum, blockSizeId });
      assert.ok(sameBytes(lz4.decompress(frame, data.length), data));
      assert.ok(sameBytes(new Uint8Array(lz4js.decompress(frame)), data));
    }
  });
}

test("lz4 decodes what lz4js wrote", () => {
  for (const data of [telemetryCorpus(300_000), noise(70_000), new Uint8Array(100_000)]) {
    assert.ok(sameBytes(lz4.decompress(new Uint8Array(lz4js.compress(data)), data.length), data));
  }
});

test("lz4 matches lz4js both ways on arbitrary inputs (property)", () => {
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    fc.array(fc.constantFrom("a", "ab", "{\"ts\":", "kafka", "\n", "0"), { maxLength: 800 }).map((a) => enc.encode(a.join(""))),
  );
  fc.assert(fc.property(arb, (data) => {
    if (!sameBytes(new Uint8Array(lz4js.decompress(lz4.compress(data))), data)) return false;
    return sameBytes(lz4.decompress(new Uint8Array(lz4js.compress(data)), data.length), data);
  }), { numRuns: 300, seed: 20261121 });
});

// Frames written by the lz4 CLI 1.9.4 (test/fixtures/compression/NOTES.md) from telemetryCorpus(n).
for (const [file, n] of [
  ["lz4-cli-B4-indep-nocrc.lz4", 100_000],
  ["lz4-cli-B4-blockcrc-contentcrc.lz4", 100_000],
  ["lz4-cli-B5-contentsize.lz4", 300_000],
  ["lz4-cli-B4-dependent.lz4", 300_000],
  ["lz4-cli-B7-hc.lz4", 300_000],
] as const) {
  test(`lz4 decodes the lz4 CLI frame ${file}`, () => {
    assert.ok(sameBytes(lz4.decompress(fixture(file), n), telemetryCorpus(n)));
  });
}

test("lz4 compresses the telemetry corpus within 5% of lz4js's ratio", () => {
  const data = telemetryCorpus(1 << 20);
  const ours = lz4.compress(data).length;
  const theirs = lz4js.compress(data).length;
  assert.ok(ours <= theirs * 1.05, `ours ${ours} vs lz4js ${theirs}`);
});

test("lz4 stores incompressible blocks raw: the frame grows by headers only", () => {
  const data = noise(200_000);
  const frame = lz4.compress(data);
  assert.ok(frame.length <= data.length + 7 + 4 * 4 + 4, `${frame.length}`);
});

test("lz4_compress writes nothing past lz4_max_compressed_length (its 8-byte literal copies overrun into that slack only)", async () => {
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL("../../build/lz4.wasm", import.meta.url)), {});
  const x = instance.exports as unknown as { memory: WebAssembly.Memory; workspaceBase(): number; reserve(n: number): number; lz4_max_compressed_length(n: number): number; lz4_compress(i: number, n: number, o: number, f: number): number };
  const telemetry = telemetryCorpus(300_000);
  const inputs = [
    ...[13, 14, 20, 31, 64, 100, 1000].map((n) => noise(n, n)),
    ...[13, 17, 40, 65_536, 65_537, 262_144 + 19].map((n) => telemetry.subarray(0, n)),
    noise(262_144 * 2 + 5, 7), Uint8Array.from({ length: 70_000 }, (_, i) => (i % 11 === 0 ? i & 0xff : 65)),
  ];
  for (const data of inputs) {
    for (const flags of [0x50, 0x41, 0x70]) {
      const inPtr = x.workspaceBase(), outPtr = inPtr + ((data.length + 7) & ~7), bound = x.lz4_max_compressed_length(data.length);
      assert.is(x.reserve(outPtr - inPtr + bound + 64), 0);
      const mem = new Uint8Array(x.memory.buffer);
      mem.set(data, inPtr);
      mem.fill(0xa5, outPtr, outPtr + bound + 64);
      const n = x.lz4_compress(inPtr, data.length, outPtr, flags);
      assert.ok(n > 0 && n <= bound, `${data.length} bytes: ${n} > bound ${bound}`);
      assert.ok(mem.subarray(outPtr + bound, outPtr + bound + 64).every((b) => b === 0xa5), `${data.length} bytes, flags ${flags}: wrote past the bound`);
      assert.ok(sameBytes(lz4.decompress(mem.slice(outPtr, outPtr + n), data.length), data));
    }
  }
});

test("the lz4 codec from the registry has attribute 3 and round-trips", async () => {
  const codec = await loadCompressionCodec("lz4");
  assert.is(codec.name, "lz4");
  assert.is(codec.attribute, 3);
  const data = telemetryCorpus(10_000);
  assert.ok(sameBytes(await codec.decompress(await codec.compress(data), 10_000), data));
});

test("lz4 rejects malformed frames with COMPRESSION_ERROR", () => {
  const data = telemetryCorpus(100_000);
  const frame = lz4.compress(data);
  rejects(() => lz4.decompress(new Uint8Array(0), 100), /truncated/);
  rejects(() => lz4.decompress(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 100), /corrupt/);
  const badHc = frame.slice(); badHc[6] ^= 0xff;
  rejects(() => lz4.decompress(badHc, data.length), /checksum/);
  // Kafka's old broken header checksum (xxh32 over magic + FLG + BD) is refused for v2 batches.
  const broken = frame.slice(); broken[6] = (lz4.xxh32(frame.subarray(0, 6)) >>> 8) & 0xff;
  if (broken[6] !== frame[6]) rejects(() => lz4.decompress(broken, data.length), /checksum/);
  rejects(() => lz4.decompress(frame.subarray(0, frame.length - 1), data.length), /truncated/);
  rejects(() => lz4.decompress(frame.subarray(0, 2000), data.length), /truncated/);
  // A block size field larger than the frame's block maximum.
  const big = frame.slice(); new DataView(big.buffer).setUint32(7, 0x20000, true);
  rejects(() => lz4.decompress(big, data.length), /corrupt|truncated/);
  // Dictionary ids are unsupported.
  const dict = Uint8Array.from([0x04, 0x22, 0x4d, 0x18, 0x61, 0x40, 0, 0, 0, 0, 0]);
  dict[10] = (lz4.xxh32(Uint8Array.from([0x61, 0x40, 0, 0, 0, 0])) >>> 8) & 0xff;
  rejects(() => lz4.decompress(dict, 100), /unsupported/);
  // Every truncation fails cleanly, never crashes.
  for (let n = 0; n < frame.length; n += 101) rejects(() => lz4.decompress(frame.subarray(0, n), data.length), /./);
});

test("lz4 rejects bad block and content checksums", () => {
  const withContent = lz4.compress(telemetryCorpus(50_000), { contentChecksum: true });
  const bad = withContent.slice(); bad[bad.length - 1] ^= 1;
  rejects(() => lz4.decompress(bad, 50_000), /checksum/);
  const cli = fixture("lz4-cli-B4-blockcrc-contentcrc.lz4");
  // The first block's checksum follows its data: flip a byte inside the first block.
  const flipped = cli.slice(); flipped[7 + 4 + 100] ^= 0x01;
  rejects(() => lz4.decompress(flipped, 100_000), /checksum|corrupt/);
  const blockSize = new DataView(cli.buffer, cli.byteOffset).getUint32(7, true) & 0x7fffffff;
  const badBlockCrc = cli.slice(); badBlockCrc[7 + 4 + blockSize] ^= 0x01;
  rejects(() => lz4.decompress(badBlockCrc, 100_000), /checksum/);
});

test("lz4 with a declared content size that lies is rejected; a bomb stops at maxOutputBytes", () => {
  const cli = fixture("lz4-cli-B5-contentsize.lz4");
  // Rewrite the content size (8 bytes after FLG/BD) and fix the header checksum so only the lie remains.
  const lie = cli.slice();
  new DataView(lie.buffer).setUint32(6, 299_999, true);
  lie[14] = (lz4.xxh32(lie.subarray(4, 14)) >>> 8) & 0xff;
  rejects(() => lz4.decompress(lie, 1 << 20), /differs|exceed/);
  rejects(() => lz4.decompress(cli, 100_000), /exceed maxOutputBytes 100000/);
  const bomb = lz4.compress(new Uint8Array(16 << 20));
  assert.ok(bomb.length < 100_000);
  rejects(() => lz4.decompress(bomb, 1 << 20), /exceed maxOutputBytes 1048576/);
});

test.run();
