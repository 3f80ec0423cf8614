// Chromium produces to the real Apache Kafka 3.6.2 over SASL_SSL/SCRAM-SHA-512 through `kafkasm proxy`
// (the CLI, with --upstream-ca and --upstream-sasl-*; the password from the environment): the page holds
// only a JWT for the proxy, the proxy holds the cluster's credentials. kcat reads back with its own SASL
// settings. Skipped without ../shared/kafka and java (and with KAFKA_BROKERS: its listeners are not ours).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser } from "playwright-core";
import { exitAfterSuite, spawnChild, until, within, type Child } from "../harness/bounded.ts";
import { kafkaAvailable, startKafka, type Kafka } from "../harness/kafka.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { makePki, sslListenerProperties, type Pki } from "../transport/certs.ts";
import { launchChromium, servePage, type PageSite } from "./browser-page.ts";

const it = kafkaAvailable() && !process.env.KAFKA_BROKERS ? test : test.skip;
const SCRAM = { name: "carol", password: "carol-scram-secret-5d21" };
const JWT_SECRET = "browser-sasl-jwt-secret-32-bytes-plus";

const PAGE = `<!doctype html><meta charset="utf-8"><title>kafkasm browser SASL test</title>
<script type="module">
import { Producer, websocketTransport } from "/kafkasm/kafkasm.js";
const q = new URLSearchParams(location.search);
const count = Number(q.get("count"));
const producer = new Producer({ brokers: [q.get("broker")], lingerMs: 5, transport: websocketTransport({ url: q.get("url"), token: q.get("token") }) });
try {
  const records = [];
  for (let i = 0; i < count; i++) records.push({ topic: q.get("topic"), key: "k" + (i % 37), value: "k" + (i % 37) + ":" + i });
  const metas = await producer.sendBatch(records);
  await producer.close();
  window.result = { ok: true, count: metas.length, ua: navigator.userAgent };
} catch (e) {
  window.result = { ok: false, error: String(e && e.message || e), code: e && e.code };
}
</script>`;

let kafka: Kafka | undefined;
let pki: Pki | undefined;
let site: PageSite | undefined;
let browser: Browser | undefined;

test.before(async () => {
  if (!kafkaAvailable() || process.env.KAFKA_BROKERS) return;
  pki = makePki();
  site = await servePage("src/browser.ts", PAGE);
  const [k, br] = await Promise.all([
    within(startKafka({
      listeners: { SASL_SSL: "SASL_SSL" },
      scramUsers: [{ mechanism: "SCRAM-SHA-512", name: SCRAM.name, password: SCRAM.password }],
      properties: {
        ...sslListenerProperties(pki, "SASL_SSL"),
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      },
    }), 120_000, "Kafka with a SASL_SSL listener to start"),
    launchChromium(),
  ]);
  kafka = k;
  browser = br;
});

test.after(async () => {
  await within(Promise.resolve(browser?.close()), 30_000, "Chromium to close");
  await kafka?.stop();
  pki?.remove();
  await site?.close();
});

const hs256 = (claims: Record<string, unknown>) => {
  const input = `${Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${createHmac("sha256", JWT_SECRET).update(input).digest("base64url")}`;
};

it("Chromium produces 5,000 keyed records through `kafkasm proxy --upstream-ca … --upstream-sasl-mechanism scram-sha-512` to Kafka 3.6.2 SASL_SSL (the page has a JWT, never the password); kcat with SASL_SSL/SCRAM reads all back in key order", async () => {
  const broker = kafka!.listeners.SASL_SSL!;
  const secretFile = join(site!.dir, "jwt-secret");
  writeFileSync(secretFile, JWT_SECRET);
  let child: Child | undefined;
  const page = await browser!.newPage();
  try {
    child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "proxy", "--listen", "127.0.0.1:0", "--allow", broker, "--quiet",
      "--upstream-ca", pki!.caFile, "--upstream-sasl-mechanism", "scram-sha-512", "--upstream-sasl-username", SCRAM.name,
      "--jwt-secret-file", secretFile, "--topics", "browser-*"],
    { env: { ...process.env, KAFKASM_UPSTREAM_SASL_PASSWORD: SCRAM.password } });
    await until(() => /listening on (ws:\/\/\S+)/.test(child!.stdout), 30_000, "the proxy's listening line");
    const url = /listening on (ws:\/\/\S+)/.exec(child.stdout)![1];
    const token = hs256({ exp: Math.floor(Date.now() / 1000) + 600, kafka_topics: ["browser-sasl"] });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const params = new URLSearchParams({ broker, topic: "browser-sasl", count: "5000", url: `${url}/broker/{host}:{port}`, token });
    await page.goto(`http://127.0.0.1:${site!.port}/?${params}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 90_000 });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    assert.ok(result.ok, JSON.stringify({ result, errors, proxy: child.stderr.slice(-2000) }));
    assert.is(result.count, 5000);
    assert.match(String(result.ua), /Chrome\//);
    assert.not.ok(child.stderr.includes(SCRAM.password), "the proxy never logs the cluster's password");
  } finally {
    await page.close();
    child?.process.kill("SIGTERM");
    if (child) await child.exited(15_000).catch(() => child!.kill());
  }
  const config = { "security.protocol": "sasl_ssl", "ssl.ca.location": pki!.caFile, "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": SCRAM.name, "sasl.password": SCRAM.password };
  assertExactlyOnceInKeyOrder(await consumeAll(broker, "browser-sasl", { count: 5000, config, timeoutMs: 30_000 }), 5000);
});

exitAfterSuite(test);
test.run();
