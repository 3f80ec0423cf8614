// Client SASL against the real Apache Kafka 3.6.2: a SASL_PLAINTEXT listener enabling PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (Kafka's unsecured JWT validator: alg "none" tokens),
// and a SASL_SSL listener with SCRAM-SHA-512, both with connections.max.reauth.ms = 5 s so that
// every run longer than that re-authenticates (KIP-368). Node, Deno, Bun and workerd produce with the `sasl`
// option; kcat (SASL options) and kafka-console-consumer.sh read back. Skipped without ../shared/kafka
// and java, and with KAFKA_BROKERS (its listeners are not ours).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { kafkaAvailable, startKafka, type Kafka } from "../harness/kafka.ts";
import { consumeAll } from "../harness/kcat.ts";
import { bin, lastJson, run } from "../runtimes/runtime-helpers.ts";
import { startWorker, type Worker } from "../runtimes/workerd-worker.ts";
import { makePki, sslListenerProperties, type Pki } from "../transport/certs.ts";
import { assertExactlyOnceInKeyOrder } from "./helpers.ts";

const it = kafkaAvailable() && !process.env.KAFKA_BROKERS ? test : test.skip;
const REAUTH_MS = 5000;
const PLAIN = { name: "plain-user", password: "plain-secret-1" };
const SCRAM = { name: "scram-user", password: "scram-secret-2" };

let kafka: Kafka | undefined;
let pki: Pki | undefined;

test.before(async () => {
  if (!kafkaAvailable() || process.env.KAFKA_BROKERS) return;
  pki = makePki();
  const sp = "listener.name.sasl_plaintext.";
  kafka = await within(startKafka({
    listeners: { SASL_PLAINTEXT: "SASL_PLAINTEXT", SASL_SSL: "SASL_SSL" },
    scramUsers: [
      { mechanism: "SCRAM-SHA-256", name: SCRAM.name, password: SCRAM.password },
      { mechanism: "SCRAM-SHA-512", name: SCRAM.name, password: SCRAM.password },
    ],
    properties: {
      ...sslListenerProperties(pki, "SASL_SSL"),
      "connections.max.reauth.ms": REAUTH_MS,
      [`${sp}sasl.enabled.mechanisms`]: "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
      [`${sp}plain.sasl.jaas.config`]: `org.apache.kafka.common.security.plain.PlainLoginModule required user_${PLAIN.name}="${PLAIN.password}";`,
      [`${sp}scram-sha-256.sasl.jaas.config`]: "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      [`${sp}scram-sha-512.sasl.jaas.config`]: "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      [`${sp}oauthbearer.sasl.jaas.config`]: `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";`,
      [`${sp}connections.max.reauth.ms`]: REAUTH_MS,
      "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_ssl.connections.max.reauth.ms": REAUTH_MS,
    },
  }), 120_000, "Kafka with SASL listeners to start");
});

test.after(async () => {
  worker?.stop();
  await kafka?.stop();
  pki?.remove();
});

type Runtime = "node" | "deno" | "bun" | "workerd";
const PROGRAM = "test/integration/real-sasl-produce.ts";
interface Out { ok: boolean; count: number; tokens: number; ms: number; runtime: string; error: string; code: string; retriable: boolean }
let worker: Worker | undefined;
async function produce(runtime: Runtime, listener: string, topic: string, count: number, options: unknown, durationMs = 0, maxBlockMs = 30_000): Promise<Out> {
  if (runtime === "workerd") {
    worker ??= await startWorker({ trustedCertificates: [pki!.ca] });
    const o = options as { ssl?: unknown };
    // workerd dials TLS only with ssl: true, trusting the CA from its own config (it has no per-connection ca).
    return await worker.produce(kafka!.listeners[listener]!, topic, count, { ...o, ...(o.ssl ? { ssl: true } : {}), maxBlockMs }) as Out;
  }
  const args = [kafka!.listeners[listener]!, topic, String(count), JSON.stringify(options), String(durationMs), String(maxBlockMs)];
  const r = runtime === "deno" ? await run(bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-net=127.0.0.1", PROGRAM, ...args])
    : runtime === "bun" ? await run(bin("bun"), [PROGRAM, ...args])
    : await run(process.execPath, ["--import", "tsx", PROGRAM, ...args]);
  return lastJson<Out>(r);
}

const plain = (password = PLAIN.password) => ({ sasl: { mechanism: "plain", username: PLAIN.name, password } });
const scram = (bits: 256 | 512, password = SCRAM.password) => ({ sasl: { mechanism: `scram-sha-${bits}`, username: SCRAM.name, password } });
const oauth = (lifetimeMs = 60_000) => ({ sasl: { mechanism: "oauthbearer", unsecuredSub: "oauth-user", lifetimeMs } });
const kcatPlain = () => ({ "security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN", "sasl.username": PLAIN.name, "sasl.password": PLAIN.password });
const kcatScramSsl = () => ({ "security.protocol": "sasl_ssl", "ssl.ca.location": pki!.caFile, "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": SCRAM.name, "sasl.password": SCRAM.password });

const cases: [string, Runtime[], string, () => unknown][] = [
  ["PLAIN", ["node", "deno", "bun", "workerd"], "SASL_PLAINTEXT", () => plain()],
  ["SCRAM-SHA-256", ["node", "deno", "bun", "workerd"], "SASL_PLAINTEXT", () => scram(256)],
  ["SCRAM-SHA-512", ["node", "deno", "bun", "workerd"], "SASL_PLAINTEXT", () => scram(512)],
  ["OAUTHBEARER", ["node", "deno", "bun", "workerd"], "SASL_PLAINTEXT", () => oauth()],
  ["SASL_SSL SCRAM-SHA-512", ["node", "deno", "bun", "workerd"], "SASL_SSL", () => ({ ...scram(512), ssl: { ca: pki!.ca } })],
];

for (const [name, runtimes, listener, options] of cases) {
  for (const runtime of runtimes) {
    it(`${runtime}: ${name} on ${listener} produces 1,000 records; kcat with SASL reads them back exactly once`, async () => {
      const topic = `sasl-${name.replace(/[^A-Za-z0-9]+/g, "-")}-${runtime}`;
      const out = await produce(runtime, listener, topic, 1000, options());
      assert.ok(out.ok, JSON.stringify(out));
      assert.is(out.count, 1000);
      assert.match(out.runtime, new RegExp(`^${runtime} `));
      const config = listener === "SASL_SSL" ? kcatScramSsl() : kcatPlain();
      assertExactlyOnceInKeyOrder(await consumeAll(kafka!.listeners[listener]!, topic, { count: 1000, config, timeoutMs: 30_000 }), 1000);
    });
  }
}

for (const [name, options] of [["PLAIN", () => plain("wrong")], ["SCRAM-SHA-512", () => scram(512, "wrong")]] as const) {
  it(`node: a wrong ${name} password fails the send at once (not after maxBlockMs 20 s) with SASL_AUTHENTICATION_FAILED, without the password`, async () => {
    const out = await produce("node", "SASL_PLAINTEXT", `sasl-wrong-${name}`, 10, options(), 0, 20_000);
    assert.not.ok(out.ok);
    assert.is(out.code, "SASL_AUTHENTICATION_FAILED");
    assert.is(out.retriable, false);
    assert.match(out.error, new RegExp(`SASL ${name} authentication with 127\\.0\\.0\\.1:\\d+ failed`));
    assert.not.match(out.error, /wrong/);
    assert.ok(out.ms < 10_000, `failed after ${out.ms} ms`);
  });
}

it("node: re-authentication under load (connections.max.reauth.ms 5 s, 15 s of SCRAM-SHA-512 over SASL_SSL): nothing lost or duplicated (kcat and kafka-console-consumer.sh)", async () => {
  const topic = "sasl-reauth-load";
  const out = await produce("node", "SASL_SSL", topic, 6000, { ...scram(512), ssl: { ca: pki!.ca } }, 15_000);
  assert.ok(out.ok, JSON.stringify(out));
  assert.ok(out.ms >= 14_000, `ran ${out.ms} ms`);
  assertExactlyOnceInKeyOrder(await consumeAll(kafka!.listeners.SASL_SSL!, topic, { count: 6000, config: kcatScramSsl(), timeoutMs: 30_000 }), 6000);
  const java = await kafka!.tools.consume(topic, { maxMessages: 6000 });
  assert.is(java.length, 6000);
  assert.is(new Set(java.map((r) => r.value)).size, 6000);
});

it("node: OAUTHBEARER with 4 s tokens over a 12 s run: the provider is asked again before expiry and re-authentication carries the new token; nothing lost", async () => {
  const topic = "sasl-oauth-refresh";
  const out = await produce("node", "SASL_PLAINTEXT", topic, 3000, oauth(4000), 12_000);
  assert.ok(out.ok, JSON.stringify(out));
  assert.ok(out.tokens >= 3, `token provider called ${out.tokens} times`);
  assertExactlyOnceInKeyOrder(await consumeAll(kafka!.listeners.SASL_PLAINTEXT!, topic, { count: 3000, config: kcatPlain(), timeoutMs: 30_000 }), 3000);
});

exitAfterSuite(test);
test.run();
