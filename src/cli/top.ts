/**
 * `kafkasm top`: a live terminal view, redrawn in place with ANSI escapes (no dependency), of either
 * a producer's `metrics()` while it runs a perf-like load (`--brokers … --topic …`), or a proxy's
 * `/stats` (and `/metrics` latency histogram) polled over HTTP (`--proxy http://host:port/stats`).
 * Per interval: records/s, MB/s, latency p50/p99, errors by code, per-broker RTT. `--once --json`
 * prints one frame as JSON and exits (scripts and tests).
 */
import { formatHelp, parseAcks, parseArgs, parseBrokers, UsageError, type OptionSpecs } from "./args.ts";
import { quantile, randomPayload } from "./perf.ts";
import type { ProducerMetrics } from "../producer/hooks.ts";

/** One frame of the view. */
export interface TopFrame {
  source: "producer" | "proxy";
  /** Seconds covered by the rates. */
  intervalSec: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** Produce round trips (producer) or broker request latency (proxy) in the interval; null when none. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Failures in the interval: error codes (producer) or refusal reasons (proxy). */
  errors: Record<string, number>;
  /** Per broker `host:port`: average Produce RTT over the interval (producer only). */
  brokers: Record<string, { rttMs: number | null; inFlight: number; connections: number }>;
  /** Proxy only: open connections. */
  connections?: number;
  totals: { records: number; failed: number; bytes: number };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** The frame between two `metrics()` snapshots; `rtts` are the Produce round trips seen in between. */
export function producerFrame(before: ProducerMetrics | undefined, after: ProducerMetrics, rtts: number[]): TopFrame {
  const dt = before ? Math.max(1e-3, (after.time - before.time) / 1000) : 1;
  const errors: Record<string, number> = {};
  for (const [key, p] of Object.entries(after.partitions)) {
    const old = before?.partitions[key]?.errors ?? {};
    for (const [code, n] of Object.entries(p.errors)) if (n - (old[code] ?? 0) > 0) errors[code] = (errors[code] ?? 0) + n - (old[code] ?? 0);
  }
  const brokers: TopFrame["brokers"] = {};
  for (const [address, b] of Object.entries(after.brokers)) {
    const old = before?.brokers[address];
    // Interval average from the running average and the answered count (requests - errors - in flight).
    const answered = (m: typeof b) => m.requests - m.requestErrors - m.inFlight;
    const n = answered(b) - (old ? answered(old) : 0);
    const rtt = n > 0 ? (b.rttAvgMs * answered(b) - (old ? old.rttAvgMs * answered(old) : 0)) / n : null;
    brokers[address] = { rttMs: rtt === null ? null : round(rtt), inFlight: b.inFlight, connections: b.connections };
  }
  const sorted = Float64Array.from(rtts).sort();
  return {
    source: "producer",
    intervalSec: round(dt, 3),
    recordsPerSec: round((after.recordsSent - (before?.recordsSent ?? 0)) / dt, 0),
    mbPerSec: round((after.bytesSent - (before?.bytesSent ?? 0)) / dt / 1048576, 3),
    p50Ms: sorted.length ? round(quantile(sorted, 0.5)) : null,
    p99Ms: sorted.length ? round(quantile(sorted, 0.99)) : null,
    errors,
    brokers,
    totals: { records: after.recordsSent, failed: after.recordsFailed, bytes: after.bytesSent },
  };
}

interface ProxySnapshot {
  time: number;
  stats: { connections: { open: number }; refused: { byReason: Record<string, number> }; bytes: { toBroker: number; toClient: number } };
  /** Cumulative histogram buckets summed over APIs: le (seconds) → count. */
  buckets?: Map<number, number>;
}

/** The latency histogram of the proxy's Prometheus exposition, summed over APIs. */
export function parseLatencyBuckets(text: string): Map<number, number> {
  const buckets = new Map<number, number>();
  const re = /^kafkasm_proxy_broker_request_duration_seconds_bucket\{[^}]*le="([^"]+)"\}\s+(\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const le = m[1] === "+Inf" ? Infinity : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  return buckets;
}

/** The upper bound (ms) of the bucket holding quantile `q` of the requests between two cumulative histograms. */
function bucketQuantile(before: Map<number, number> | undefined, after: Map<number, number>, q: number): number | null {
  const les = [...after.keys()].sort((a, b) => a - b);
  const count = (le: number) => (after.get(le) ?? 0) - (before?.get(le) ?? 0);
  const total = les.length ? count(les[les.length - 1]!) : 0;
  if (total <= 0) return null;
  for (const le of les) if (count(le) >= q * total) return Number.isFinite(le) ? round(le * 1000, 3) : null;
  return null;
}

export function proxyFrame(before: ProxySnapshot | undefined, after: ProxySnapshot): TopFrame {
  const dt = before ? Math.max(1e-3, (after.time - before.time) / 1000) : 1;
  const bytes = (s: ProxySnapshot["stats"]) => s.bytes.toBroker + s.bytes.toClient;
  const errors: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after.stats.refused.byReason)) {
    const d = n - (before?.stats.refused.byReason[reason] ?? 0);
    if (d > 0) errors[reason] = d;
  }
  const frame: TopFrame = {
    source: "proxy",
    intervalSec: round(dt, 3),
    recordsPerSec: 0,
    mbPerSec: round((bytes(after.stats) - (before ? bytes(before.stats) : 0)) / dt / 1048576, 3),
    p50Ms: after.buckets ? bucketQuantile(before?.buckets, after.buckets, 0.5) : null,
    p99Ms: after.buckets ? bucketQuantile(before?.buckets, after.buckets, 0.99) : null,
    errors,
    brokers: {},
    connections: after.stats.connections.open,
    totals: { records: 0, failed: 0, bytes: bytes(after.stats) },
  };
  return frame;
}

/** The frame as terminal lines. */
export function renderFrame(f: TopFrame, title: string): string[] {
  const fmt = (n: number | null, d = 0) => (n === null ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
  const lines = [
    `kafkasm top — ${title}`,
    "",
    f.source === "producer"
      ? `records/s ${fmt(f.recordsPerSec).padStart(10)}   MB/s ${fmt(f.mbPerSec, 2).padStart(8)}   produce rtt p50 ${fmt(f.p50Ms, 2)} ms  p99 ${fmt(f.p99Ms, 2)} ms`
      : `connections ${fmt(f.connections ?? 0)}   MB/s ${fmt(f.mbPerSec, 2).padStart(8)}   broker latency p50 ≤${fmt(f.p50Ms, 1)} ms  p99 ≤${fmt(f.p99Ms, 1)} ms`,
    `totals: ${fmt(f.totals.records)} records, ${fmt(f.totals.failed)} failed, ${fmt(f.totals.bytes / 1048576, 1)} MB`,
    `errors: ${Object.entries(f.errors).map(([c, n]) => `${c} ${n}`).join(", ") || "none"}`,
  ];
  const brokers = Object.entries(f.brokers);
  if (brokers.length) {
    lines.push("", `${"broker".padEnd(24)} ${"rtt ms".padStart(8)} ${"in flight".padStart(10)} conn`);
    for (const [address, b] of brokers) lines.push(`${address.padEnd(24)} ${fmt(b.rttMs, 2).padStart(8)} ${String(b.inFlight).padStart(10)} ${b.connections}`);
  }
  return lines;
}

const spec = {
  brokers: { type: "string", valueName: "H:P[,H:P]", description: "run a load against these brokers and watch the producer" },
  topic: { type: "string", valueName: "T", description: "topic of the load (with --brokers)" },
  proxy: { type: "string", valueName: "URL", description: "watch a proxy: its stats URL, e.g. http://host:8080/stats" },
  "metrics-url": { type: "string", valueName: "URL", description: "the proxy's Prometheus URL for latency (default: the stats URL with /metrics)" },
  token: { type: "string", valueName: "TOKEN", description: "bearer token for the proxy's stats (or KAFKASM_PROXY_TOKEN)" },
  "record-size": { type: "number", default: 100, integer: true, min: 0, valueName: "B", description: "bytes per record of the load" },
  throughput: { type: "number", default: -1, valueName: "N", description: "records/s of the load; -1 = unthrottled" },
  acks: { type: "string", default: "all", valueName: "0|1|all", description: "acknowledgements of the load" },
  "interval-ms": { type: "number", default: 1000, integer: true, min: 50, valueName: "MS", description: "refresh interval" },
  once: { type: "boolean", description: "one frame (after one interval), then exit" },
  json: { type: "boolean", description: "frames as JSON lines instead of the terminal view" },
} as const satisfies OptionSpecs;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Sleeps `ms`, or less when `signal` aborts (its listener removed either way). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => { clearTimeout(timer); signal.removeEventListener("abort", done); resolve(); };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** `kafkasm top …` */
export async function run(argv: string[]): Promise<number> {
  const { options: o, help } = parseArgs(argv, spec);
  if (help) {
    process.stdout.write(formatHelp("kafkasm top (--brokers H:P --topic T | --proxy URL) [options]",
      "A live view of a producer's metrics under a load, or of a proxy's stats: records/s, MB/s, latency\n" +
      "p50/p99, errors by code, per-broker RTT. Ctrl-C stops.", spec));
    return 0;
  }
  if ((o.brokers === undefined) === (o.proxy === undefined)) throw new UsageError("Give either --brokers (with --topic) or --proxy");
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const tty = process.stdout.isTTY && !o.json;
  let drawn = 0;
  const show = (frame: TopFrame, title: string) => {
    if (!tty) { process.stdout.write(o.json ? `${JSON.stringify(frame)}\n` : `${renderFrame(frame, title).join("\n")}\n\n`); return; }
    // Move up over the last frame and overwrite it line by line, clearing leftovers.
    const lines = renderFrame(frame, title);
    process.stdout.write(`${drawn ? `\x1b[${drawn}F` : ""}${lines.map((l) => `${l}\x1b[K`).join("\n")}\n\x1b[J`);
    drawn = lines.length;
  };
  try {
    if (o.proxy !== undefined) return await watchProxy(o.proxy, o.metricsUrl, o.token ?? process.env.KAFKASM_PROXY_TOKEN, o.intervalMs, !!o.once, stop.signal, show);
    if (o.topic === undefined) throw new UsageError("Option --brokers needs --topic");
    return await watchProducer(parseBrokers(o.brokers!), o.topic, parseAcks(o.acks), o.recordSize, o.throughput, o.intervalMs, !!o.once, stop.signal, show);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function watchProducer(brokers: string[], topic: string, acks: 0 | 1 | "all", recordSize: number, throughput: number,
  intervalMs: number, once: boolean, signal: AbortSignal, show: (f: TopFrame, title: string) => void): Promise<number> {
  const { Producer } = await import("../index.ts");
  let rtts: number[] = [];
  const producer = new Producer({
    brokers, acks, lingerMs: 5, clientId: "kafkasm-top",
    hooks: { onRequest: (e) => { if (!e.error && rtts.length < 100_000) rtts.push(e.rttMs); } },
  });
  const payload = randomPayload(recordSize);
  let outstanding = 0, failed = 0;
  let running = true;
  let firstError: string | undefined;
  // The load: keeps a bounded number of records unacknowledged, paced to --throughput.
  const load = (async () => {
    const start = Date.now();
    let sent = 0;
    while (running && !signal.aborted) {
      if (outstanding >= 10_000 || (throughput > 0 && sent / throughput > (Date.now() - start) / 1000)) { await sleep(2); continue; }
      outstanding++;
      sent++;
      producer.send({ topic, value: payload }, (error) => {
        outstanding--;
        if (error) { failed++; firstError ??= `${(error as { code?: string }).code ?? ""} ${error.message}`; }
      });
      if ((sent & 1023) === 0) await new Promise<void>((r) => setImmediate(r));
    }
  })();
  const title = `producer → ${topic} @ ${brokers.join(",")}`;
  let before: ProducerMetrics | undefined;
  let code = 0;
  try {
    // The first interval starts with the first acknowledgement (or failure), not with connecting.
    while (!((producer.metrics()?.recordsSent ?? 0) > 0 || failed > 0) && !signal.aborted) await sleep(10);
    before = producer.metrics();
    rtts = [];
    while (!signal.aborted) {
      await pause(intervalMs, signal);
      const after = producer.metrics()!;
      show(producerFrame(before, after, rtts), title);
      before = after;
      rtts = [];
      if (once) break;
    }
  } finally {
    running = false;
    await load;
    await producer.close().catch(() => {});
  }
  if (failed && !once) { process.stderr.write(`kafkasm top: ${failed} records failed; first: ${firstError}\n`); code = 1; }
  return code;
}

async function watchProxy(statsUrl: string, metricsUrl: string | undefined, token: string | undefined, intervalMs: number,
  once: boolean, signal: AbortSignal, show: (f: TopFrame, title: string) => void): Promise<number> {
  let url: URL;
  try { url = new URL(statsUrl); } catch { throw new UsageError(`Option --proxy expects a URL, got "${statsUrl}"`); }
  const metrics = metricsUrl ?? (url.pathname.endsWith("/stats") ? new URL(url.pathname.replace(/stats$/, "metrics"), url).href : undefined);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const take = async (): Promise<ProxySnapshot> => {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`GET ${url.href}: HTTP ${response.status}`);
    const snapshot: ProxySnapshot = { time: Date.now(), stats: await response.json() as ProxySnapshot["stats"] };
    if (metrics) {
      // The latency histogram is optional: a proxy without metricsPath answers 404.
      const m = await fetch(metrics, { headers, signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      if (m?.ok) snapshot.buckets = parseLatencyBuckets(await m.text());
    }
    return snapshot;
  };
  let before = await take();
  while (!signal.aborted) {
    await pause(intervalMs, signal);
    const after = await take();
    show(proxyFrame(before, after), `proxy ${url.host}`);
    before = after;
    if (once) break;
  }
  return 0;
}
