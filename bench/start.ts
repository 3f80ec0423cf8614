/**
 * bench/start: a script that starts, produces one record and ends — what a Deno script, a cron job or a
 * serverless function does on every run. Each run is a fresh process on the local mock cluster that
 * imports the client as shipped (kafkasm: dist/node, dist/deno, dist/bun; KafkaJS and @platformatic/kafka
 * from node_modules), makes a producer, sends one 100-byte record (linger 0), waits for its acknowledgement,
 * closes the producer and ends by itself. kcat does the same from the shell (`kcat -P -c 1`).
 * Parts, timed inside the process from its time origin (process start):
 *   runtime    process start → the script's first line (the runtime's own start-up);
 *   import     the client's import (parse, compile, the codec's WebAssembly);
 *   first ack  new producer → send() resolved (connect, ApiVersions, Metadata, Produce);
 *   close      close() resolved;
 * and wall, timed here: spawn → exit (so it also covers the process's teardown). RSS is the process's at
 * the first ack. One unmeasured run per client first (file cache, Deno's code cache). Every record is
 * checked in Kafka: the topic holds exactly one record per run. Medians over the runs, p90 beside them.
 *   npm run bench:start [-- --runs 15 --clients kafkasm-node,kafkasm-deno,kafkasm-bun,kafkajs,platformatic,kcat]
 * Writes bench/results/start.json and start.svg; prints kafkasm (Node) against each peer on wall time.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { quantile } from "../src/cli/perf.ts";
import { startCluster } from "../test/harness/cluster.ts";
import { queryOffsets } from "../test/harness/kcat.ts";
import { writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => join(root, "node_modules/.bin", name);
const CLIENTS = ["kafkasm-node", "kafkasm-deno", "kafkasm-bun", "kafkajs", "platformatic", "kcat"] as const;
type Client = (typeof CLIENTS)[number];

const spec = {
  runs: { type: "number", default: Number(process.env.BENCH_RUNS ?? 15), integer: true, min: 1, description: "measured runs (fresh processes) per client" },
  clients: { type: "string", default: process.env.BENCH_CLIENTS ?? CLIENTS.join(","), description: "clients to run" },
  out: { type: "string", default: join(root, "bench/results/start.json"), description: "JSON results file" },
} as const satisfies OptionSpecs;

const log = (s: string) => process.stderr.write(s + "\n");

/**
 * The child script: plain JavaScript (no loader between the runtime and the client), one per client.
 * `produce` is the body that makes a producer, sends one record and resolves when it is acknowledged,
 * `close` the one that closes it.
 */
function childSource(entry: string, produce: string, close: string): string {
  return `const runtimeMs = performance.now();
const [bootstrap, topic] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const value = new TextEncoder().encode("x".repeat(100));
const mod = await import(${JSON.stringify(entry)});
const imported = performance.now();
${produce}
const acked = performance.now();
const rss = typeof Deno !== "undefined" ? Deno.memoryUsage().rss : process.memoryUsage().rss;
${close}
const closed = performance.now();
console.log(JSON.stringify({ runtimeMs, importMs: imported - runtimeMs, firstAckMs: acked - imported, closeMs: closed - acked, rssMb: rss / 1048576 }));
`;
}

const KAFKASM_PRODUCE = `const producer = new mod.Producer({ brokers: bootstrap.split(","), lingerMs: 0, clientId: "bench-start" });
await producer.send({ topic, value });`;
const KAFKASM_CLOSE = "await producer.close();";

interface Child { cmd: string; args: (bootstrap: string, topic: string) => string[]; script?: string }

function children(cacheDir: string): Record<Client, Child> {
  const url = (p: string) => pathToFileURL(join(root, p)).href;
  const script = (name: string, source: string) => {
    const file = join(cacheDir, `start-${name}.mjs`);
    writeFileSync(file, source);
    return file;
  };
  const kafkasm = (dist: string) => script(`kafkasm-${dist}`, childSource(url(`dist/${dist}/index.js`), KAFKASM_PRODUCE, KAFKASM_CLOSE));
  const node = (file: string): Child => ({ cmd: bin("node"), args: (b, t) => [file, b, t], script: file });
  return {
    "kafkasm-node": node(kafkasm("node")),
    "kafkasm-deno": { cmd: bin("deno"), args: (b, t) => ["run", "--quiet", "--no-prompt", "--allow-net=127.0.0.1", `--allow-read=${join(root, "dist/deno")}`, kafkasm("deno"), b, t] },
    "kafkasm-bun": { cmd: bin("bun"), args: (b, t) => [kafkasm("bun"), b, t] },
    kafkajs: node(script("kafkajs", childSource("kafkajs",
      `const { Kafka, logLevel } = mod.default;
const producer = new Kafka({ clientId: "bench-start", brokers: bootstrap.split(","), logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
await producer.connect();
await producer.send({ topic, acks: 1, messages: [{ value: Buffer.from(value) }] });`, "await producer.disconnect();"))),
    platformatic: node(script("platformatic", childSource("@platformatic/kafka",
      `const producer = new mod.Producer({ clientId: "bench-start", bootstrapBrokers: bootstrap.split(","), acks: 1, autocreateTopics: false });
await producer.send({ messages: [{ topic, value: Buffer.from(value) }] });`, "await producer.close();"))),
    kcat: { cmd: "kcat", args: (b, t) => ["-P", "-b", b, "-t", t, "-c", "1", "-X", "linger.ms=0"] },
  };
}

interface Parts { runtimeMs: number; importMs: number; firstAckMs: number; closeMs: number; rssMb: number }
interface Run { wallMs: number; parts?: Parts }

function runOnce(c: Child, bootstrap: string, topic: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(c.cmd, c.args(bootstrap, topic), { cwd: root, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end("x".repeat(100) + "\n"); // kcat's record; the others ignore stdin
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - start;
      if (code !== 0) return reject(new Error(`${c.cmd} exited with ${code}: ${stderr.slice(-600)}`));
      const last = stdout.trim().split("\n").pop() ?? "";
      resolve({ wallMs, parts: last.startsWith("{") ? JSON.parse(last) as Parts : undefined });
    });
  });
}

interface Row {
  client: Client; runs: number;
  wallMs: { p50: number; p90: number };
  runtimeMs?: number; importMs?: number; firstAckMs?: number; closeMs?: number; rssMb?: number;
}

const med = (xs: number[]) => quantile(Float64Array.from(xs).sort(), 0.5);
const round = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? undefined : Math.round(n * 10 ** d) / 10 ** d);

async function main(): Promise<number> {
  const { options: o } = parseArgs(process.argv.slice(2), spec);
  const clients = o.clients.split(",").map((s) => s.trim()).filter(Boolean) as Client[];
  for (const c of clients) if (!CLIENTS.includes(c)) throw new Error(`unknown client ${c} (${CLIENTS.join(", ")})`);
  const cacheDir = join(root, "node_modules/.cache/kafkasm-bench");
  mkdirSync(cacheDir, { recursive: true });
  const kinds = children(cacheDir);
  const node = (await new Promise<string>((r) => { const p = spawn(bin("node"), ["--version"]); let s = ""; p.stdout.on("data", (d) => (s += d)); p.on("close", () => r(s.trim())); }));
  log(`bench/start: ${o.runs} fresh processes per client, each produces one 100 B record and ends (Node ${node}, on the local mock cluster)`);
  const cluster = await startCluster({ brokers: 3 });
  const rows: Row[] = [];
  let bad = 0;
  try {
    for (const client of clients) {
      const topic = `bench-start-${client}-${Date.now().toString(36)}`;
      await cluster.createTopic(topic, 6);
      const c = kinds[client];
      await runOnce(c, cluster.bootstrap, topic); // unmeasured: file cache, Deno's code cache
      const runs: Run[] = [];
      for (let i = 0; i < o.runs; i++) runs.push(await runOnce(c, cluster.bootstrap, topic));
      const stored = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high - p.low, 0);
      if (stored !== o.runs + 1) { bad++; log(`  ${client}: BAD, ${stored} records in ${topic}, expected ${o.runs + 1}`); }
      const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b);
      const parts = runs.map((r) => r.parts).filter((p): p is Parts => p !== undefined);
      const part = (k: keyof Parts) => (parts.length ? round(med(parts.map((p) => p[k]))) : undefined);
      const row: Row = { client, runs: o.runs, wallMs: { p50: round(quantile(walls, 0.5))!, p90: round(quantile(walls, 0.9))! },
        runtimeMs: part("runtimeMs"), importMs: part("importMs"), firstAckMs: part("firstAckMs"), closeMs: part("closeMs"), rssMb: part("rssMb") };
      rows.push(row);
      log(`  ${client.padEnd(13)} wall ${row.wallMs.p50} ms (p90 ${row.wallMs.p90})` + (parts.length
        ? `: runtime ${row.runtimeMs}, import ${row.importMs}, first ack ${row.firstAckMs}, close ${row.closeMs} ms; RSS ${row.rssMb} MB` : ""));
    }
  } finally {
    await cluster.stop();
  }
  const ours = rows.find((r) => r.client === "kafkasm-node");
  const lines = ["", "client         wall p50  wall p90  runtime  import  first ack  close   RSS at ack  wall ÷ kafkasm-node's"];
  for (const r of rows) {
    const ms = (n: number | undefined) => (n === undefined ? "-" : `${n.toFixed(1)}`).padStart(7);
    const ratio = ours && r !== ours ? `${(r.wallMs.p50 / ours.wallMs.p50).toFixed(2)} ×` : "";
    lines.push(`${r.client.padEnd(13)} ${ms(r.wallMs.p50)} ms ${ms(r.wallMs.p90)} ms ${ms(r.runtimeMs)} ${ms(r.importMs)} ${ms(r.firstAckMs)}   ${ms(r.closeMs)} ${(r.rssMb === undefined ? "-" : `${r.rssMb.toFixed(0)} MB`).padStart(9)}  ${ratio}`);
  }
  lines.push("Times in ms, medians over fresh processes (p90 of wall beside). Above 1 ×: that client takes longer than kafkasm on Node.");
  console.log(lines.join("\n"));
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify({ date: new Date().toISOString(), node, runs: o.runs, recordBytes: 100, rows }, null, 2) + "\n");
  const svgPath = writeSvg(o.out, "Start, produce one record, end: a fresh process per run (local mock cluster)", [
    { title: "Wall time, spawn to exit (median)", unit: "ms", bars: rows.map((r) => ({ label: r.client, value: r.wallMs.p50, ours: r.client.startsWith("kafkasm") })) },
    { title: "Import of the client (median)", unit: "ms", bars: rows.filter((r) => r.importMs !== undefined).map((r) => ({ label: r.client, value: r.importMs!, ours: r.client.startsWith("kafkasm") })) },
    { title: "New producer to first acknowledgement (median)", unit: "ms", bars: rows.filter((r) => r.firstAckMs !== undefined).map((r) => ({ label: r.client, value: r.firstAckMs!, ours: r.client.startsWith("kafkasm") })) },
    { title: "RSS at the first acknowledgement (median)", unit: "MB", bars: rows.filter((r) => r.rssMb !== undefined).map((r) => ({ label: r.client, value: r.rssMb!, ours: r.client.startsWith("kafkasm") })) },
  ], `${o.runs} runs per client, Node ${node}; kcat: wall time only`);
  log(`wrote ${o.out}\nwrote ${svgPath}`);
  return bad ? 1 : 0;
}

process.exitCode = await main();
