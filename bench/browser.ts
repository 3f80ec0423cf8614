/**
 * bench/browser: telemetry from a page in headless Chromium (Debian's), sent five ways:
 *   - kafkasm:          the shipped browser bundle, `producer.produce(event)` per event (fire-and-forget, linger
 *                       5 ms) through `kafkasm proxy` (startProxy, token) to the librdkafka mock, then flush();
 *   - fetch-keepalive:  `fetch(url, { method: "POST", body, keepalive: true })` per event to a same-origin
 *                       node:http endpoint, at most 32 in flight (keepalive bodies share a 64 KiB quota);
 *   - fetch:            the same without keepalive;
 *   - beacon:           `navigator.sendBeacon(url, body)` per event as pages use it: a refused beacon (the
 *                       64 KiB quota of pending keepalive bytes is full) is retried 10 ms later;
 *   - beacon-paced:     the same, but at most 200 beacons outstanding: after every 100 the page waits (one
 *                       long-polled fetch) until the endpoint has counted all but the last 100. Chromium accepts
 *                       beacons up to the byte quota (~400 of these events) but caps outstanding keepalive requests
 *                       lower: the excess fail with net::ERR_INSUFFICIENT_RESOURCES, seen only in the console (measured
 *                       here: a burst of 1,000 → 591 refused, 409 accepted, 125 failed so, 284 arrived); pacing is
 *                       what a page must do to lose none, and gives beacons' best delivered rate.
 * Events are ~200-byte JSON objects (a page-view/click with ids, URL, user agent, timestamp, sequence number).
 * Per way:
 *   - events/s delivered: kafkasm counts events acknowledged by Kafka and checks the topic's offsets; the HTTP
 *     ways count distinct sequence numbers at the endpoint (first call → last event counted, endpoint's clock
 *     for beacons, whose calls end before delivery), never calls made;
 *   - main thread µs/event: Chromium's TaskDuration (CDP Performance.getMetrics) over the run ÷ events: the calls
 *     and every task they cause (encoding, WebSocket sends, acks, fetch promise settling), in wall time; and the
 *     main thread's CPU time (ThreadTime), which a loaded 2-core machine does not inflate by preemption, and the
 *     renderer process's (ProcessTime: every thread of the page, e.g. the WebSocket's I/O);
 *   - call µs/event: only the synchronous produce()/fetch()/sendBeacon() calls, timed in the page.
 * Chromium is driven over the raw DevTools protocol (Target, Runtime.evaluate, Performance only): playwright
 * enables the Network domain on every page, which records each request with its initiator stack and made
 * fetch about 2× slower here (interleaved runs: 170-180 vs 335-379 events/s), a tax on the HTTP baselines that no
 * real page pays.
 *   npm run bench:browser [-- --events 100000 --http-events 10000 --ways kafkasm,fetch]
 * Writes bench/results/browser.json and browser.svg.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { within } from "../test/harness/bounded.ts";
import { startCluster } from "../test/harness/cluster.ts";
import { queryOffsets } from "../test/harness/kcat.ts";
import { servePage } from "../test/runtimes/browser-page.ts";
import { writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const WAYS = ["kafkasm", "fetch-keepalive", "fetch", "beacon", "beacon-paced"] as const;
type Way = (typeof WAYS)[number];
const spec = {
  events: { type: "number", default: 100_000, integer: true, min: 1, description: "events sent with kafkasm" },
  "http-events": { type: "number", default: 10_000, integer: true, min: 1, description: "events sent each HTTP way (fetch runs at ~1 k events/s here)" },
  ways: { type: "string", default: WAYS.join(","), description: WAYS.join(",") },
  out: { type: "string", default: join(root, "bench/results/browser.json"), description: "JSON results file" },
} as const satisfies OptionSpecs;
const log = (s: string) => process.stderr.write(s + "\n");

// window.ready once warm (kafkasm: connected, one event acknowledged; HTTP: one request answered);
// window.run(count) then sends `count` events and resolves when the page's part is done.
const PAGE = `<!doctype html><meta charset="utf-8"><title>kafkasm browser bench</title>
<script type="module">
import { Producer, websocketTransport } from "/kafkasm/kafkasm.js";
window.errors = [];
addEventListener("error", (e) => window.errors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => window.errors.push(String(e.reason && e.reason.message || e.reason)));
const q = new URLSearchParams(location.search);
const way = q.get("way");
const topic = q.get("topic");
const event = (i) => JSON.stringify({ type: i % 5 ? "click" : "page_view", session: "s-4f9c2a7e1b", user: "u-" + (i % 997),
  page: "/products/category/item-" + (i % 211) + "?ref=home", target: "button#add-to-cart", ua: "Mozilla/5.0 (X11; Linux x86_64)",
  ts: 1767225600000 + i, seq: i });
let bytes = 0;
for (let i = 0; i < 1000; i++) bytes += new TextEncoder().encode(event(i)).length;
window.eventBytes = bytes / 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let producer;
if (way === "kafkasm") {
  producer = new Producer({ brokers: q.get("brokers").split(","), transport: websocketTransport({ url: q.get("url"), token: q.get("token") }), lingerMs: 5,
    onError: (e) => { window.failed = (window.failed || 0) + 1; window.firstError ??= String(e && e.message || e); } });
  window.stage = "warm-up send";
  await producer.send({ topic, value: event(-1) });
} else {
  await fetch("/warm", { method: "POST", body: event(-1), keepalive: way !== "fetch" });
}
async function beacons(count, paced) {
  let refused = 0, callMs = 0;
  for (let i = 0; i < count; i++) {
    for (;;) {
      const c0 = performance.now();
      const ok = navigator.sendBeacon("/event", event(i));
      callMs += performance.now() - c0;
      if (ok) break;
      refused++;
      await sleep(10);
    }
    if (paced && i % 100 === 99 && i >= 199) {
      const r = await fetch("/drained?n=" + (i + 1 - 100));
      if (!r.ok) throw new Error("beacons not delivered: " + await r.text());
    }
  }
  return { callMs, refused };
}
window.run = async (count) => {
  let callMs = 0, refused = 0;
  const t0 = performance.now();
  if (way === "kafkasm") {
    for (let i = 0; i < count; i += 100) {
      const c0 = performance.now();
      for (let j = i; j < Math.min(count, i + 100); j++) producer.produce({ topic, value: event(j) });
      callMs += performance.now() - c0;
      if ((i / 100) % 10 === 9) await sleep(0); // a page yields between bursts of work
    }
    await producer.flush();
  } else if (way === "fetch" || way === "fetch-keepalive") {
    const keepalive = way === "fetch-keepalive";
    const inFlight = new Set();
    for (let i = 0; i < count; i++) {
      while (inFlight.size >= 32) await Promise.race(inFlight);
      const c0 = performance.now();
      const p = fetch("/event", { method: "POST", body: event(i), keepalive });
      callMs += performance.now() - c0;
      const tracked = p.then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); }).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
  } else {
    ({ callMs, refused } = await beacons(count, way === "beacon-paced"));
  }
  return { ms: performance.now() - t0, callMs, refused, failed: window.failed || 0, firstError: window.firstError, errors: window.errors };
};
window.ready = true;
</script>`;

/** A DevTools protocol client on Chromium's browser endpoint: flat sessions, commands only (no domains enabled but Performance). */
class Cdp {
  #id = 0;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; method: string }>();
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const m = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = m.id === undefined ? undefined : this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id!);
      if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`)); else p.resolve(m.result);
    });
    ws.on("close", () => { for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: DevTools connection closed`)); this.#pending.clear(); });
  }
  static async open(url: string): Promise<Cdp> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    await within(new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); }), 30_000, "the DevTools connection");
    return new Cdp(ws);
  }
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, sessionId?: string, ms = 60_000): Promise<T> {
    const id = ++this.#id;
    const p = new Promise<T>((resolve, reject) => this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method }));
    this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return within(p, ms, `DevTools ${method}`);
  }
}

/** Headless Chromium with its DevTools endpoint on a free port; the profile is a temporary folder. */
async function launch(): Promise<{ cdp: Cdp; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "kafkasm-chromium-"));
  const child: ChildProcess = spawn("/usr/bin/chromium", ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows", `--user-data-dir=${profile}`, "--remote-debugging-port=0", "about:blank"],
  { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const url = await within(new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (d) => { stderr += d; const m = /DevTools listening on (ws:\S+)/.exec(stderr); if (m) resolve(m[1]!); });
    child.once("exit", (code) => reject(new Error(`chromium exited (${code}): ${stderr.slice(-2000)}`)));
  }), 90_000, "Chromium's DevTools endpoint");
  const cdp = await Cdp.open(url);
  return {
    cdp,
    async close() {
      cdp.ws.close();
      child.kill("SIGKILL");
      if (child.exitCode === null) await within(new Promise((r) => child.once("exit", r)), 15_000, "Chromium to exit");
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

interface RunResult { ms: number; callMs: number; refused: number; failed: number; firstError?: string; errors: string[] }
interface Row {
  way: Way; events: number; /** events in Kafka (offsets) or distinct events the endpoint counted */ delivered: number;
  /** accepted by sendBeacon but never delivered */ lost: number; refused: number; eventsPerSec: number;
  mainThreadUsPerEvent: number; /** CPU time of the main thread (ThreadTime), free of preemption */ mainThreadCpuUsPerEvent: number;
  /** CPU time of the page's renderer process, all threads (ProcessTime) */ rendererCpuUsPerEvent: number;
  callUsPerEvent: number; seconds: number; verified: boolean;
}

async function main(): Promise<number> {
  const { options: a } = parseArgs(process.argv.slice(2), spec);
  const ways = a.ways.split(",").map((s) => s.trim()).filter(Boolean) as Way[];
  for (const w of ways) if (!WAYS.includes(w)) throw new Error(`unknown way ${w}; known: ${WAYS.join(", ")}`);

  // The endpoint: counts distinct sequence numbers; /drained?n=N answers once N are counted (or 504 after 10 s).
  let seen = new Uint8Array(0), counted = 0, duplicates = 0, lastArrival = 0;
  let waiters: { n: number; res: ServerResponse; timer: NodeJS.Timeout }[] = [];
  const wake = () => {
    waiters = waiters.filter((w) => { if (counted < w.n) return true; clearTimeout(w.timer); w.res.writeHead(204).end(); return false; });
  };
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/event" || url.pathname === "/warm") {
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        if (url.pathname === "/event") {
          const seq = (JSON.parse(Buffer.concat(chunks).toString()) as { seq: number }).seq;
          if (seen[seq]) duplicates++; else { seen[seq] = 1; counted++; lastArrival = performance.now(); wake(); }
        }
        res.writeHead(204).end();
      });
      return true;
    }
    if (url.pathname === "/drained") {
      const n = Number(url.searchParams.get("n"));
      if (counted >= n) { res.writeHead(204).end(); return true; }
      const w = { n, res, timer: setTimeout(() => { waiters = waiters.filter((x) => x !== w); res.writeHead(504).end(`${counted} of ${n} counted after 10 s`); }, 10_000) };
      waiters.push(w);
      return true;
    }
    return false;
  };
  const site = await servePage("src/browser.ts", PAGE, { handle });
  const cluster = await startCluster({ brokers: 3 });
  const proxy = await startProxy({ allow: cluster.brokers.map((x) => `${x.host}:${x.port}`), token: "bench", log: () => {} });
  const chromium = await launch();
  const { cdp } = chromium;
  const rows: Row[] = [];
  let eventBytes = NaN;
  const stamp = Date.now().toString(36);
  try {
    for (const way of ways) {
      const count = way === "kafkasm" ? a.events : a.httpEvents;
      const topic = `bench-browser-${stamp}`;
      if (way === "kafkasm") await cluster.createTopic(topic, 4);
      seen = new Uint8Array(count); counted = 0; duplicates = 0; lastArrival = 0;
      log(`  ${way}: ${count.toLocaleString("en-US")} events …`);
      // A fresh browser context per way: its own sockets and keepalive quota.
      const { browserContextId } = await cdp.send<{ browserContextId: string }>("Target.createBrowserContext");
      const q = new URLSearchParams({ way, topic, brokers: cluster.bootstrap, url: `${proxy.url}/broker/{host}:{port}`, token: "bench" });
      const { targetId } = await cdp.send<{ targetId: string }>("Target.createTarget", { url: `http://127.0.0.1:${site.port}/?${q}`, browserContextId });
      const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
      const evaluate = async <T>(expression: string, ms = 60_000): Promise<T> => {
        const r = await cdp.send<{ result: { value: T }; exceptionDetails?: { exception?: { description?: string }; text: string } }>(
          "Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId, ms);
        if (r.exceptionDetails) throw new Error(`${way}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
        return r.result.value;
      };
      try {
        const end = Date.now() + 60_000;
        while (!(await evaluate<boolean>("window.ready === true"))) {
          if (Date.now() > end) throw new Error(`${way}: the page was not ready after 60 s (${await evaluate("window.stage")}): ${JSON.stringify(await evaluate("[window.firstError, ...window.errors]"))}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        eventBytes = await evaluate<number>("window.eventBytes");
        await cdp.send("Performance.enable", {}, sessionId);
        const metrics = async () => {
          const m = new Map((await cdp.send<{ metrics: { name: string; value: number }[] }>("Performance.getMetrics", {}, sessionId)).metrics.map((x) => [x.name, x.value]));
          return { task: m.get("TaskDuration")!, thread: m.get("ThreadTime") ?? NaN, process: m.get("ProcessTime") ?? NaN };
        };
        const before = await metrics();
        const t0 = performance.now();
        const r = await evaluate<RunResult>(`window.run(${count})`, 170_000);
        const after = await metrics();
        const mainSeconds = after.task - before.task;
        if (r.failed || r.errors.length) throw new Error(`${way}: ${r.failed} failed (${r.firstError}) ${r.errors.join("; ")}`);
        // Beacons are on their way when the calls return: wait for the count to reach them or to stop moving for 3 s.
        if (way.startsWith("beacon")) {
          let last = -1, since = Date.now();
          while (counted < count && Date.now() - since < 3000) {
            if (counted !== last) { last = counted; since = Date.now(); }
            await new Promise((res) => setTimeout(res, 20));
          }
        }
        const delivered = way === "kafkasm" ? (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0) - 1 : counted;
        const seconds = way.startsWith("beacon") ? (lastArrival - t0) / 1000 : r.ms / 1000;
        const row: Row = {
          way, events: count, delivered, lost: way.startsWith("beacon") ? count - counted : 0, refused: r.refused,
          seconds: Math.round(seconds * 1000) / 1000, eventsPerSec: Math.round(delivered / seconds),
          mainThreadUsPerEvent: Math.round((mainSeconds * 1e6 / count) * 100) / 100,
          mainThreadCpuUsPerEvent: Math.round(((after.thread - before.thread) * 1e6 / count) * 100) / 100,
          rendererCpuUsPerEvent: Math.round(((after.process - before.process) * 1e6 / count) * 100) / 100,
          callUsPerEvent: Math.round((r.callMs * 1000 / count) * 100) / 100, verified: delivered === count && duplicates === 0,
        };
        rows.push(row);
        log(`    ${row.eventsPerSec.toLocaleString("en-US")} events/s delivered, main thread ${row.mainThreadUsPerEvent} µs/event (CPU ${row.mainThreadCpuUsPerEvent}), calls ${row.callUsPerEvent} µs/event, ` +
          `delivered ${delivered}/${count}${r.refused ? `, ${r.refused} refused calls retried` : ""}${duplicates ? `, ${duplicates} duplicates` : ""}`);
      } finally {
        await cdp.send("Target.closeTarget", { targetId }).catch(() => {});
        await cdp.send("Target.disposeBrowserContext", { browserContextId }).catch(() => {});
      }
    }
  } finally {
    await chromium.close();
    await proxy.close();
    await cluster.stop();
    await site.close();
  }

  const ours = rows.find((r) => r.way === "kafkasm");
  const ratio = (x: number, y: number) => (x / y >= 10 ? `${(x / y).toFixed(0)}×` : `${(x / y).toFixed(1)}×`);
  const head = ["way", "events", "delivered", "events/s", "kafkasm ×", "main thread", "÷ kafkasm", "main CPU", "÷ kafkasm", "renderer CPU", "call only", "refused", "lost"];
  const body = rows.map((r) => [r.way, r.events.toLocaleString("en-US"), r.delivered.toLocaleString("en-US"), r.eventsPerSec.toLocaleString("en-US"),
    ours && r !== ours ? ratio(ours.eventsPerSec, r.eventsPerSec) : "",
    `${r.mainThreadUsPerEvent.toFixed(1)} µs/ev`, ours && r !== ours ? ratio(r.mainThreadUsPerEvent, ours.mainThreadUsPerEvent) : "",
    `${r.mainThreadCpuUsPerEvent.toFixed(1)} µs/ev`, ours && r !== ours ? ratio(r.mainThreadCpuUsPerEvent, ours.mainThreadCpuUsPerEvent) : "",
    `${r.rendererCpuUsPerEvent.toFixed(1)} µs/ev`,
    `${r.callUsPerEvent.toFixed(2)} µs/ev`, String(r.refused), String(r.lost)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((x) => x[i]!.length)));
  const line = (c: string[]) => "  " + c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  const out = ["", `bench/browser: ${eventBytes.toFixed(0)} B JSON events from a Chromium page (kafkasm through kafkasm proxy to the mock; HTTP ways to node:http, same machine)`,
    line(head), line(widths.map((w) => "─".repeat(w))), ...body.map(line), "",
    "events/s = events delivered (Kafka offsets / distinct events counted by the endpoint) per second; kafkasm × = its events/s ÷ the way's.",
    "main thread = Chromium's TaskDuration over the run ÷ events (calls + the tasks they cause, wall time); ÷ kafkasm = the way's ÷ kafkasm's.",
    "main CPU = the main thread's CPU time (ThreadTime: no time lost to other processes); renderer CPU = all the page's threads (ProcessTime).",
    "call only = the synchronous calls. refused = sendBeacon calls refused (quota full) and retried; lost = accepted, never delivered.",
    "Chromium, the proxy, the endpoint and the mock share one machine (2 cores, other jobs): noisy."];
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, note: "shared machine; noisy" },
    chromium: execFileSync("/usr/bin/chromium", ["--version"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim(),
    eventBytes, results: rows }, null, 2) + "\n");
  // Labels carry the ratio to kafkasm; log scales, as the ways are two decades apart.
  const bars = (value: (r: Row) => number, kafkasmOver: boolean) => rows.map((r) => ({ ours: r === ours, value: value(r),
    label: ours && r !== ours ? `${r.way} (${kafkasmOver ? ratio(value(ours), value(r)) : ratio(value(r), value(ours))})` : r.way }));
  const svgPath = writeSvg(a.out, `Telemetry events (${eventBytes.toFixed(0)} B) from a Chromium page: kafkasm vs fetch vs sendBeacon`, [
    { title: "events delivered per second (kafkasm ×)", unit: "events/s", log: true, bars: bars((r) => r.eventsPerSec, true) },
    { title: "main-thread time per event (× kafkasm)", unit: "µs", log: true, bars: bars((r) => r.mainThreadUsPerEvent, false) },
    { title: "main-thread CPU time per event (× kafkasm)", unit: "µs", log: true, bars: bars((r) => r.mainThreadCpuUsPerEvent, false) },
    { title: "synchronous call time per event (× kafkasm)", unit: "µs", log: true, bars: bars((r) => r.callUsPerEvent, false) },
  ], `${ours ? `kafkasm ${ours.events.toLocaleString("en-US")} events, ` : ""}HTTP ways ${a.httpEvents.toLocaleString("en-US")} each; shared 2-core machine; one run; noisy`);
  log(`wrote ${a.out} and ${svgPath}`);
  // Unpaced beacons losing events is a finding, not a failure of the bench; every other way must deliver all.
  return rows.every((r) => r.verified || r.way === "beacon") ? 0 : 1;
}

process.exitCode = await main();
