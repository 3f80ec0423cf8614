/**
 * `kafkasm perf`: a producer throughput and latency test in the manner of Kafka's
 * kafka-producer-perf-test. Sends `--records` records of `--record-size` random bytes as fast as
 * the producer takes them (or at `--throughput` records/s), with a live progress line on stderr;
 * the last stdout line is JSON {"records","recordsPerSec","mbPerSec","p50Ms","p99Ms",…}.
 * `runPerf` is also what bench/produce.ts runs for kafkasm.
 */
import { formatHelp, parseAcks, parseArgs, parseBrokers, type OptionSpecs } from "./args.ts";

/** The part of the Producer that the perf loop uses. */
export interface PerfProducer {
  send(record: { topic: string; value: Uint8Array; key?: null }, callback: (error: unknown, meta?: unknown) => void): void;
  flush(): Promise<void>;
}

export interface PerfOptions {
  topic: string;
  records: number;
  recordSize: number;
  /** Records per second; -1 (or 0) = as fast as possible. */
  throughput?: number;
  /** One latency sample per this many records (a power of two). @default 16 */
  sampleEvery?: number;
  /** Called about once a second with the window's figures. */
  onProgress?: (p: PerfProgress) => void;
  progressIntervalMs?: number;
  /** Unacknowledged bytes the loop lets build up before it waits. @default 8 MiB */
  windowBytes?: number;
}

export interface PerfProgress {
  /** Records acknowledged (or failed) so far. */
  done: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgMs: number;
  maxMs: number;
}

export interface PerfResult {
  /** Records acknowledged. */
  records: number;
  failed: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  avgMs: number;
  maxMs: number;
  /** Code and message of the first failure, if any. */
  firstError?: string;
}

/** `count` bytes of random uppercase letters, like the perf test's payload (so lines are printable). */
export function randomPayload(count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = 65 + Math.floor(Math.random() * 26);
  return out;
}

/** The value at quantile `q` of an ascending array (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return `${typeof e?.code === "string" ? `${e.code}: ` : ""}${String(e?.message ?? error)}`;
}

const now = () => performance.now();

/**
 * Sends `records` records through `producer` and waits for every acknowledgement. Latency is
 * sampled (one record in `sampleEvery` carries its send time in a closure; the rest share one
 * callback), so measuring does not allocate per record. Backpressure: the loop waits whenever more
 * than `windowBytes` are unacknowledged, and yields to the event loop regularly so that lingering
 * batches and socket writes proceed.
 */
export async function runPerf(producer: PerfProducer, options: PerfOptions): Promise<PerfResult> {
  const { topic, records, recordSize } = options;
  const throughput = options.throughput && options.throughput > 0 ? options.throughput : 0;
  const sampleEvery = options.sampleEvery ?? 16;
  const mask = sampleEvery - 1;
  const window = Math.max(1000, Math.floor((options.windowBytes ?? 8 * 1024 * 1024) / (recordSize + 70)));
  const payload = randomPayload(recordSize);
  const samples = new Float64Array(Math.ceil(records / sampleEvery) + 1);
  let sampleCount = 0;
  let sent = 0, done = 0, failed = 0;
  let firstError: string | undefined;
  let waiter: (() => void) | undefined;
  let waitBelow = 0;
  let finished: (() => void) | undefined;

  const complete = (error: unknown) => {
    done++;
    if (error) { failed++; firstError ??= describe(error); }
    if (waiter !== undefined && sent - done <= waitBelow) { const w = waiter; waiter = undefined; w(); }
    if (finished !== undefined && done === records) finished();
  };
  const onAck = (error: unknown) => complete(error);

  // Progress: one interval timer, figures over the last window of samples.
  let lastTick = now(), lastDone = 0, lastSample = 0;
  const tick = () => {
    const t = now();
    const dt = (t - lastTick) / 1000;
    let sum = 0, max = 0;
    for (let i = lastSample; i < sampleCount; i++) { const v = samples[i]!; sum += v; if (v > max) max = v; }
    const n = sampleCount - lastSample;
    options.onProgress?.({
      done,
      recordsPerSec: (done - lastDone) / dt,
      mbPerSec: ((done - lastDone) * recordSize) / dt / 1048576,
      avgMs: n ? sum / n : NaN,
      maxMs: max,
    });
    lastTick = t; lastDone = done; lastSample = sampleCount;
  };
  const timer = options.onProgress ? setInterval(tick, options.progressIntervalMs ?? 1000) : undefined;

  const start = now();
  try {
    while (sent < records) {
      if (sent - done >= window) {
        waitBelow = window >> 1;
        await new Promise<void>((r) => (waiter = r));
      } else if ((sent & 4095) === 0 && sent > 0) {
        // Let timers (linger) and socket I/O run; without this the loop would starve them until the window fills.
        await new Promise<void>((r) => setImmediate(r));
      }
      if (throttle(throughput, sent, start)) {
        await new Promise<void>((r) => setTimeout(r, Math.max(1, ((sent / throughput) * 1000) - (now() - start))));
      }
      const record = { topic, value: payload, key: null };
      try {
        if ((sent & mask) === 0) {
          const t0 = now();
          producer.send(record, (error) => {
            if (!error) samples[sampleCount++] = now() - t0;
            complete(error);
          });
        } else {
          producer.send(record, onAck);
        }
      } catch (error) {
        sent++;
        complete(error);
        continue;
      }
      sent++;
    }
    await producer.flush();
    if (done < records) await new Promise<void>((r) => (finished = r));
  } finally {
    if (timer) clearInterval(timer);
  }
  const seconds = (now() - start) / 1000;
  const sorted = samples.subarray(0, sampleCount).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  const acked = records - failed;
  return {
    records: acked,
    failed,
    seconds,
    recordsPerSec: acked / seconds,
    mbPerSec: (acked * recordSize) / seconds / 1048576,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    avgMs: sorted.length ? sum / sorted.length : NaN,
    maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** True when the loop is ahead of the requested rate (checked every 64 records). */
function throttle(throughput: number, sent: number, start: number): boolean {
  return throughput > 0 && (sent & 63) === 0 && sent / throughput > (now() - start) / 1000 + 0.002;
}

/** One point of `--plot`: a progress window ending `t` seconds after the start. */
export interface PerfPoint { t: number; recordsPerSec: number; mbPerSec: number; avgMs: number; maxMs: number }

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * A self-contained SVG (no dependency, no script) of a perf run over time: throughput (records/s) in
 * the upper panel, latency (window average and maximum, ms) in the lower one; each series is a
 * `<polyline data-series="…">` so that tools (and the test) can read the points back.
 */
export function perfSvg(points: readonly PerfPoint[], title: string): string {
  const W = 760, H = 200, left = 70, right = 20, gap = 50, top = 40;
  const tMax = Math.max(1e-9, ...points.map((p) => p.t));
  const x = (t: number) => (left + (t / tMax) * (W - left - right)).toFixed(1);
  const out: string[] = [];
  const panel = (y0: number, label: string, series: { name: string; color: string; values: number[] }[]) => {
    const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
    const vMax = Math.max(1e-9, ...finite);
    const y = (v: number) => (y0 + H - (v / vMax) * H).toFixed(1);
    out.push(`<text x="${left}" y="${y0 - 8}" font-size="13" font-weight="bold">${xmlEscape(label)}</text>`,
      `<line x1="${left}" y1="${y0 + H}" x2="${W - right}" y2="${y0 + H}" stroke="#718096"/>`,
      `<line x1="${left}" y1="${y0}" x2="${left}" y2="${y0 + H}" stroke="#718096"/>`,
      `<text x="${left - 6}" y="${y0 + 10}" font-size="11" text-anchor="end">${xmlEscape(vMax.toPrecision(3))}</text>`,
      `<text x="${left - 6}" y="${y0 + H}" font-size="11" text-anchor="end">0</text>`,
      `<text x="${W - right}" y="${y0 + H + 14}" font-size="11" text-anchor="end">${xmlEscape(tMax.toFixed(1))} s</text>`);
    series.forEach((s, i) => {
      const pts = points.map((p, j) => [p.t, s.values[j]!] as const).filter(([, v]) => Number.isFinite(v));
      out.push(`<polyline data-series="${s.name}" fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.map(([t, v]) => `${x(t)},${y(v)}`).join(" ")}"/>`,
        `<text x="${left + 10 + i * 140}" y="${y0 + H + 14}" font-size="11" fill="${s.color}">${xmlEscape(s.name)}</text>`);
    });
  };
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">${xmlEscape(title)}</text>`);
  panel(top + 10, "throughput (records/s)", [{ name: "recordsPerSec", color: "#2b6cb0", values: points.map((p) => p.recordsPerSec) }]);
  panel(top + 10 + H + gap, "latency (ms)", [
    { name: "avgMs", color: "#2f855a", values: points.map((p) => p.avgMs) },
    { name: "maxMs", color: "#c53030", values: points.map((p) => p.maxMs) },
  ]);
  const height = top + 10 + 2 * H + gap + 30;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${out.join("\n")}\n</svg>\n`;
}

const spec = {
  brokers: { type: "string", required: true, valueName: "H:P[,H:P]", description: "bootstrap brokers" },
  topic: { type: "string", required: true, valueName: "T", description: "topic to produce to" },
  records: { type: "number", required: true, integer: true, min: 1, valueName: "N", description: "number of records to send" },
  "record-size": { type: "number", required: true, integer: true, min: 0, valueName: "B", description: "bytes per record value" },
  acks: { type: "string", default: "all", valueName: "0|1|all", description: "acknowledgements to wait for" },
  idempotent: { type: "boolean", description: "idempotent producer (default: on with acks all, as in Java)" },
  compression: { type: "string", default: "none", choices: ["none", "gzip", "snappy", "lz4", "zstd"], description: "batch compression" },
  throughput: { type: "number", default: -1, valueName: "N", description: "records/s to aim for; -1 = unthrottled" },
  "linger-ms": { type: "number", default: 5, integer: true, min: 0, valueName: "N", description: "batch linger" },
  "batch-size": { type: "number", default: 1048576, integer: true, min: 1, valueName: "B", description: "batch size in bytes" },
  plot: { type: "string", valueName: "FILE.svg", description: "write an SVG of throughput and latency over time, and the JSON result next to it (FILE.json)" },
} as const satisfies OptionSpecs;

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `kafkasm perf …` */
export async function run(argv: string[]): Promise<number> {
  const { options: o, help } = parseArgs(argv, spec);
  if (help) {
    process.stdout.write(formatHelp("kafkasm perf --brokers H:P --topic T --records N --record-size B [options]",
      "Producer throughput and latency test (like kafka-producer-perf-test). Progress goes to stderr;\n" +
      "the last stdout line is JSON {\"records\",\"recordsPerSec\",\"mbPerSec\",\"p50Ms\",\"p99Ms\",…}\n" +
      "(latency = send → acknowledgement, sampled on one record in 16).", spec));
    return 0;
  }
  const brokers = parseBrokers(o.brokers);
  const acks = parseAcks(o.acks);
  const { Producer } = await import("../index.ts");
  const producer = new Producer({
    brokers, acks, lingerMs: o.lingerMs, batchSize: o.batchSize, clientId: "kafkasm-perf",
    ...(o.idempotent === undefined ? {} : { idempotent: o.idempotent }),
    ...(o.compression === "none" ? {} : { compression: o.compression as "gzip" }),
  });
  const tty = process.stderr.isTTY;
  const points: PerfPoint[] = [];
  const started = performance.now();
  let result: PerfResult;
  try {
    result = await runPerf(producer as unknown as PerfProducer, {
      topic: o.topic, records: o.records, recordSize: o.recordSize, throughput: o.throughput,
      // With --plot, twice a second so that short runs still draw a curve.
      progressIntervalMs: o.plot === undefined ? 1000 : 500,
      onProgress: (p) => {
        if (o.plot !== undefined) points.push({ t: (performance.now() - started) / 1000, recordsPerSec: p.recordsPerSec, mbPerSec: p.mbPerSec, avgMs: p.avgMs, maxMs: p.maxMs });
        const line = `${fmt(p.done).padStart(12)} records  ${fmt(p.recordsPerSec).padStart(10)} rec/s  ${fmt(p.mbPerSec, 1).padStart(7)} MB/s  ` +
          `latency avg ${Number.isNaN(p.avgMs) ? "-" : fmt(p.avgMs, 2)} ms, max ${fmt(p.maxMs, 2)} ms`;
        process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      },
    });
  } finally {
    await producer.close().catch(() => {});
  }
  if (tty) process.stderr.write("\n");
  process.stderr.write(`${fmt(result.records)} records sent, ${fmt(result.recordsPerSec)} records/s (${fmt(result.mbPerSec, 2)} MB/s), ` +
    `latency p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms, avg ${fmt(result.avgMs, 2)} ms, max ${fmt(result.maxMs, 2)} ms\n`);
  if (result.failed) process.stderr.write(`${fmt(result.failed)} records failed; first: ${result.firstError}\n`);
  const round = (n: number, d = 3) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : null);
  const summary = JSON.stringify({
    records: result.records, recordsPerSec: round(result.recordsPerSec, 0), mbPerSec: round(result.mbPerSec, 2),
    p50Ms: round(result.p50Ms), p99Ms: round(result.p99Ms), avgMs: round(result.avgMs), maxMs: round(result.maxMs),
    failed: result.failed, seconds: round(result.seconds),
  });
  if (o.plot !== undefined) {
    // A run shorter than one window has no progress point: plot the whole run as one.
    if (points.length === 0) points.push({ t: result.seconds, recordsPerSec: result.recordsPerSec, mbPerSec: result.mbPerSec, avgMs: result.avgMs, maxMs: result.maxMs });
    const { writeFileSync } = await import("node:fs");
    const jsonPath = o.plot.replace(/\.svg$/i, "") + ".json";
    writeFileSync(o.plot, perfSvg(points, `kafkasm perf: ${o.topic}, ${fmt(o.records)} × ${o.recordSize} B, acks ${o.acks}`));
    writeFileSync(jsonPath, JSON.stringify({ ...JSON.parse(summary), series: points }, null, 1) + "\n");
    process.stderr.write(`plot: ${o.plot}, ${jsonPath}\n`);
  }
  process.stdout.write(summary + "\n");
  return result.failed ? 1 : 0;
}
