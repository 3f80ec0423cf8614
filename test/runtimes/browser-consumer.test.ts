// Chromium (Debian's, driven by playwright-core) loads a page with the kafkasm/consumer browser bundle
// and consumes, in a group the proxy's consumer policy allows, what kcat produced to the mock cluster;
// it commits and closes. A second page in the same group reads nothing old (the commit is at the end),
// and a group outside the policy fails with a typed GROUP_AUTHORIZATION_FAILED.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Browser } from "playwright-core";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { startProxy } from "../proxy/helpers.ts";
import { launchChromium, servePage, type PageSite } from "./browser-page.ts";

// The page: consumes `count` records, commits, optionally waits `extraMs` for one more, closes, publishes window.result.
const PAGE = `<!doctype html><meta charset="utf-8"><title>kafkasm browser consumer test</title>
<script type="module">
import { Consumer, websocketTransport } from "/kafkasm/consumer.js";
const q = new URLSearchParams(location.search);
const count = Number(q.get("count"));
const consumer = new Consumer({ brokers: q.get("brokers").split(","), groupId: q.get("group"), topics: [q.get("topic")],
  transport: websocketTransport({ url: q.get("url") }), autoOffsetReset: "earliest", autoCommit: false,
  sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitMs: 100 });
const values = [];
try {
  const it = consumer[Symbol.asyncIterator]();
  while (values.length < count) {
    const r = await it.next();
    if (r.done) break;
    values.push(new TextDecoder().decode(r.value.value));
  }
  await consumer.commit();
  // With extraMs: anything more arriving within it is a record read twice (there is nothing else to read).
  const extraMs = Number(q.get("extraMs") || 0);
  if (extraMs) {
    const r = await Promise.race([it.next(), new Promise((res) => setTimeout(() => res("none"), extraMs))]);
    if (r !== "none" && !r.done) values.push(new TextDecoder().decode(r.value.value));
  }
  await consumer.close();
  window.result = { ok: true, values, ua: navigator.userAgent };
} catch (e) {
  await consumer.close().catch(() => {});
  window.result = { ok: false, error: String(e && e.message || e), code: e && e.code, name: e && e.name, isKafkaError: e && e.constructor && e.constructor.name };
}
</script>`;

let site: PageSite | undefined;
let httpPort = 0;
let browser: Browser | undefined;
let cluster: Cluster | undefined;

test.before(async () => {
  site = await servePage("src/consumer-browser.ts", PAGE);
  httpPort = site.port;
  browser = await launchChromium();
  cluster = await startCluster({ brokers: 1, topics: [{ name: "web-clicks", partitions: 3 }] });
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
  try {
    await page.goto(`http://127.0.0.1:${httpPort}/?${new URLSearchParams(params)}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: timeoutMs });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    if (errors.length) result.pageErrors = errors;
    return result;
  } finally {
    await page.close();
  }
}

test("Chromium consumes through kafkasm proxy in an allowed group: every record once, the commit at the end (a second member reads only new records); a group outside the policy fails with GROUP_AUTHORIZATION_FAILED", async () => {
  const proxy = await startProxy({ allow: cluster!.brokers.map((b) => `${b.host}:${b.port}`), topics: ["web-*"], consumer: { groups: ["web-*"] }, log: () => {} });
  try {
    const values = Array.from({ length: 300 }, (_, i) => `v${i}`);
    await kcatProduce(cluster!.bootstrap, "web-clicks", values);
    const base = { brokers: cluster!.bootstrap, topic: "web-clicks", url: `${proxy.url}/broker/{host}:{port}` };
    const first = await runPage({ ...base, group: "web-dashboard", count: String(values.length) });
    assert.ok(first.ok, JSON.stringify(first));
    assert.match(String(first.ua), /Chrome\//);
    const got = first.values as string[];
    assert.is(got.length, values.length);
    assert.equal([...got].sort(), [...values].sort(), "every record exactly once");

    // The committed offsets are at the end: the same group, after 20 more records, reads exactly those.
    const more = Array.from({ length: 20 }, (_, i) => `w${i}`);
    await kcatProduce(cluster!.bootstrap, "web-clicks", more);
    const second = await runPage({ ...base, group: "web-dashboard", count: String(more.length), extraMs: "2000" });
    assert.ok(second.ok, JSON.stringify(second));
    assert.equal([...(second.values as string[])].sort(), [...more].sort(), "only the records after the commit");

    const denied = await runPage({ ...base, group: "backend-billing", count: "1" });
    assert.is(denied.ok, false);
    assert.is(denied.code, "GROUP_AUTHORIZATION_FAILED", JSON.stringify(denied));
    assert.is(denied.name, "KafkaError");
    assert.ok((proxy.stats().refused.byReason.GROUP_NOT_ALLOWED ?? 0) >= 1);
  } finally {
    await proxy.close();
  }
});

exitAfterSuite(test);
test.run();
