/**
 * bench/browser: telemetry from a page in Chromium (Debian's, driven by playwright-core), three ways:
 *   - kafkasm:  the shipped browser bundle, `producer.produce(event)` per event (fire-and-forget, linger
 *               5 ms) through `kafkasm proxy` (startProxy, token) to the librdkafka mock, then flush();
 *   - fetch:    `fetch(url, { method: "POST", body, keepalive: true })` per event to a node:http endpoint
 *               on the same machine that counts events (at most 32 in flight: keepalive bodies share a
 *               64 KiB quota);
 *   - beacon:   `navigator.sendBeacon(url, body)` per event (a refused beacon — queue full — is retried
 *               10 ms later), until the endpoint has counted every event.
 * Events are ~200-byte JSON objects (a page-view/click with ids, URL, timestamp). Per way:
 *   - µs/event of the page's main thread, from Chromium's own TaskDuration (CDP Performance.getMetrics)
 *     over the whole run: the calls and every task they cause (encoding, WebSocket sends, acks);
 *   - µs per call: only the synchronous produce()/fetch()/sendBeacon() calls, timed in the page;
 *   - events/s: first call → every event acknowledged (kafkasm) or counted by the endpoint.
 * Every kafkasm event is checked against the topic's offsets, every HTTP event against the count (beacons the
 * browser accepted but never delivered show as counted/sent).
 *   npm run bench:browser [-- --events 20000 --http-events 2000]
 * Writes bench/results/browser.json and browser.svg.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import { parseArgs, type OptionSpecs } from "../src/cli/args.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { startCluster } from "../test/harness/cluster.ts";
import { queryOffsets } from "../test/harness/kcat.ts";
import { bundleSpec } from "../test/runtimes/runtime-helpers.ts";
import { writeSvg } from "./plot.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const spec = {
  events: { type: "number", default: 20_000, integer: true, min: 1, description: "events sent with kafkasm" },
  "http-events": { type: "number", default: 2000, integer: true, min: 1, description: "events sent with fetch and with sendBeacon" },
  ways: { type: "string", default: "kafkasm,fetch,beacon", description: "kafkasm,fetch,beacon" },
  out: { type: "string", default: join(root, "bench/results/browser.json"), description: "JSON results file" },
} as const satisfies OptionSpecs;
const WAYS = ["kafkasm", "fetch", "beacon"] as const;
type Way = (typeof WAYS)[number];
const log = (s: string) => process.stderr.write(s + "\n");

// window.ready once warm (kafkasm: connected, one event acknowledged); window.run() then sends `count` events.
const PAGE = `<!doctype html><meta charset="utf-8"><title>kafkasm browser bench</title>
<script type="module">
import { Producer, websocketTransport } from "/kafkasm/kafkasm.js";
const q = new URLSearchParams(location.search);
const way = q.get("way");
const topic = q.get("topic");
const event = (i) => JSON.stringify({ type: i % 5 ? "click" : "page_view", session: "s-4f9c2a7e1b", user: "u-" + (i % 997), page: "/products/category/item-" + (i % 211) + "?ref=home", target: "button#add-to-cart", ts: 1767225600000 + i, seq: i });
let producer;
if (way === "kafkasm") {
  producer = new Producer({ brokers: q.get("brokers").split(","), transport: websocketTransport({ url: q.get("url"), token: q.get("token") }), lingerMs: 5,
    onError: (e) => { window.failed = (window.failed || 0) + 1; window.firstError ??= String(e && e.message || e); } });
  await producer.send({ topic, value: event(-1) });
}
window.run = async (count) => {
  let callMs = 0;
  const t0 = performance.now();
  if (way === "kafkasm") {
    for (let i = 0; i < count; i += 100) {
      const c0 = performance.now();
      for (let j = i; j < Math.min(count, i + 100); j++) producer.produce({ topic, value: event(j) });
      callMs += performance.now() - c0;
      if ((i / 100) % 10 === 9) await new Promise((r) => setTimeout(r, 0)); // a page yields between bursts of work
    }
    await producer.flush();
  } else if (way === "fetch") {
    const inFlight = new Set();
    for (let i = 0; i < count; i++) {
      while (inFlight.size >= 32) await Promise.race(inFlight);
      const c0 = performance.now();
      const p = fetch("/event", { method: "POST", body: event(i), keepalive: true }).then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); });
      callMs += performance.now() - c0;
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
  } else {
    let refused = 0;
    for (let i = 0; i < count; i++) {
      for (;;) {
        const c0 = performance.now();
        const ok = navigator.sendBeacon("/event", event(i));
        callMs += performance.now() - c0;
        if (ok) break;
        refused++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    // Beacons the browser accepted may still be dropped: wait for the count at most 20 s, then report what arrived.
    const deadline = performance.now() + 20000;
    for (;;) { const n = Number(await (await fetch("/count")).text()); if (n >= count || performance.now() > deadline) break; await new Promise((r) => setTimeout(r, 5)); }
    window.refused = refused;
  }
  return { ms: performance.now() - t0, callMs, failed: window.failed || 0, firstError: window.firstError, refused: window.refused || 0 };
};
window.ready = true;
</script>`;

interface Row { way: Way; events: number; /** events the endpoint counted (HTTP ways) */ delivered: number; eventsPerSec: number; mainThreadUsPerEvent: number; callUsPerEvent: number; seconds: number; refused: number; verified: boolean }

async function main(): Promise<number> {
  const { options: a } = parseArgs(process.argv.slice(2), spec);
  const ways = a.ways.split(",").map((s) => s.trim()).filter(Boolean) as Way[];
  for (const w of ways) if (!WAYS.includes(w)) throw new Error(`unknown way ${w}; known: ${WAYS.join(", ")}`);
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-bench-browser-"));
  const b = await bundleSpec("src/browser.ts");
  await esbuild.build({ bundle: true, format: "esm", logLevel: "warning", absWorkingDir: root, ...b, outdir: join(dir, "kafkasm") });
  writeFileSync(join(dir, "index.html"), PAGE);
  let counted = 0;
  const http: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/event") { req.resume(); req.on("end", () => { counted++; res.writeHead(204).end(); }); return; }
    if (path === "/count") { res.writeHead(200, { "content-type": "text/plain" }).end(String(counted)); return; }
    const file = join(dir, path === "/" ? "index.html" : path.replace(/\.\.+/g, ""));
    let body: Buffer;
    try { body = readFileSync(file); } catch { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": file.endsWith(".js") ? "text/javascript" : file.endsWith(".wasm") ? "application/wasm" : "text/html" }).end(body);
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  const httpPort = (http.address() as { port: number }).port;
  const cluster = await startCluster({ brokers: 3 });
  const proxy = await startProxy({ allow: cluster.brokers.map((x) => `${x.host}:${x.port}`), token: "bench", log: () => {} });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"], timeout: 90_000 });
  const rows: Row[] = [];
  const stamp = Date.now().toString(36);
  try {
    for (const way of ways) {
      const count = way === "kafkasm" ? a.events : a.httpEvents;
      const topic = `bench-browser-${stamp}`;
      if (way === "kafkasm") await cluster.createTopic(topic, 4);
      counted = 0;
      log(`  ${way}: ${count.toLocaleString("en-US")} events …`);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      try {
        const q = new URLSearchParams({ way, topic, brokers: cluster.bootstrap, url: `${proxy.url}/broker/{host}:{port}`, token: "bench" });
        await page.goto(`http://127.0.0.1:${httpPort}/?${q}`);
        await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 60_000 });
        const cdp = await page.context().newCDPSession(page);
        await cdp.send("Performance.enable");
        const task = async () => ((await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration")?.value ?? NaN);
        const before = await task();
        const r = await page.evaluate((n) => (window as unknown as { run(n: number): Promise<{ ms: number; callMs: number; failed: number; firstError?: string; refused: number }> }).run(n), count);
        const mainSeconds = (await task()) - before;
        if (r.failed || errors.length) throw new Error(`${way}: ${r.failed} failed (${r.firstError}) ${errors.join("; ")}`);
        let verified: boolean;
        if (way === "kafkasm") verified = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, p) => s + p.high, 0) === count + 1;
        else verified = counted === count;
        if (!verified) log(`    ${way}: the endpoint counted ${counted} of ${count} events`);
        const row: Row = {
          way, events: count, seconds: Math.round(r.ms) / 1000, eventsPerSec: Math.round(count / (r.ms / 1000)),
          mainThreadUsPerEvent: Math.round((mainSeconds * 1e6 / count) * 100) / 100, callUsPerEvent: Math.round((r.callMs * 1000 / count) * 100) / 100,
          refused: r.refused, verified, delivered: way === "kafkasm" ? count : counted,
        };
        rows.push(row);
        log(`    ${row.eventsPerSec.toLocaleString("en-US")} events/s, main thread ${row.mainThreadUsPerEvent} µs/event, calls ${row.callUsPerEvent} µs/event, ${verified ? "count ok" : "count BAD"}`);
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
    await proxy.close();
    await cluster.stop();
    await new Promise<void>((r) => http.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
  const ours = rows.find((r) => r.way === "kafkasm");
  const head = ["way", "events", "events/s", "kafkasm ×", "main thread", "call only", "count"];
  const body = rows.map((r) => [r.way, r.events.toLocaleString("en-US"), r.eventsPerSec.toLocaleString("en-US"),
    ours && r !== ours ? `${(ours.eventsPerSec / r.eventsPerSec).toFixed(1)}×` : "",
    `${r.mainThreadUsPerEvent.toFixed(1)} µs/ev`, `${r.callUsPerEvent.toFixed(2)} µs/ev`, r.verified ? "ok" : `${r.delivered}/${r.events}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((x) => x[i]!.length)));
  const line = (c: string[]) => "  " + c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  const out = ["", "bench/browser: ~200 B JSON events from a Chromium page (kafkasm through kafkasm proxy; fetch keepalive / sendBeacon to node:http)",
    line(head), line(widths.map((w) => "─".repeat(w))), ...body.map(line), "",
    "main thread = Chromium's TaskDuration over the run ÷ events (calls + the tasks they cause); call only = the synchronous calls.",
    "kafkasm × = events/s ratio. Chromium, the proxy, the endpoint and the mock share one machine (2 cores, other jobs): noisy."];
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, note: "shared machine; noisy" }, results: rows }, null, 2) + "\n");
  const svgPath = writeSvg(a.out, "Telemetry events from a Chromium page: kafkasm vs fetch vs sendBeacon", [
    { title: "throughput", unit: "events/s", bars: rows.map((r) => ({ label: r.way, value: r.eventsPerSec, ours: r.way === "kafkasm" })) },
    { title: "main-thread time per event", unit: "µs", bars: rows.map((r) => ({ label: r.way, value: r.mainThreadUsPerEvent, ours: r.way === "kafkasm" })) },
  ], "shared 2-core machine; one run; noisy");
  log(`wrote ${a.out} and ${svgPath}`);
  return rows.every((r) => r.verified) ? 0 : 1;
}

process.exitCode = await main();
