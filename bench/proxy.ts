/**
 * bench/proxy: one Node producer (src/index.ts, linger 5 ms, 1 MB batches) on the librdkafka mock
 * cluster, three ways, in one run:
 *   - direct:    the default node:net transport;
 *   - kafkasm:   websocketTransport (ws) through `kafkasm proxy` (the CLI, its own process);
 *   - websockify: websocketTransport through Debian's websockify, one per broker (URL map).
 * Per path: records/s of N × B-byte records (runPerf, first send to last ack, after a warm-up; the
 * median of --runs runs), sync latency p50/p99 over single awaited sends (linger 0, after
 * --latency-warmup of them: a fresh relay runs its per-message code cold for thousands), and the CPU time
 * each side used during the timed runs (utime + stime from /proc/<pid>/stat, children included:
 * the producer's process, the relay's process tree, the mock broker) divided by the MiB of record
 * values carried. Added p99 = the path's sync p99 − direct's.
 * Then the proxy-bound comparison: --producers producer processes at once (at nice 10) through each
 * path (the single Node producer is the bottleneck on every WebSocket path: it masks every byte it
 * sends, in JS unless bufferutil is installed).
 * Every run's record count is checked against the topic's offsets.
 *   npm run bench:proxy [-- --records N --record-size B --runs N --producers N --latency-sends N --paths direct,kafkasm,websockify]
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
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
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
  "latency-sends": { type: "number", default: 2000, integer: true, min: 10, description: "single awaited sends for sync latency (after --latency-warmup more)" },
  "latency-warmup": { type: "number", default: 5000, integer: true, min: 0, description: "single awaited sends before the timed ones (a fresh relay process runs its per-message code cold for thousands of messages)" },
  warmup: { type: "number", default: 20_000, integer: true, min: 0, description: "records sent (and acknowledged) before the timed run" },
  paths: { type: "string", default: PATHS.join(","), description: "direct,kafkasm,websockify" },
  partitions: { type: "number", default: 6, integer: true, min: 1, description: "partitions of the topic" },
  out: { type: "string", default: join(root, "bench/results/proxy.json"), description: "JSON results file" },
  runs: { type: "number", default: 3, integer: true, min: 1, description: "timed single-producer runs per path (the median is reported)" },
  producers: { type: "number", default: 4, integer: true, min: 0, description: "producer processes at once for the proxy-bound comparison (0: skip)" },
  child: { type: "string", default: "", description: "internal: run one producer of the multi-producer comparison" },
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

/** How a producer reaches the brokers on one path (plain data, so producer processes get it too). */
interface Route { brokers: string[]; ws?: { url: string | Record<string, string>; token?: string; protocols?: string[] } }

const transportOf = (r: Route) => r.ws ? websocketTransport({ ...r.ws, WebSocket: WebSocket as never }) : undefined;
const producerFor = (r: Route, clientId: string, lingerMs: number, batchSize?: number) =>
  new Producer({ brokers: r.brokers, lingerMs, ...(batchSize ? { batchSize } : {}), clientId, ...(r.ws ? { transport: transportOf(r) } : {}) });
const cpuSelf = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

interface Row {
  path: Path; records: number; runs: number; seconds: number; recordsPerSec: number; mbPerSec: number; runRecordsPerSec: number[];
  syncP50Ms: number | null; syncP99Ms: number | null; addedP99Ms: number | null;
  relayCpuSeconds: number | null; relayCpuMsPerMb: number | null; clientCpuMsPerMb: number; brokerCpuMsPerMb: number | null; verified: boolean;
}
interface MultiRow {
  path: Path; producers: number; records: number; seconds: number; recordsPerSec: number; mbPerSec: number;
  relayCpuMsPerMb: number | null; clientCpuMsPerMb: number; brokerCpuMsPerMb: number | null; verified: boolean;
}

/** Child mode: one producer; warms up, says "ready", waits for "go", sends, prints its result as JSON. */
async function child(spec: { route: Route; topic: string; records: number; recordSize: number; warmup: number; id: string }): Promise<number> {
  const producer = producerFor(spec.route, spec.id, 5, 1_000_000);
  const perf = { topic: spec.topic, recordSize: spec.recordSize };
  if (spec.warmup) await runPerf(producer as unknown as PerfProducer, { ...perf, records: spec.warmup });
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((r) => lines.once("line", () => r()));
  process.stdout.write("ready\n");
  await go;
  const cpu0 = cpuSelf();
  const r = await runPerf(producer as unknown as PerfProducer, { ...perf, records: spec.records });
  const cpu = cpuSelf() - cpu0;
  // Reported before close(), which is not part of the run.
  process.stdout.write(JSON.stringify({ failed: r.failed, firstError: r.firstError, cpu }) + "\n");
  await producer.close();
  lines.close();
  return 0;
}

/** Starts `n` producer processes, lets them warm up, starts them together; aggregate rate from "go" to the last ack. */
async function multi(n: number, route: Route, topic: string, a: { records: number; recordSize: number; warmup: number }, sample: () => { relay: number; broker: number }) {
  const kids = Array.from({ length: n }, (_, i) => {
    const spec = { route, topic, records: a.records, recordSize: a.recordSize, warmup: a.warmup, id: `bench-proxy-multi-${i}` };
    // At nice 10: on 2 cores, four busy producers would otherwise starve a one-process relay of CPU
    // (websockify forks a process per connection, so the scheduler gives it many shares); a proxy has its own host.
    const c = spawn("nice", ["-n", "10", process.execPath, "--import", "tsx", fileURLToPath(import.meta.url), "--child", JSON.stringify(spec)], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: c.stdout! });
    const next = () => new Promise<string>((res, rej) => { lines.once("line", res); c.once("exit", (code) => rej(new Error(`producer process exited (${code})`))); });
    return { c, next };
  });
  try {
    await Promise.all(kids.map(async (k) => { if ((await k.next()) !== "ready") throw new Error("producer process did not get ready"); }));
    const s0 = sample();
    const t0 = performance.now();
    const done = kids.map((k) => k.next().then((l) => ({ ...JSON.parse(l) as { failed: number; firstError?: string; cpu: number }, at: performance.now() })));
    for (const k of kids) k.c.stdin!.write("go\n");
    const results = await Promise.all(done);
    const s1 = sample();
    const failed = results.find((r) => r.failed);
    if (failed) throw new Error(`${failed.failed} records failed: ${failed.firstError}`);
    return { seconds: Math.max(...results.map((r) => r.at)) / 1000 - t0 / 1000, clientCpu: results.reduce((s, r) => s + r.cpu, 0), relayCpu: s1.relay - s0.relay, brokerCpu: s1.broker - s0.broker };
  } finally {
    await Promise.all(kids.map((k) => stop(k.c)));
  }
}

/** How ws masks the producer's frames: its byte-at-a-time JS loop, or bufferutil's native one when installed (ws's advice). */
const clientMasking = (() => {
  if (process.env.WS_NO_BUFFER_UTIL) return "JS (WS_NO_BUFFER_UTIL)";
  try { createRequire(createRequire(import.meta.url).resolve("ws"))("bufferutil"); return "native (bufferutil)"; } catch { return "JS (ws without bufferutil)"; }
})();

const median = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

async function main(): Promise<number> {
  const { options: a } = parseArgs(process.argv.slice(2), spec);
  if (a.child) return child(JSON.parse(a.child));
  const paths = a.paths.split(",").map((s) => s.trim()).filter(Boolean) as Path[];
  for (const p of paths) if (!PATHS.includes(p)) throw new Error(`unknown path ${p}; known: ${PATHS.join(", ")}`);
  const cluster = await startCluster({ brokers: 3 });
  const stamp = Date.now().toString(36);
  const rows: Row[] = [];
  const multiRows: MultiRow[] = [];
  const mib = (records: number) => (records * a.recordSize) / 1048576;
  log(`bench/proxy: ${a.records.toLocaleString("en-US")} × ${a.recordSize} B records, ${a.partitions} partitions, 3-broker mock cluster at ${cluster.bootstrap}; WebSocket client masking: ${clientMasking}`);
  try {
    for (const path of paths) {
      const topic = `bench-proxy-${path}-${stamp}`;
      await cluster.createTopic(topic, a.partitions);
      let relay: ChildProcess[] = [];
      const route: Route = { brokers: [cluster.brokers[0]!.host + ":" + cluster.brokers[0]!.port] };
      if (path === "kafkasm") {
        const port = await freePort();
        const prof = a.relayProf ? ["--cpu-prof", "--cpu-prof-dir", a.relayProf] : [];
        relay = [await spawnListening(process.execPath, [...prof, "--import", "tsx", "src/cli/main.ts", "proxy", "--listen", `127.0.0.1:${port}`,
          "--allow", cluster.brokers.map((b) => `${b.host}:${b.port}`).join(","), "--token", "bench"], port)];
        route.ws = { url: `ws://127.0.0.1:${port}/broker/{host}:{port}`, token: "bench" };
      } else if (path === "websockify") {
        const urlMap: Record<string, string> = {};
        for (const b of cluster.brokers) {
          const port = await freePort();
          relay.push(await spawnListening("websockify", [`127.0.0.1:${port}`, `${b.host}:${b.port}`], port));
          urlMap[`${b.host}:${b.port}`] = `ws://127.0.0.1:${port}`;
        }
        route.ws = { url: urlMap, protocols: ["binary"] };
      }
      // websockify forks a process per connection: sampled while they are alive (before the producers close).
      const sample = () => ({ relay: relay.reduce((s, c) => s + treeCpuSeconds(c.pid!), 0), broker: cluster.pid ? treeCpuSeconds(cluster.pid) : NaN });
      try {
        log(`  ${path} …`);
        const producer = producerFor(route, `bench-proxy-${path}`, 5, 1_000_000);
        const perf = { topic, recordSize: a.recordSize };
        if (a.warmup) await runPerf(producer as unknown as PerfProducer, { ...perf, records: a.warmup });
        const rates: number[] = [];
        let seconds = 0, relayCpu = 0, clientCpu = 0, brokerCpu = 0;
        for (let run = 0; run < a.runs; run++) {
          const s0 = sample(), c0 = cpuSelf();
          const r = await runPerf(producer as unknown as PerfProducer, { ...perf, records: a.records });
          const s1 = sample();
          clientCpu += cpuSelf() - c0; relayCpu += s1.relay - s0.relay; brokerCpu += s1.broker - s0.broker;
          if (r.failed) throw new Error(`${path}: ${r.failed} records failed: ${r.firstError}`);
          rates.push(a.records / r.seconds);
          seconds += r.seconds;
        }
        await producer.close();
        // Sync latency: a fresh producer, linger 0, single awaited sends.
        const sync = producerFor(route, `bench-proxy-${path}-sync`, 0);
        const value = randomPayload(a.recordSize);
        for (let i = 0; i < a.latencyWarmup; i++) await sync.send({ topic, value });
        const t = new Float64Array(a.latencySends);
        for (let i = 0; i < t.length; i++) { const t0 = performance.now(); await sync.send({ topic, value }); t[i] = performance.now() - t0; }
        await sync.close();
        t.sort();
        let expected = a.warmup + a.runs * a.records + a.latencyWarmup + a.latencySends;
        const total = mib(a.runs * a.records);
        const rate = median(rates);
        const row: Row = {
          path, records: a.records, runs: a.runs, seconds: round(seconds)!, recordsPerSec: Math.round(rate), mbPerSec: round(mib(rate), 2)!, runRecordsPerSec: rates.map(Math.round),
          syncP50Ms: round(quantile(t, 0.5)), syncP99Ms: round(quantile(t, 0.99)), addedP99Ms: null,
          relayCpuSeconds: relay.length ? round(relayCpu, 2) : null, relayCpuMsPerMb: relay.length ? round((relayCpu * 1000) / total, 2) : null,
          clientCpuMsPerMb: round((clientCpu * 1000) / total, 2)!, brokerCpuMsPerMb: round((brokerCpu * 1000) / total, 2), verified: false,
        };
        log(`    ${row.recordsPerSec.toLocaleString("en-US")} records/s (runs: ${rates.map((x) => Math.round(x).toLocaleString("en-US")).join(", ")}), sync p99 ${row.syncP99Ms} ms, CPU ms/MiB: client ${row.clientCpuMsPerMb}, relay ${row.relayCpuMsPerMb ?? "-"}, broker ${row.brokerCpuMsPerMb}`);
        let m: MultiRow | undefined;
        if (a.producers > 0) {
          const r = await multi(a.producers, route, topic, a, sample);
          expected += a.producers * (a.warmup + a.records);
          const carried = mib(a.producers * a.records);
          m = { path, producers: a.producers, records: a.producers * a.records, seconds: round(r.seconds)!, recordsPerSec: Math.round((a.producers * a.records) / r.seconds), mbPerSec: round(carried / r.seconds, 2)!,
            relayCpuMsPerMb: relay.length ? round((r.relayCpu * 1000) / carried, 2) : null, clientCpuMsPerMb: round((r.clientCpu * 1000) / carried, 2)!, brokerCpuMsPerMb: round((r.brokerCpu * 1000) / carried, 2), verified: false };
          multiRows.push(m);
          log(`    ${a.producers} producers: ${m.recordsPerSec.toLocaleString("en-US")} records/s, CPU ms/MiB: clients ${m.clientCpuMsPerMb}, relay ${m.relayCpuMsPerMb ?? "-"}, broker ${m.brokerCpuMsPerMb}`);
        }
        const counted = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0);
        row.verified = counted === expected;
        if (m) m.verified = row.verified;
        rows.push(row);
        log(`    count ${row.verified ? "ok" : `BAD (${counted}, expected ${expected})`}`);
      } finally {
        await Promise.all(relay.map(stop));
      }
    }
  } finally {
    await cluster.stop();
  }
  const direct = rows.find((r) => r.path === "direct");
  for (const r of rows) if (direct?.syncP99Ms != null && r.syncP99Ms != null && r !== direct) r.addedP99Ms = round(r.syncP99Ms - direct.syncP99Ms);
  const ratioIn = <R extends { path: Path; recordsPerSec: number }>(rs: R[], peer: Path) => {
    const ours = rs.find((r) => r.path === "kafkasm"), p = rs.find((r) => r.path === peer);
    return ours && p ? ours.recordsPerSec / p.recordsPerSec : NaN;
  };
  const table = (title: string, head: string[], body: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (c: string[]) => "  " + c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
    return [title, line(head), line(widths.map((w) => "─".repeat(w))), ...body.map(line), ""];
  };
  const ms = (v: number | null) => (v == null ? "-" : `${v.toFixed(1)}`);
  const ours = rows.find((r) => r.path === "kafkasm");
  const out = ["", ...table(`bench/proxy: ${a.records.toLocaleString("en-US")} × ${a.recordSize} B, one Node producer (ws; client masking: ${clientMasking}; linger 5 ms), median of ${a.runs} runs; CPU in ms per MiB carried`,
    ["path", "records/s", "MiB/s", "kafkasm ×", "sync p50", "sync p99", "added p99", "CPU client", "relay", "broker", "count"],
    rows.map((r) => [r.path, r.recordsPerSec.toLocaleString("en-US"), r.mbPerSec.toFixed(1), ours && r !== ours ? `${(ours.recordsPerSec / r.recordsPerSec).toFixed(2)}×` : "",
      `${r.syncP50Ms?.toFixed(3)} ms`, `${r.syncP99Ms?.toFixed(3)} ms`, r.addedP99Ms == null ? "-" : `${r.addedP99Ms.toFixed(3)} ms`,
      ms(r.clientCpuMsPerMb), ms(r.relayCpuMsPerMb), ms(r.brokerCpuMsPerMb), r.verified ? "ok" : "BAD"]))];
  if (multiRows.length) {
    const mine = multiRows.find((r) => r.path === "kafkasm");
    out.push(...table(`proxy-bound: ${a.producers} producer processes at once (nice 10), ${a.records.toLocaleString("en-US")} records each; CPU in ms per MiB carried (clients summed)`,
      ["path", "records/s", "MiB/s", "kafkasm ×", "CPU clients", "relay", "broker", "count"],
      multiRows.map((r) => [r.path, r.recordsPerSec.toLocaleString("en-US"), r.mbPerSec.toFixed(1), mine && r !== mine ? `${(mine.recordsPerSec / r.recordsPerSec).toFixed(2)}×` : "",
        ms(r.clientCpuMsPerMb), ms(r.relayCpuMsPerMb), ms(r.brokerCpuMsPerMb), r.verified ? "ok" : "BAD"])));
  }
  const targets: { target: string; measured: string; ok: boolean }[] = [];
  const add = (target: string, v: number, min: number) => { if (Number.isFinite(v)) targets.push({ target, measured: `${v.toFixed(2)} ×`, ok: v >= min }); };
  add("1 producer: kafkasm ≥ 0.8 × direct TCP", ratioIn(rows, "direct"), 0.8);
  add("1 producer: kafkasm ≥ 2 × websockify", ratioIn(rows, "websockify"), 2);
  add(`${a.producers} producers: kafkasm ≥ 0.8 × direct`, ratioIn(multiRows, "direct"), 0.8);
  add(`${a.producers} producers: kafkasm ≥ 2 × websockify`, ratioIn(multiRows, "websockify"), 2);
  const wsk = rows.find((r) => r.path === "websockify");
  const cpuRatio = ours?.relayCpuMsPerMb && wsk?.relayCpuMsPerMb ? wsk.relayCpuMsPerMb / ours.relayCpuMsPerMb : NaN;
  add("relay CPU/MiB: websockify ÷ kafkasm ≥ 2", cpuRatio, 2);
  if (targets.length) out.push("targets (issue 14; the first two as the issue words them, the rest the proxy-bound views):", ...targets.map((t) => targetLine(t.ok, t.target, t.measured)), "");
  out.push("CPU = utime + stime of that side's processes during the timed runs ÷ MiB of record values. Added p99 = sync p99 − direct's.",
    "The producers, the relay and the mock share one machine (2 cores, other jobs running): rates are noisy, CPU per MiB less so.");
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify({ date: new Date().toISOString(), node: process.version, machine: { cpus: cpus().length, note: "shared machine; noisy" },
    records: a.records, recordSize: a.recordSize, partitions: a.partitions, runs: a.runs, clientMasking, latencySends: a.latencySends, results: rows, producers: a.producers, multiProducer: multiRows, targets }, null, 2) + "\n");
  const svgPath = writeSvg(a.out, `kafkasm proxy vs direct TCP vs websockify (${a.records.toLocaleString("en-US")} × ${a.recordSize} B)`, [
    { title: "throughput, 1 producer", unit: "records/s", bars: rows.map((r) => ({ label: r.path, value: r.recordsPerSec, ours: r.path === "kafkasm" })),
      ...(direct ? { target: { value: 0.8 * direct.recordsPerSec, label: "0.8 × direct" } } : {}) },
    ...(multiRows.length ? [{ title: `throughput, ${a.producers} producers`, unit: "records/s", bars: multiRows.map((r) => ({ label: r.path, value: r.recordsPerSec, ours: r.path === "kafkasm" })) }] : []),
    { title: "sync send p99", unit: "ms", bars: rows.map((r) => ({ label: r.path, value: r.syncP99Ms ?? NaN, ours: r.path === "kafkasm" })) },
    { title: "relay CPU per MiB", unit: "ms", bars: rows.filter((r) => r.relayCpuMsPerMb != null).map((r) => ({ label: r.path, value: r.relayCpuMsPerMb!, ours: r.path === "kafkasm" })) },
  ], "shared 2-core machine; noisy");
  log(`wrote ${a.out} and ${svgPath}`);
  return rows.every((r) => r.verified) ? 0 : 1;
}

process.exitCode = await main();
