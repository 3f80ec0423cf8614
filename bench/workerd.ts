/**
 * bench/workerd: time from a request's start to the first acknowledged record with a new producer, in
 * workerd (Cloudflare Workers' runtime) serving a worker built from the shipped dist/workerd bundle
 * (scripts/bundles.mjs), on the librdkafka mock cluster. The worker times each part itself, through a
 * transport that wraps the bundle's workerdTransport and reads the API key of every request it writes:
 *   wasm       WebAssembly.instantiate of the codec's module (what the producer's first send does once
 *              per isolate; timed separately in the worker on the same module, before the producer);
 *   start      request start → the first connect (producer construction, codec, chunk imports);
 *   connect    transport call → socket open (bootstrap broker);
 *   apiVersions / metadata / initProducerId   first request written → last answer bytes;
 *   leader     the leader's connection + ApiVersions when it is not the bootstrap broker (0 otherwise);
 *   produce    Produce written → answer; other = the gaps between; total = request start → send() resolved.
 * Runs: `--cold` fresh workerd processes (first request of an isolate: the codec is instantiated), then
 * `--warm` more requests to the last one (isolate warm, producer new each time).
 * workerd's clock advances only across I/O (a Spectre mitigation), so a compute-only phase such as
 * WASM instantiation reads 0 inside the worker: the same module's instantiation is therefore also
 * timed in Node (same V8) and reported beside it.
 *   npm run bench:workerd [-- --cold 3 --warm 10]
 * Writes bench/results/workerd.json and workerd.svg.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { quantile } from "../src/cli/perf.ts";
import { startCluster } from "../test/harness/cluster.ts";
import { freePort } from "../test/harness/net.ts";
import { bin, bundleSpec } from "../test/runtimes/runtime-helpers.ts";
import { writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const spec = {
  cold: { type: "number", default: 3, integer: true, min: 1, description: "fresh workerd processes (one cold request each)" },
  warm: { type: "number", default: 10, integer: true, min: 0, description: "further requests to the last process (new producer each)" },
  out: { type: "string", default: join(root, "bench/results/workerd.json"), description: "JSON results file" },
} as const satisfies OptionSpecs;
const log = (s: string) => process.stderr.write(s + "\n");

const WORKER = `
import { Producer, workerdTransport } from "./kafkasm/index.js";
import { connect } from "cloudflare:sockets";
import codecModule from "./kafkasm/kafkasm.wasm";
const API = { 0: "produce", 3: "metadata", 18: "apiVersions" };
export default {
  async fetch(request) {
    const t0 = performance.now();
    const url = new URL(request.url);
    const events = [];
    const at = (what) => events.push([what, performance.now() - t0]);
    // The codec's instantiation, timed on its own (imports stubbed: only AssemblyScript's abort).
    const w0 = performance.now();
    const imports = {};
    for (const i of WebAssembly.Module.imports(codecModule)) (imports[i.module] ??= {})[i.name] = () => {};
    await WebAssembly.instantiate(codecModule, imports);
    const wasmMs = performance.now() - w0;
    const inner = workerdTransport(connect);
    let conn = 0;
    const transport = async (address, handlers) => {
      const c = conn++;
      at("connect:" + c);
      let pending = [];
      const socket = await inner(address, { onData(chunk) { const p = pending.shift(); if (p) at("answer:" + c + ":" + p); handlers.onData(chunk); }, onClose: handlers.onClose });
      at("open:" + c);
      return { write(data) { const key = (data[4] << 8) | data[5]; const name = API[key] ?? "api" + key; pending.push(name); at("write:" + c + ":" + name); return socket.write(data); }, close: () => socket.close() };
    };
    let producer;
    try {
      producer = new Producer({ brokers: [url.searchParams.get("broker")], lingerMs: 0, maxBlockMs: 10000, transport });
      at("producer");
      const meta = await producer.send({ topic: url.searchParams.get("topic"), value: "first" });
      at("acked");
      return Response.json({ ok: true, wasmMs, events, partition: meta.partition, dateNow: Date.now() });
    } catch (e) {
      return Response.json({ ok: false, error: String(e && e.message || e), code: e && e.code, events });
    } finally {
      await producer?.close({ timeoutMs: 5000 });
    }
  },
};
`;

interface Phases { total: number; wasm: number; start: number; connect: number; apiVersions: number; metadata: number; initProducerId: number; leader: number; produce: number; other: number }
const PHASES: (keyof Phases)[] = ["total", "wasm", "start", "connect", "apiVersions", "metadata", "initProducerId", "leader", "produce", "other"];

/** Phases from the worker's event list (ms since the request's start; workerd's clock has 1 ms steps). */
function phases(r: { wasmMs: number; events: [string, number][] }): Phases {
  const first = (name: string) => r.events.find((e) => e[0] === name)?.[1] ?? NaN;
  const last = (name: string) => [...r.events].reverse().find((e) => e[0] === name)?.[1] ?? NaN;
  // A request's span: its first write → its last answer (ApiVersions is retried at v0 when v3 is refused).
  const span = (c: string, api: string) => (r.events.some((e) => e[0] === `write:${c}:${api}`) ? last(`answer:${c}:${api}`) - first(`write:${c}:${api}`) : 0);
  const total = first("acked");
  const produceWrite = r.events.find((e) => /^write:\d+:produce$/.test(e[0]));
  const c = produceWrite ? produceWrite[0].split(":")[1]! : "0";
  const p: Omit<Phases, "other"> = {
    total, wasm: r.wasmMs,
    start: first("connect:0"), // producer construction, codec instantiation, chunk imports
    connect: first("open:0") - first("connect:0"),
    apiVersions: span("0", "apiVersions"), metadata: span("0", "metadata"), initProducerId: span("0", "api22"),
    // The leader's own connection and handshake, when the Produce goes to another broker than the bootstrap.
    leader: c === "0" ? 0 : (produceWrite?.[1] ?? NaN) - first(`connect:${c}`),
    produce: last(`answer:${c}:produce`) - (produceWrite?.[1] ?? NaN),
  };
  const known = p.start + p.connect + p.apiVersions + p.metadata + p.initProducerId + p.leader + p.produce;
  return { ...p, other: total - known };
}

async function buildWorkerDir(): Promise<{ dir: string; files: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-bench-workerd-"));
  const b = await bundleSpec("src/workerd.ts");
  await esbuild.build({ bundle: true, format: "esm", logLevel: "warning", absWorkingDir: root, ...b, outdir: join(dir, "kafkasm") });
  const files: string[] = [];
  const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(relative(dir, join(d, e.name))); };
  walk(join(dir, "kafkasm"));
  writeFileSync(join(dir, "worker.js"), WORKER);
  return { dir, files };
}

async function startWorkerd(dir: string, files: string[]): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const modules = [`(name = "worker.js", esModule = embed "worker.js")`,
    ...files.map((f) => f.endsWith(".wasm") ? `(name = "${f}", wasm = embed "${f}")` : `(name = "${f}", esModule = embed "${f}")`)];
  writeFileSync(join(dir, `config-${port}.capnp`), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "loopback", network = (allow = ["local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = ( modules = [ ${modules.join(", ")} ], compatibilityDate = "2025-01-01", globalOutbound = "loopback" );
`);
  const child = spawn(bin("workerd"), ["serve", join(dir, `config-${port}.capnp`)], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const { connect } = await import("node:net");
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => { const s = connect(port, "127.0.0.1", () => { s.destroy(); r(true); }); s.on("error", () => r(false)); });
    if (ok) return { base: `http://127.0.0.1:${port}/`, child };
    if (child.exitCode !== null || Date.now() > deadline) { child.kill("SIGKILL"); throw new Error(`workerd did not listen: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Median instantiation time of the same codec module in Node's V8 (the worker's clock cannot see it). */
async function nodeInstantiateMs(runs = 20): Promise<number> {
  const module = await WebAssembly.compile(readFileSync(join(root, "build/kafkasm.wasm")));
  const imports: Record<string, Record<string, () => void>> = {};
  for (const i of WebAssembly.Module.imports(module)) (imports[i.module] ??= {})[i.name] = () => {};
  const t = new Float64Array(runs);
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); await WebAssembly.instantiate(module, imports); t[i] = performance.now() - t0; }
  return quantile(t.sort(), 0.5);
}

async function main(): Promise<void> {
  const { options: a } = parseArgs(process.argv.slice(2), spec);
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "bench-workerd", partitions: 3 }] });
  const { dir, files } = await buildWorkerDir();
  const cold: Phases[] = [], warm: Phases[] = [], outside: { cold: number[]; warm: number[] } = { cold: [], warm: [] };
  const request = async (base: string, into: Phases[], wall: number[]) => {
    const q = new URLSearchParams({ broker: `${cluster.brokers[0]!.host}:${cluster.brokers[0]!.port}`, topic: "bench-workerd" });
    const t0 = performance.now();
    const r = await (await fetch(`${base}?${q}`, { signal: AbortSignal.timeout(60_000) })).json() as { ok: boolean; wasmMs: number; events: [string, number][]; error?: string };
    wall.push(performance.now() - t0);
    if (!r.ok) throw new Error(`worker: ${r.error} ${JSON.stringify(r.events)}`);
    into.push(Object.assign(phases(r), { events: r.events }));
  };
  try {
    let last: ChildProcess | undefined;
    for (let i = 0; i < a.cold; i++) {
      last?.kill("SIGKILL");
      const w = await startWorkerd(dir, files);
      last = w.child;
      await request(w.base, cold, outside.cold);
      if (i === a.cold - 1) for (let j = 0; j < a.warm; j++) await request(w.base, warm, outside.warm);
    }
    last?.kill("SIGKILL");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  }
  const nodeWasm = await nodeInstantiateMs();
  const med = (xs: number[]) => quantile(Float64Array.from(xs).sort(), 0.5);
  const summary = (rows: Phases[]) => Object.fromEntries(PHASES.map((p) => [p, Math.round(med(rows.map((r) => r[p])) * 1000) / 1000])) as unknown as Phases;
  const sc = summary(cold), sw = warm.length ? summary(warm) : undefined;
  const fmt = (n: number | undefined) => (n == null || Number.isNaN(n) ? "-" : `${n.toFixed(2)} ms`);
  const out = ["", "bench/workerd: request start → first acknowledged record, new producer per request (medians, ms; worker's own clock)",
    "  " + "phase".padEnd(16) + "cold isolate".padStart(14) + "warm isolate".padStart(14),
    ...PHASES.map((p) => "  " + p.padEnd(16) + fmt(sc[p]).padStart(14) + fmt(sw?.[p]).padStart(14)),
    "  " + "HTTP (Node)".padEnd(16) + fmt(med(outside.cold)).padStart(14) + fmt(outside.warm.length ? med(outside.warm) : undefined).padStart(14),
    `  codec instantiation in Node's V8 (same module, median of 20): ${nodeWasm.toFixed(3)} ms`,
    "", `cold: ${a.cold} fresh workerd processes; warm: ${a.warm} requests to the last one. workerd's clock advances only across I/O,`,
    "so compute (wasm, encoding) reads ~0 inside the worker; other = total − the measured I/O phases. Shared machine: noisy.",
  ];
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, note: "shared machine; noisy" },
    cold: { median: sc, runs: cold, httpMs: outside.cold }, warm: { median: sw ?? null, runs: warm, httpMs: outside.warm }, nodeInstantiateMs: nodeWasm }, null, 2) + "\n");
  const parts = PHASES.filter((p) => p !== "total");
  const svgPath = writeSvg(a.out, "workerd: request start → first acknowledged record (new producer)", [
    { title: "cold isolate (median)", unit: "ms", bars: [{ label: "total", value: sc.total, ours: true }, ...parts.map((p) => ({ label: p, value: sc[p] }))] },
    ...(sw ? [{ title: "warm isolate (median)", unit: "ms", bars: [{ label: "total", value: sw.total, ours: true }, ...parts.map((p) => ({ label: p, value: sw[p] }))] }] : []),
  ], "workerd's clock advances only across I/O; shared machine; noisy");
  log(`wrote ${a.out} and ${svgPath}`);
}

await main();
