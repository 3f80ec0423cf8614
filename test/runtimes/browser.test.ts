// Chromium (Debian's, driven by playwright-core) loads a page with the browser bundle and produces
// keyed records through kafkasm proxy and through websockify to the mock cluster; kcat reads back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { type Browser } from "playwright-core";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { startProxy } from "../proxy/helpers.ts";
import { launchChromium, servePage, type PageSite } from "./browser-page.ts";

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
});

// The page: reads its parameters from the query string, produces, and publishes window.result.
const PAGE = `<!doctype html><meta charset="utf-8"><title>kafkasm browser test</title>
<script type="module">
import { Producer, websocketTransport, flushOnPageHide } from "/kafkasm/kafkasm.js";
const q = new URLSearchParams(location.search);
const brokers = q.get("brokers").split(",");
const topic = q.get("topic");
const count = Number(q.get("count"));
const url = q.get("urlMap") ? JSON.parse(q.get("urlMap")) : q.get("url");
const transport = websocketTransport({ url, token: q.get("token") || undefined, protocols: q.get("protocols") ? q.get("protocols").split(",") : undefined });
const producer = new Producer({ brokers, transport, lingerMs: Number(q.get("linger") || 5) });
window.producer = producer;
if (q.get("mode") === "hide") {
  // Records wait in lingerMs (60 s) until the page is hidden; flushOnPageHide must send them.
  flushOnPageHide(producer);
  if (q.get("warm")) {
    // A page in use: connections to the partition leaders are already open (one record each, flushed).
    for (let p = 0; p < Number(q.get("warm")); p++) producer.send({ topic: q.get("warmTopic"), partition: p, value: "warm" });
    await producer.flush();
  }
  window.acked = 0;
  for (let i = 0; i < count; i++) producer.send({ topic, key: "k" + (i % 37), value: "k" + (i % 37) + ":" + i }).then(() => window.acked++);
  window.result = { queued: count };
} else {
  const t0 = performance.now();
  try {
    const records = [];
    for (let i = 0; i < count; i++) records.push({ topic, key: "k" + (i % 37), value: "k" + (i % 37) + ":" + i });
    const metas = await producer.sendBatch(records);
    await producer.close();
    window.result = { ok: true, count: metas.length, ms: Math.round(performance.now() - t0), ua: navigator.userAgent };
  } catch (e) {
    window.result = { ok: false, error: String(e && e.message || e), code: e && e.code };
  }
}
</script>`;


let site: PageSite | undefined;
let httpPort = 0;
let browser: Browser | undefined;
let cluster: Cluster | undefined;

test.before(async () => {
  site = await servePage("src/browser.ts", PAGE);
  httpPort = site.port;
  browser = await launchChromium();
  cluster = await startCluster({ brokers: 3, topics: [{ name: "browser-proxy", partitions: 4 }, { name: "browser-websockify", partitions: 4 }, { name: "browser-hide", partitions: 2 }, { name: "browser-leave", partitions: 2 }] });
});

test.after(async () => {
  await within(Promise.resolve(browser?.close()), 30_000, "Chromium to close");
  await cluster?.stop();
  await site?.close();
});

async function runPage(params: Record<string, string>, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  try {
    await page.goto(`http://127.0.0.1:${httpPort}/?${new URLSearchParams(params)}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: timeoutMs });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    if (result.ok === false || errors.length) result.pageErrors = errors;
    return result;
  } finally {
    await page.close();
  }
}

test("Chromium produces 10,000 keyed records through kafkasm proxy (token subprotocol, Origin allow-list); kcat reads all, in key order", async () => {
  const origin = `http://127.0.0.1:${httpPort}`;
  const proxy = await startProxy({ allow: cluster!.brokers.map((b) => `${b.host}:${b.port}`), token: "browser-secret", origins: [origin], requireOrigin: true, log: () => {} });
  try {
    const result = await runPage({ brokers: cluster!.bootstrap, topic: "browser-proxy", count: "10000", url: `${proxy.url}/broker/{host}:{port}`, token: "browser-secret" });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.count, 10_000);
    assert.match(String(result.ua), /Chrome\//);
    assert.equal(proxy.stats().refused.total, 0, "the browser's Origin and token subprotocol were accepted");
    assertExactlyOnceInKeyOrder(await consumeAll(cluster!.bootstrap, "browser-proxy", { count: 10_000, timeoutMs: 30_000 }), 10_000);
  } finally {
    await proxy.close();
  }
});

test("Chromium produces 10,000 keyed records through websockify (one per broker, URL map); kcat reads all, in key order", async () => {
  const children: ChildProcess[] = [];
  try {
    const urlMap: Record<string, string> = {};
    for (const b of cluster!.brokers) {
      const port = await freePort();
      const child = spawn("websockify", [`127.0.0.1:${port}`, `${b.host}:${b.port}`], { stdio: ["ignore", "ignore", "pipe"] });
      children.push(child);
      urlMap[`${b.host}:${b.port}`] = `ws://127.0.0.1:${port}`;
    }
    // Wait until every websockify listens.
    for (const url of Object.values(urlMap)) {
      const port = Number(new URL(url).port);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await new Promise<boolean>((r) => { const s = createServer(); s.once("error", () => r(true)); s.listen(port, "127.0.0.1", () => s.close(() => r(false))); });
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`websockify on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const result = await runPage({ brokers: cluster!.bootstrap, topic: "browser-websockify", count: "10000", urlMap: JSON.stringify(urlMap), protocols: "binary" });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.count, 10_000);
    assertExactlyOnceInKeyOrder(await consumeAll(cluster!.bootstrap, "browser-websockify", { count: 10_000, timeoutMs: 30_000 }), 10_000);
  } finally {
    for (const c of children) c.kill("SIGTERM");
  }
});

test("flushOnPageHide: records lingering (lingerMs 60 s) are sent as soon as the page becomes hidden", async () => {
  const proxy = await startProxy({ allow: cluster!.brokers.map((b) => `${b.host}:${b.port}`), log: () => {} });
  const page = await browser!.newPage();
  try {
    await page.goto(`http://127.0.0.1:${httpPort}/?${new URLSearchParams({ brokers: cluster!.bootstrap, topic: "browser-hide", count: "200", url: `${proxy.url}/broker/{host}:{port}`, mode: "hide", linger: "60000" })}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await page.evaluate(() => (window as unknown as { acked: number }).acked), 0, "nothing sent while lingering");
    // Headless Chromium stays "visible"; emulate the tab being hidden the way the browser reports it.
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    });
    await page.waitForFunction(() => (window as unknown as { acked: number }).acked === 200, undefined, { timeout: 30_000 });
    assertExactlyOnceInKeyOrder(await consumeAll(cluster!.bootstrap, "browser-hide", { count: 200, timeoutMs: 20_000 }), 200);
  } finally {
    await page.close();
    await proxy.close();
  }
});

test("flushOnPageHide: with leader connections open, lingering records still reach the cluster when the user navigates away (real pagehide)", async () => {
  const proxy = await startProxy({ allow: cluster!.brokers.map((b) => `${b.host}:${b.port}`), log: () => {} });
  const page = await browser!.newPage();
  try {
    await page.goto(`http://127.0.0.1:${httpPort}/?${new URLSearchParams({ brokers: cluster!.bootstrap, topic: "browser-leave", count: "300", url: `${proxy.url}/broker/{host}:{port}`, mode: "hide", linger: "60000", warm: "2", warmTopic: "browser-leave" })}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    // Leaving the page fires pagehide; without flushOnPageHide these 300 records are lost (checked by hand).
    await page.goto("about:blank");
    const records = await consumeAll(cluster!.bootstrap, "browser-leave", { count: 302, timeoutMs: 30_000 });
    assertExactlyOnceInKeyOrder(records.filter((r) => r.payload !== "warm"), 300);
  } finally {
    await page.close();
    await proxy.close();
  }
});

exitAfterSuite(test);
test.run();
