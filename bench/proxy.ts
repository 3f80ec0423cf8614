/**
 * bench/proxy: one Node producer (src/index.ts, linger 5 ms, 1 MB batches) on the librdkafka mock
 * cluster, three ways, in one run:
 *   - direct:    the default node:net transport;
 *   - kafkasm:   websocketTransport (ws) through `kafkasm proxy` (the CLI, its own process);
 *   - websockify: websocketTransport through Debian's websockify, one per broker (URL map).
 * Per path: records/s of N × B-byte records (runPerf, first send to last ack, in a fresh producer after a
 * warm-up), sync latency p50/p99 over single awaited sends (linger 0), and the CPU time the relay's
 * process tree used during the throughput run (utime + stime from /proc/<pid>/stat, children included)
 * divided by the MiB of record values it carried. Added p99 = the path's sync p99 − direct's.
 * Every run's record count is checked against the topic's offsets.
 *   npm run bench:proxy [-- --records N --record-size B --latency-sends N --paths direct,kafkasm,websockify]
 * Writes bench/results/proxy.json and proxy.svg. Targets (issue 14): kafkasm ≥ 0.8 × direct, ≥ 2 × websockify.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { quantile, randomPayload, runPerf, type PerfProducer } from "../src/cli/perf.ts";
import { Producer } from "../src/index.ts";
import { websocketTransport } from "../src/transport/websocket.ts";
import { startCluster } from "../test/harness/cluster.ts";
import { queryOffsets } from "../test/harness/kcat.ts";
import { freePort } from "../test/harness/net.ts";
import { targetLine, writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PATHS = ["direct", "kafkasm", "websockify"] as const;
type Path = (typeof PATHS)[number];

const spec = {
  records: { type: "number", default: Number(process.env.BENCH_RECORDS ?? 300_000), integer: true, min: 1, description: "records per throughput run" },
  "record-size": { type: "number", default: 100, integer: true, min: 1, description: "bytes per record value" },
  "latency-sends": { type: "number", default: 2000, integer: true, min: 10, description: "single awaited sends for sync latency (after 200 warm-up sends)" },
  warmup: { type: "number", default: 20_000, integer: true, min: 0, description: "records sent (and acknowledged) before the timed run" },
  paths: { type: "string", default: PATHS.join(","), description: "direct,kafkasm,websockify" },
  partitions: { type: "number", default: 6, integer: true, min: 1, description: "partitions of the topic" },
  out: { type: "string", default: join(root, "bench/results/proxy.json"), description: "JSON results file" },
  "relay-prof": { type: "string", default: "", description: "directory for a CPU profile of kafkasm proxy (node --cpu-prof)" },
} as const satisfies OptionSpecs;

const log = (s: string) => process.stderr.write(s + "\n");
const round = (n: number, d = 3) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : null);
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux.

/** CPU seconds (user + system) of a process and all its live descendants (websockify forks one per connection). */
function treeCpuSeconds(pid: number): number {
  const stat = new Map<number, { ppid: number; cpu: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      // Fields after "(comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based from pid.
      stat.set(Number(d), { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch { /* exited meanwhile */ }
  }
  let total = 0;
  const walk = (p: number) => {
    total += stat.get(p)?.cpu ?? 0;
    for (const [c, v] of stat) if (v.ppid === p) walk(c);
  };
  walk(pid);
  return total / TICK;
}

/** Spawns a relay and waits until its port accepts TCP connections. */
async function spawnListening(cmd: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const { connect } = await import("node:net");
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => { const s = connect(port, "127.0.0.1", () => { s.destroy(); r(true); }); s.on("error", () => r(false)); });
    if (ok) return child;
    if (child.exitCode !== null || Date.now() > deadline) { child.kill("SIGKILL"); throw new Error(`${cmd} did not listen on ${port}: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const stop = (c: ChildProcess) => new Promise<void>((r) => {
  if (c.exitCode !== null) return r();
  const t = setTimeout(() => c.kill("SIGKILL"), 5000);
  c.once("exit", () => { clearTimeout(t); r(); });
  c.kill("SIGTERM");
});

interface Row {
  path: Path; records: number; seconds: number; recordsPerSec: number; mbPerSec: number;
  syncP50Ms: number | null; syncP99Ms: number | null; addedP99Ms: number | null;
  relayCpuSeconds: number | null; relayCpuMsPerMb: number | null; verified: boolean;
}

async function main(): Promise<number> {
  const { options: a } = parseArgs(process.argv.slice(2), spec);
  const paths = a.paths.split(",").map((s) => s.trim()).filter(Boolean) as Path[];
  for (const p of paths) if (!PATHS.includes(p)) throw new Error(`unknown path ${p}; known: ${PATHS.join(", ")}`);
  const cluster = await startCluster({ brokers: 3 });
  const stamp = Date.now().toString(36);
  const rows: Row[] = [];
  log(`bench/proxy: ${a.records.toLocaleString("en-US")} × ${a.recordSize} B records, ${a.partitions} partitions, 3-broker mock cluster at ${cluster.bootstrap}`);
  try {
    for (const path of paths) {
      const topic = `bench-proxy-${path}-${stamp}`;
      await cluster.createTopic(topic, a.partitions);
      let relay: ChildProcess[] = [];
      let transport: ReturnType<typeof websocketTransport> | undefined;
      if (path === "kafkasm") {
        const port = await freePort();
        const prof = a.relayProf ? ["--cpu-prof", "--cpu-prof-dir", a.relayProf] : [];
        relay = [await spawnListening(process.execPath, [...prof, "--import", "tsx", "src/cli/main.ts", "proxy", "--listen", `127.0.0.1:${port}`,
          "--allow", cluster.brokers.map((b) => `${b.host}:${b.port}`).join(","), "--token", "bench"], port)];
        transport = websocketTransport({ url: `ws://127.0.0.1:${port}/broker/{host}:{port}`, token: "bench", WebSocket: WebSocket as never });
      } else if (path === "websockify") {
        const urlMap: Record<string, string> = {};
        for (const b of cluster.brokers) {
          const port = await freePort();
          relay.push(await spawnListening("websockify", [`127.0.0.1:${port}`, `${b.host}:${b.port}`], port));
          urlMap[`${b.host}:${b.port}`] = `ws://127.0.0.1:${port}`;
        }
        transport = websocketTransport({ url: urlMap, protocols: ["binary"], WebSocket: WebSocket as never });
      }
      try {
        log(`  ${path} …`);
        const producer = new Producer({ brokers: [cluster.brokers[0]!.host + ":" + cluster.brokers[0]!.port], lingerMs: 5, batchSize: 1_000_000, clientId: `bench-proxy-${path}`, ...(transport ? { transport } : {}) });
        const perf = { topic, recordSize: a.recordSize };
        if (a.warmup) await runPerf(producer as unknown as PerfProducer, { ...perf, records: a.warmup });
        const cpu0 = relay.reduce((s, c) => s + treeCpuSeconds(c.pid!), 0);
        const r = await runPerf(producer as unknown as PerfProducer, { ...perf, records: a.records });
        // Sampled before close: websockify's per-connection children are still alive.
        const cpu = relay.length ? relay.reduce((s, c) => s + treeCpuSeconds(c.pid!), 0) - cpu0 : NaN;
        await producer.close();
        if (r.failed) throw new Error(`${path}: ${r.failed} records failed: ${r.firstError}`);
        // Sync latency: a fresh producer, linger 0, single awaited sends.
        const sync = new Producer({ brokers: [cluster.brokers[0]!.host + ":" + cluster.brokers[0]!.port], lingerMs: 0, clientId: `bench-proxy-${path}-sync`, ...(transport ? { transport } : {}) });
        const value = randomPayload(a.recordSize);
        for (let i = 0; i < 200; i++) await sync.send({ topic, value });
        const t = new Float64Array(a.latencySends);
        for (let i = 0; i < t.length; i++) { const t0 = performance.now(); await sync.send({ topic, value }); t[i] = performance.now() - t0; }
        await sync.close();
        t.sort();
        const counted = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0);
        const expected = a.warmup + a.records + 200 + a.latencySends;
        const mib = (a.records * a.recordSize) / 1048576;
        const row: Row = {
          path, records: a.records, seconds: round(r.seconds)!, recordsPerSec: Math.round(a.records / r.seconds), mbPerSec: round(mib / r.seconds, 2)!,
          syncP50Ms: round(quantile(t, 0.5)), syncP99Ms: round(quantile(t, 0.99)), addedP99Ms: null,
          relayCpuSeconds: round(cpu, 2), relayCpuMsPerMb: round((cpu * 1000) / mib, 2), verified: counted === expected,
        };
        rows.push(row);
        log(`    ${row.recordsPerSec.toLocaleString("en-US")} records/s, sync p99 ${row.syncP99Ms} ms, relay CPU ${row.relayCpuMsPerMb ?? "-"} ms/MiB, count ${row.verified ? "ok" : `BAD (${counted}, expected ${expected})`}`);
      } finally {
        await Promise.all(relay.map(stop));
      }
    }
  } finally {
    await cluster.stop();
  }
  const direct = rows.find((r) => r.path === "direct");
  for (const r of rows) if (direct?.syncP99Ms != null && r.syncP99Ms != null && r !== direct) r.addedP99Ms = round(r.syncP99Ms - direct.syncP99Ms);
  const ours = rows.find((r) => r.path === "kafkasm");
  const ratio = (peer: Path) => { const p = rows.find((r) => r.path === peer); return ours && p ? ours.recordsPerSec / p.recordsPerSec : NaN; };

  const head = ["path", "records/s", "MiB/s", "kafkasm ×", "sync p50", "sync p99", "added p99", "relay CPU", "count"];
  const body = rows.map((r) => [r.path, r.recordsPerSec.toLocaleString("en-US"), r.mbPerSec.toFixed(1),
    ours && r !== ours ? `${(ours.recordsPerSec / r.recordsPerSec).toFixed(2)}×` : "",
    `${r.syncP50Ms?.toFixed(3)} ms`, `${r.syncP99Ms?.toFixed(3)} ms`, r.addedP99Ms == null ? "-" : `${r.addedP99Ms.toFixed(3)} ms`,
    r.relayCpuMsPerMb == null ? "-" : `${r.relayCpuMsPerMb.toFixed(1)} ms/MiB`, r.verified ? "ok" : "BAD"]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => "  " + c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  const out = ["", `bench/proxy: ${a.records.toLocaleString("en-US")} × ${a.recordSize} B, one Node producer (linger 5 ms)`, line(head), line(widths.map((w) => "─".repeat(w))), ...body.map(line), ""];
  const targets: { target: string; measured: string; ok: boolean }[] = [];
  if (Number.isFinite(ratio("direct"))) targets.push({ target: "kafkasm proxy ≥ 0.8 × direct TCP", measured: `${ratio("direct").toFixed(2)} ×`, ok: ratio("direct") >= 0.8 });
  if (Number.isFinite(ratio("websockify"))) targets.push({ target: "kafkasm proxy ≥ 2 × websockify", measured: `${ratio("websockify").toFixed(2)} ×`, ok: ratio("websockify") >= 2 });
  if (targets.length) out.push("targets (issue 14):", ...targets.map((t) => targetLine(t.ok, t.target, t.measured)), "");
  out.push("relay CPU = CPU time of the relay's processes during the timed run ÷ MiB of record values. Added p99 = sync p99 − direct's.",
    "The producer, the relay and the mock share one machine (2 cores, other jobs running): figures are noisy.");
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify({ date: new Date().toISOString(), node: process.version, machine: { cpus: cpus().length, note: "shared machine; noisy" },
    records: a.records, recordSize: a.recordSize, partitions: a.partitions, latencySends: a.latencySends, results: rows, targets }, null, 2) + "\n");
  const svgPath = writeSvg(a.out, `kafkasm proxy vs direct TCP vs websockify (${a.records.toLocaleString("en-US")} × ${a.recordSize} B)`, [
    { title: "throughput", unit: "records/s", bars: rows.map((r) => ({ label: r.path, value: r.recordsPerSec, ours: r.path === "kafkasm" })),
      ...(direct ? { target: { value: 0.8 * direct.recordsPerSec, label: "0.8 × direct" } } : {}) },
    { title: "sync send p99", unit: "ms", bars: rows.map((r) => ({ label: r.path, value: r.syncP99Ms ?? NaN, ours: r.path === "kafkasm" })) },
    { title: "relay CPU per MiB", unit: "ms", bars: rows.filter((r) => r.relayCpuMsPerMb != null).map((r) => ({ label: r.path, value: r.relayCpuMsPerMb!, ours: r.path === "kafkasm" })) },
  ], "shared 2-core machine; one run; noisy");
  log(`wrote ${a.out} and ${svgPath}`);
  return rows.every((r) => r.verified) ? 0 : 1;
}

process.exitCode = await main();
