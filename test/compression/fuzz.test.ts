// Mutation fuzzing of the decoders: valid frames with flipped bytes, cut tails, inserted garbage and
// rewritten length fields must decode to something within the cap or fail with COMPRESSION_ERROR,
// never trap, hang or allocate past the cap. Seeded, so a failure reproduces.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadLz4, loadSnappy, loadZstd } from "../../bindings/compression.ts";
import { gzipCodec } from "../../src/compression/gzip.ts";
import { ClientError } from "../../src/errors.ts";
import { telemetryCorpus } from "./corpus.ts";

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const b = src.slice();
  const kind = Math.floor(rnd() * 5);
  const at = Math.floor(rnd() * b.length);
  if (kind === 0) { for (let k = 0; k < 1 + rnd() * 4; k++) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8); return b; }
  if (kind === 1) return b.subarray(0, at);
  if (kind === 2) { const g = new Uint8Array(1 + Math.floor(rnd() * 40)); for (let i = 0; i < g.length; i++) g[i] = rnd() * 256; return new Uint8Array([...b.subarray(0, at), ...g, ...b.subarray(at)]); }
  if (kind === 3) { for (let k = 0; k < 4 && at + k < b.length; k++) b[at + k] = 0xff; return b; }
  b[at] = 0; return b;
}

const inputs = [telemetryCorpus(3000, 11), telemetryCorpus(70_000, 12), new Uint8Array(5000)];
const CAP = 200_000;

function expectBounded(name: string, f: () => Uint8Array): void {
  try {
    const out = f();
    assert.ok(out.length <= CAP, `${name}: ${out.length} bytes over the cap`);
  } catch (e) {
    assert.instance(e, ClientError, `${name}: ${(e as Error)?.stack}`);
    assert.is((e as ClientError).code, "COMPRESSION_ERROR");
  }
}

test("snappy, lz4 and zstd decoders survive 1,500 mutated frames each: output within the cap or COMPRESSION_ERROR", async () => {
  const snappy = await loadSnappy(), lz4 = await loadLz4(), zstd = await loadZstd();
  const codecs: [string, (d: Uint8Array) => Uint8Array, (d: Uint8Array) => Uint8Array][] = [
    ["snappy", (d) => snappy.compress(d), (d) => snappy.decompress(d, CAP)],
    ["snappy raw", (d) => snappy.compress(d, { framing: "raw" }), (d) => snappy.decompress(d, CAP)],
    ["lz4", (d) => lz4.compress(d, { contentChecksum: true }), (d) => lz4.decompress(d, CAP)],
    ["zstd", (d) => zstd.compress(d), (d) => zstd.decompress(d, CAP)],
  ];
  for (const [name, compress, decompress] of codecs) {
    const rnd = prng(name.length * 7919);
    for (const input of inputs) {
      const frame = compress(input);
      for (let i = 0; i < 500; i++) expectBounded(name, () => decompress(mutate(frame, rnd)));
    }
    // The instance stays usable after all that.
    assert.equal(Array.from(decompress(compress(inputs[0]!)).subarray(0, 10)), Array.from(inputs[0]!.subarray(0, 10)));
  }
});

test("gzip decoder survives 200 mutated streams: output within the cap or COMPRESSION_ERROR", async () => {
  const rnd = prng(4242);
  const gz = await gzipCodec.compress(inputs[1]!);
  for (let i = 0; i < 200; i++) {
    try {
      const out = await gzipCodec.decompress(mutate(gz, rnd), CAP);
      assert.ok(out.length <= CAP);
    } catch (e) {
      assert.is((e as ClientError).code, "COMPRESSION_ERROR", String(e));
    }
  }
});

test.run();
