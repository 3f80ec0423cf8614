/**
 * bench/workerd: time from a request's start to the first acknowledged record with a new producer, in
 * workerd (Cloudflare Workers' runtime) serving a worker built from the shipped dist/workerd bundle
 * (scripts/bundles.mjs, through test/runtimes/workerd-worker.ts), on the librdkafka mock cluster.
 * Each request makes a new Producer, sends one record (lingerMs 0), answers as soon as send() resolves
 * and closes the producer in waitUntil.
 *
 * workerd's clock advances only across I/O (a Spectre mitigation, 1 ms steps), so the worker cannot time
 * itself: everything is timed in Node. Every broker connection of the worker goes through a relay here
 * (the bench's transport wrapper maps each broker's port to its relay's, bootstrap and leaders alike), which
 * reads the Kafka frames both ways and stamps them with Node's clock. A request's wall time (Node sends the
 * HTTP request → its answer arrives) is cut into parts that add up to it exactly:
 *   start          HTTP request sent → the first broker connection accepted (workerd dispatch, handler,
 *                  producer construction, codec instantiation and chunk imports, whatever precedes the dial);
 *   connect        connection accepted → its first request in (socket open in the worker, request encoding);
 *   apiVersions, metadata, initProducerId, produce   a request's first byte in → its answer's last byte out
 *                  (the broker's time plus the relay's hops), on every connection (bootstrap and leader);
 *   client         the other gaps before the ack: the worker decoding answers and encoding the next request;
 *   response       the Produce answer out → the HTTP answer in (ack handling, send() resolving, Response).
 * Where spans overlap (two connections), a moment counts once, for produce > initProducerId > metadata >
 * apiVersions > connect. The codec's WebAssembly.instantiate is part of start in a cold isolate; it is also
 * timed in Node's V8 on the same module (the worker's clock cannot see compute).
 * Runs: `--cold` fresh workerd processes (the first request of a new isolate), then `--warm` more requests
 * to the last one (warm isolate, new producer each). A control, as many fresh processes whose first request
 * answers without producing, shows what a first request costs in workerd before any producer work. Median and p90 of each part; every record is checked
 * in Kafka (the topic's offsets add up to the requests made).
 *   npm run bench:workerd [-- --cold 10 --warm 20]
 * Writes bench/results/workerd.json and workerd.svg.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect as netConnect, createServer, type Server, type Socket } from "node:net";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { quantile } from "../src/cli/perf.ts";
import { until } from "../test/harness/bounded.ts";
import { startCluster } from "../test/harness/cluster.ts";
import { queryOffsets } from "../test/harness/kcat.ts";
import { serveWorker } from "../test/runtimes/workerd-worker.ts";
import { writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const spec = {
  cold: { type: "number", default: 10, integer: true, min: 1, description: "fresh workerd processes (one cold request each)" },
  warm: { type: "number", default: 20, integer: true, min: 0, description: "further requests to the last process (new producer each)" },
  out: { type: "string", default: join(root, "bench/results/workerd.json"), description: "JSON results file" },
} as const satisfies OptionSpecs;
const log = (s: string) => process.stderr.write(s + "\n");

const WORKER = `
import { Producer, workerdTransport } from "./kafkasm/index.js";
import { connect } from "cloudflare:sockets";
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.searchParams.has("ping")) return new Response("pong"); // the control: a first request that does not produce
    const relays = JSON.parse(url.searchParams.get("relays"));
    const inner = workerdTransport(connect);
    // Every broker (bootstrap, and the leaders Metadata names) is dialled through the bench's timing relay.
    const transport = (address, handlers) => inner(relays[address.port] ? { ...address, port: relays[address.port] } : address, handlers);
    let producer;
    try {
      producer = new Producer({ brokers: [url.searchParams.get("broker")], lingerMs: 0, maxBlockMs: 10000, transport });
      const meta = await producer.send({ topic: url.searchParams.get("topic"), value: "first" });
      return Response.json({ ok: true, partition: meta.partition, offset: meta.offset });
    } catch (e) {
      return Response.json({ ok: false, error: String(e && e.message || e), code: e && e.code });
    } finally {
      if (producer) ctx.waitUntil(producer.close({ timeoutMs: 5000 }));
    }
  },
};
`;

const API: Record<number, Span> = { 0: "produce", 3: "metadata", 18: "apiVersions", 22: "initProducerId" };
type Span = "connect" | "apiVersions" | "metadata" | "initProducerId" | "produce";
/** Which part a moment belongs to when spans overlap: the later in this list wins. */
const PRIORITY: Span[] = ["connect", "apiVersions", "metadata", "initProducerId", "produce"];
const PARTS = ["start", "connect", "apiVersions", "metadata", "initProducerId", "produce", "client", "response"] as const;
type Part = (typeof PARTS)[number];
type Parts = Record<Part | "total", number> & { connections: number; api: string[] };

interface Interval { from: number; to: number; span: Span; conn: number }

/** TCP relays in front of the brokers, stamping Kafka frames with Node's clock. */
class Relays {
  intervals: Interval[] = [];
  accepts: number[] = [];
  apis: string[] = [];
  open = 0;
  readonly ports = new Map<number, number>();
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  #conns = 0;

  async add(broker: { host: string; port: number }): Promise<void> {
    const server = createServer((client) => this.#relay(client, broker));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    this.#servers.push(server);
    this.ports.set(broker.port, (server.address() as { port: number }).port);
  }

  reset(): void { this.intervals = []; this.accepts = []; this.apis = []; }

  #relay(client: Socket, broker: { host: string; port: number }): void {
    const conn = this.#conns++;
    const accepted = performance.now();
    this.accepts.push(accepted);
    this.open++;
    client.setNoDelay(true);
    const upstream = netConnect(broker.port, broker.host);
    upstream.setNoDelay(true);
    let firstIn = true;
    const asked = new Map<number, { api: number; at: number }>();
    const up = frames((at, frame) => {
      const api = frame.readInt16BE(4), version = frame.readInt16BE(6), correlation = frame.readInt32BE(8);
      if (firstIn) { firstIn = false; this.intervals.push({ from: accepted, to: at, span: "connect", conn }); }
      asked.set(correlation, { api, at });
      this.apis.push(`${conn}:${API[api] ?? `api${api}`}v${version}`);
    });
    const down = frames((_, frame, end) => {
      const q = asked.get(frame.readInt32BE(4));
      if (q) this.intervals.push({ from: q.at, to: end, span: API[q.api] ?? "connect", conn });
    });
    client.on("data", (d: Buffer) => { up(d); upstream.write(d); });
    upstream.on("data", (d: Buffer) => { client.write(d); down(d); });
    let closed = false;
    const close = () => { if (closed) return; closed = true; this.open--; client.destroy(); upstream.destroy(); };
    for (const s of [client, upstream]) { this.#sockets.add(s); s.on("close", () => { this.#sockets.delete(s); close(); }); s.on("error", close); }
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Kafka frames from a byte stream: `emit(start, frame, end)` with the times its first and last bytes arrived. */
function frames(emit: (start: number, frame: Buffer, end: number) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0), start = 0;
  return (chunk) => {
    const now = performance.now();
    if (pending.length === 0) start = now;
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      emit(start, pending.subarray(0, 4 + size), now);
      pending = pending.subarray(4 + size);
      start = now; // the next frame began in this chunk
    }
  };
}

/** Cuts [t0, t1] into the parts: each moment goes to the highest-priority span covering it, else to start/client/response. */
function parts(t0: number, t1: number, relays: Relays): Parts {
  const p = Object.fromEntries(PARTS.map((k) => [k, 0])) as Record<Part, number>;
  const firstAccept = Math.min(...relays.accepts);
  const acked = Math.min(...relays.intervals.filter((i) => i.span === "produce").map((i) => i.to));
  const cuts = [...new Set([t0, t1, firstAccept, acked, ...relays.intervals.flatMap((i) => [i.from, i.to])])].filter((t) => t >= t0 && t <= t1).sort((a, b) => a - b);
  for (let k = 0; k + 1 < cuts.length; k++) {
    const a = cuts[k]!, b = cuts[k + 1]!, mid = (a + b) / 2;
    let best = -1;
    for (const i of relays.intervals) if (i.from <= mid && mid < i.to && i.to <= acked) best = Math.max(best, PRIORITY.indexOf(i.span));
    const part: Part = best >= 0 ? PRIORITY[best]! : mid < firstAccept ? "start" : mid >= acked ? "response" : "client";
    p[part] += b - a;
  }
  return { ...p, total: t1 - t0, connections: relays.accepts.length, api: relays.apis };
}

/** One GET on a new connection; resolves with the body and the time the answer's head arrived. */
function get(url: string): Promise<{ body: string; at: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      const at = performance.now();
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => resolve({ body, at }));
    });
    req.setTimeout(60_000, () => req.destroy(new Error("no answer from workerd in 60 s")));
    req.on("error", reject).end();
  });
}

/** Median instantiation time of the same codec module in Node's V8 (the worker's clock cannot see it). */
async function nodeInstantiateMs(runs = 50): Promise<number> {
  const module = await WebAssembly.compile(readFileSync(join(root, "build/kafkasm.wasm")));
  const imports: Record<string, Record<string, () => void>> = {};
  for (const i of WebAssembly.Module.imports(module)) (imports[i.module] ??= {})[i.name] = () => {};
  const t = new Float64Array(runs);
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); await WebAssembly.instantiate(module, imports); t[i] = performance.now() - t0; }
  return quantile(t.sort(), 0.5);
}

async function listening(url: string, ms: number): Promise<void> {
  const { port } = new URL(url);
  await until(() => new Promise<boolean>((r) => { const s = netConnect(Number(port), "127.0.0.1", () => { s.destroy(); r(true); }); s.on("error", () => r(false)); }), ms, "workerd to listen");
}

async function main(): Promise<number> {
  const { options: a } = parseArgs(process.argv.slice(2), spec);
  const topic = `bench-workerd-${Date.now().toString(36)}`;
  const cluster = await startCluster({ brokers: 3, topics: [{ name: topic, partitions: 3 }] });
  const relays = new Relays();
  for (const b of cluster.brokers) await relays.add(b);
  const cold: Parts[] = [], warm: Parts[] = [], bootMs: number[] = [], controlMs: number[] = [];
  const offsets = new Set<string>();
  const query = new URLSearchParams({ broker: `${cluster.brokers[0]!.host}:${cluster.brokers[0]!.port}`, topic, relays: JSON.stringify(Object.fromEntries(relays.ports)) });
  const request = async (url: string, into: Parts[]) => {
    relays.reset();
    const t0 = performance.now();
    const { body, at } = await get(`${url}?${query}`);
    const r = JSON.parse(body) as { ok: boolean; partition: number; offset: number; error?: string };
    if (!r.ok) throw new Error(`worker: ${r.error}`);
    offsets.add(`${r.partition}:${r.offset}`);
    into.push(parts(t0, at, relays));
    // The producer closes in waitUntil: runs stay apart (and no connection is shared) once its sockets are gone.
    await until(() => relays.open === 0, 15_000, "the producer's connections to close");
  };
  try {
    await get("http://127.0.0.1:1/").catch(() => {}); // Node's HTTP client loaded before the first timed request
    for (let i = 0; i < a.cold; i++) {
      const c = await serveWorker("src/workerd.ts", WORKER);
      try {
        await listening(c.url, 60_000);
        const t0 = performance.now();
        const { body, at } = await get(`${c.url}?ping`);
        if (body !== "pong") throw new Error(`control: ${body}`);
        controlMs.push(at - t0);
      } finally {
        c.stop();
      }
      const w = await serveWorker("src/workerd.ts", WORKER);
      try {
        const s0 = performance.now();
        await listening(w.url, 60_000);
        bootMs.push(performance.now() - s0);
        await request(w.url, cold);
        if (i === a.cold - 1) for (let j = 0; j < a.warm; j++) await request(w.url, warm);
      } finally {
        w.stop();
      }
      log(`  cold ${i + 1}/${a.cold}: ${cold.at(-1)!.total.toFixed(1)} ms${i === a.cold - 1 && a.warm ? `; warm ×${a.warm}: median ${quantile(warm.map((x) => x.total).sort((x, y) => x - y), 0.5).toFixed(1)} ms` : ""}`);
    }
  } finally {
    await relays.close();
  }
  const inKafka = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0);
  await cluster.stop();
  const requests = cold.length + warm.length;
  const verified = inKafka === requests && offsets.size === requests;
  const nodeWasm = await nodeInstantiateMs();

  const KEYS = ["total", ...PARTS] as const;
  const stat = (rows: Parts[], q: number) => Object.fromEntries(KEYS.map((k) => [k, Math.round(quantile(rows.map((r) => r[k]).sort((x, y) => x - y), q) * 1000) / 1000])) as Record<(typeof KEYS)[number], number>;
  const cm = stat(cold, 0.5), c9 = stat(cold, 0.9), wm = warm.length ? stat(warm, 0.5) : undefined, w9 = warm.length ? stat(warm, 0.9) : undefined;
  const f = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "-" : n.toFixed(2));
  const out = ["", "bench/workerd: HTTP request → first acknowledged record, new producer per request (ms, Node's clock; parts add up to total)",
    "  " + "part".padEnd(16) + ["cold median", "cold p90", "warm median", "warm p90"].map((h) => h.padStart(12)).join(""),
    ...KEYS.map((k) => "  " + k.padEnd(16) + [cm[k], c9[k], wm?.[k], w9?.[k]].map((v) => f(v).padStart(12)).join("")),
    "",
    `  control: first request of a fresh isolate that does not produce, median of ${controlMs.length}: ${f(quantile([...controlMs].sort((x, y) => x - y), 0.5))} ms, p90 ${f(quantile([...controlMs].sort((x, y) => x - y), 0.9))} ms`,
    `  workerd start (spawn → listening), median of ${bootMs.length}: ${f(quantile([...bootMs].sort((x, y) => x - y), 0.5))} ms`,
    `  codec instantiation in Node's V8 (same module, median of 50): ${nodeWasm.toFixed(3)} ms (inside start, cold)`,
    `  requests to the brokers, first run: ${cold[0]!.api.join(" ")} (connection:API and version)`,
    `  records: ${inKafka} in Kafka for ${requests} requests (${offsets.size} distinct offsets): ${verified ? "ok" : "MISMATCH"}`,
    "", `cold: ${a.cold} fresh workerd processes, first request each; warm: ${a.warm} requests to the last one. Shared 2-core machine: noisy.`,
  ];
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, note: "shared machine; noisy" },
    unit: "ms", cold: { median: cm, p90: c9, runs: cold }, warm: { median: wm ?? null, p90: w9 ?? null, runs: warm },
    workerdStartMs: bootMs, controlFirstRequestMs: controlMs, nodeInstantiateMs: nodeWasm, recordsInKafka: inKafka, requests, verified }, null, 2) + "\n");
  const chart = (title: string, m: typeof cm, p9: typeof cm, control?: number) => ({ title, unit: "ms", bars: [
    { label: "total (median)", value: m.total, ours: true }, { label: "total (p90)", value: p9.total, ours: true },
    ...(control === undefined ? [] : [{ label: "control: no producer", value: control }]),
    ...PARTS.map((k) => ({ label: `${k} (median)`, value: m[k] })),
  ] });
  const svgPath = writeSvg(a.out, "workerd: request → first acknowledged record with a new producer", [
    chart(`cold isolate (${a.cold} fresh processes)`, cm, c9, quantile([...controlMs].sort((x, y) => x - y), 0.5)),
    ...(wm && w9 ? [chart(`warm isolate (${a.warm} requests)`, wm, w9)] : []),
  ], "timed in Node through TCP relays (workerd's own clock steps only across I/O); shared 2-core machine; noisy");
  log(`wrote ${a.out} and ${svgPath}`);
  return verified ? 0 : 1;
}

process.exitCode = await main();
