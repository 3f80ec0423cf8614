/**
 * Compression throughput and ratio per codec on the deterministic telemetry corpus
 * (test/compression/corpus.ts), kafkasm vs the best npm implementations, at batch sizes that
 * matter for Kafka (16 KiB - 1 MiB). Inputs are built before timing; each cell is the median of
 * 5 timed runs of ≥ 150 ms. Writes bench/results/compression.json and prints a table.
 * Targets (issue 5): lz4 and snappy compress ≥ 2 × the fastest pure-JS implementation at a ratio
 * within 5 %.  Run: npm run bench:compression
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import zlib from "node:zlib";
import * as fflate from "fflate";
import SnappyJS from "snappyjs";
import lz4js from "lz4js";
import * as bokuweb from "@bokuweb/zstd-wasm";
import { loadLz4, loadSnappy, loadZstd } from "../bindings/compression.ts";
import { gzipCodec } from "../src/compression/gzip.ts";
import { telemetryCorpus } from "../test/compression/corpus.ts";

type Fn = (d: Uint8Array) => Uint8Array | Promise<Uint8Array>;
interface Impl { codec: string; name: string; kind: "kafkasm" | "pure JS" | "native" | "WASM"; compress: Fn; decompress: (c: Uint8Array, n: number) => Uint8Array | Promise<Uint8Array> }

const [snappy, lz4, zstd] = await Promise.all([loadSnappy(), loadLz4(), loadZstd()]);
await bokuweb.init();

const impls: Impl[] = [
  { codec: "snappy", name: "kafkasm snappy (WASM, xerial)", kind: "kafkasm", compress: (d) => snappy.compress(d), decompress: (c, n) => snappy.decompress(c, n) },
  { codec: "snappy", name: "snappyjs 0.7", kind: "pure JS", compress: (d) => SnappyJS.compress(d), decompress: (c) => SnappyJS.uncompress(c) },
  { codec: "lz4", name: "kafkasm lz4 (WASM, frame)", kind: "kafkasm", compress: (d) => lz4.compress(d), decompress: (c, n) => lz4.decompress(c, n) },
  { codec: "lz4", name: "lz4js 0.2", kind: "pure JS", compress: (d) => lz4js.compress(d), decompress: (c) => lz4js.decompress(c) },
  { codec: "gzip", name: "kafkasm gzip (CompressionStream)", kind: "kafkasm", compress: (d) => gzipCodec.compress(d), decompress: (c, n) => gzipCodec.decompress(c, n) },
  { codec: "gzip", name: "fflate 0.8 gzipSync", kind: "pure JS", compress: (d) => fflate.gzipSync(d), decompress: (c) => fflate.gunzipSync(c) },
  { codec: "gzip", name: "node:zlib gzipSync", kind: "native", compress: (d) => zlib.gzipSync(d), decompress: (c) => zlib.gunzipSync(c) },
  { codec: "zstd", name: "kafkasm zstd (reference WASM, level 3)", kind: "kafkasm", compress: (d) => zstd.compress(d, 3), decompress: (c, n) => zstd.decompress(c, n) },
  { codec: "zstd", name: "@bokuweb/zstd-wasm 0.0.27 level 3", kind: "WASM", compress: (d) => bokuweb.compress(d, 3), decompress: (c) => bokuweb.decompress(c) },
];

async function timeIt(f: () => unknown, bytes: number): Promise<number> {
  await f();
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t0 = performance.now();
    let dt = 0;
    do { await f(); n++; dt = performance.now() - t0; } while (dt < 150);
    runs.push((bytes * n) / 1e6 / (dt / 1000));
  }
  runs.sort((a, b) => a - b);
  return runs[2]!;
}

const sizes = [16 << 10, 64 << 10, 256 << 10, 1 << 20];
const corpus = telemetryCorpus(1 << 20);
const rows: { codec: string; impl: string; kind: string; size: number; compressMBps: number; decompressMBps: number; ratio: number }[] = [];
for (const size of sizes) {
  const data = corpus.subarray(0, size).slice();
  for (const impl of impls) {
    const compressed = await impl.compress(data);
    const back = await impl.decompress(compressed, size);
    if (back.length !== size) throw new Error(`${impl.name}: round trip failed at ${size}`);
    const compressMBps = await timeIt(() => impl.compress(data), size);
    const decompressMBps = await timeIt(() => impl.decompress(compressed, size), size);
    rows.push({ codec: impl.codec, impl: impl.name, kind: impl.kind, size, compressMBps: +compressMBps.toFixed(1), decompressMBps: +decompressMBps.toFixed(1), ratio: +(size / compressed.length).toFixed(3) });
    process.stderr.write(".");
  }
}
process.stderr.write("\n");

const targets = ["snappy", "lz4"].flatMap((codec) => sizes.map((size) => {
  const ours = rows.find((r) => r.codec === codec && r.size === size && r.kind === "kafkasm")!;
  const js = rows.filter((r) => r.codec === codec && r.size === size && r.kind === "pure JS").sort((a, b) => b.compressMBps - a.compressMBps)[0]!;
  const speedup = ours.compressMBps / js.compressMBps;
  const ratioGap = 1 - ours.ratio / js.ratio;
  return { codec, size, speedup: +speedup.toFixed(2), ratioVsJs: +(ours.ratio / js.ratio).toFixed(3), met: speedup >= 2 && ratioGap <= 0.05 };
}));

const result = {
  date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model,
  note: "shared 2-core machine; numbers are noisy", corpus: "telemetryCorpus (test/compression/corpus.ts), prefix of the given size",
  rows, targets,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/compression.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");

const kib = (n: number) => (n >= 1 << 20 ? `${n >> 20} MiB` : `${n >> 10} KiB`);
console.log(`${"codec".padEnd(7)} ${"implementation".padEnd(40)} ${"size".padStart(7)} ${"compress MB/s".padStart(14)} ${"decompress MB/s".padStart(16)} ${"ratio".padStart(7)}`);
for (const r of rows) console.log(`${r.codec.padEnd(7)} ${r.impl.padEnd(40)} ${kib(r.size).padStart(7)} ${r.compressMBps.toFixed(1).padStart(14)} ${r.decompressMBps.toFixed(1).padStart(16)} ${r.ratio.toFixed(2).padStart(7)}`);
console.log("\ntargets: kafkasm compress ≥ 2 × fastest pure JS, ratio within 5 %");
for (const t of targets) console.log(`  ${t.codec.padEnd(7)} ${kib(t.size).padStart(7)}  ${t.speedup.toFixed(2)}×  ratio ${(t.ratioVsJs * 100).toFixed(1)} % of JS  ${t.met ? "met" : "NOT met"}`);
