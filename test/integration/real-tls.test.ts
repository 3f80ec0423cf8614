// TLS from every runtime against the real Apache Kafka 3.6.2 with an SSL listener and a mutual-TLS
// listener (ssl.client.auth=required), certificates made by openssl for this run: Node, Deno, Bun and
// workerd produce with the `ssl` option; kcat (over SSL) and kafka-console-consumer.sh read back. An
// untrusted CA and a host name mismatch fail with the reason in the error. Skipped without
// ../shared/kafka and java, and with KAFKA_BROKERS (its listeners are not ours).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { kafkaAvailable, startKafka, type Kafka } from "../harness/kafka.ts";
import { consumeAll } from "../harness/kcat.ts";
import { bin, lastJson, run } from "../runtimes/runtime-helpers.ts";
import { startWorker } from "../runtimes/workerd-worker.ts";
import { makePki, sslListenerProperties, type Pki } from "../transport/certs.ts";
import { assertExactlyOnceInKeyOrder } from "./helpers.ts";

const it = kafkaAvailable() && !process.env.KAFKA_BROKERS ? test : test.skip;

let kafka: Kafka | undefined;
let pki: Pki | undefined;

test.before(async () => {
  if (!kafkaAvailable() || process.env.KAFKA_BROKERS) return;
  pki = makePki();
  kafka = await within(startKafka({
    listeners: { SSL: "SSL", MTLS: "SSL" },
    properties: { ...sslListenerProperties(pki, "SSL"), ...sslListenerProperties(pki, "MTLS", { clientAuth: true }) },
  }), 120_000, "Kafka with SSL listeners to start");
});

test.after(async () => {
  await kafka?.stop();
  pki?.remove();
});

type Runtime = "node" | "deno" | "bun";
const PROGRAM = "test/transport/programs/tls-produce.ts";
function produce(runtime: Runtime, listener: string, topic: string, count: number, ssl: unknown, maxBlockMs = 30_000) {
  const args = [kafka!.listeners[listener]!, topic, String(count), JSON.stringify(ssl), String(maxBlockMs)];
  if (runtime === "deno") return run(bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-net=127.0.0.1", PROGRAM, ...args]);
  if (runtime === "bun") return run(bin("bun"), [PROGRAM, ...args]);
  return run(process.execPath, ["--import", "tsx", PROGRAM, ...args]);
}

const kcatSsl = () => ({ "security.protocol": "ssl", "ssl.ca.location": pki!.caFile });
const kcatMtls = () => ({ ...kcatSsl(), "ssl.certificate.location": pki!.client.certFile, "ssl.key.location": pki!.client.keyFile });

for (const runtime of ["node", "deno", "bun"] as const) {
  it(`${runtime}: ssl: { ca } produces 2,000 records to the SSL listener; kcat over SSL and kafka-console-consumer.sh read them back exactly once`, async () => {
    const topic = `tls-${runtime}`;
    const out = lastJson<{ ok: boolean; count: number; runtime: string }>(await produce(runtime, "SSL", topic, 2000, { ca: pki!.ca }));
    assert.ok(out.ok, JSON.stringify(out));
    assert.is(out.count, 2000);
    assert.match(out.runtime, new RegExp(`^${runtime} `));
    assertExactlyOnceInKeyOrder(await consumeAll(kafka!.listeners.SSL!, topic, { count: 2000, config: kcatSsl(), timeoutMs: 30_000 }), 2000);
    const java = await kafka!.tools.consume(topic, { maxMessages: 2000 });
    assert.is(java.length, 2000);
    assert.equal(new Set(java.map((r) => r.value)).size, 2000);
  });

  it(`${runtime}: mutual TLS (ssl.client.auth=required) with ssl.cert/key produces; kcat with a client certificate reads back`, async () => {
    const topic = `mtls-${runtime}`;
    const out = lastJson<{ ok: boolean; count: number }>(await produce(runtime, "MTLS", topic, 500, { ca: pki!.ca, cert: pki!.client.cert, key: pki!.client.key }));
    assert.ok(out.ok, JSON.stringify(out));
    assertExactlyOnceInKeyOrder(await consumeAll(kafka!.listeners.MTLS!, topic, { count: 500, config: kcatMtls(), timeoutMs: 30_000 }), 500);
  });

  it(`${runtime}: a broker certificate from an unknown CA fails the send within maxBlockMs, the error saying the certificate is not trusted; nothing is written`, async () => {
    const topic = `tls-untrusted-${runtime}`;
    const out = lastJson<{ ok: boolean; error: string; code: string; ms: number }>(await produce(runtime, "SSL", topic, 10, { ca: pki!.otherCa }, 3000));
    assert.not.ok(out.ok);
    assert.match(out.error, /TLS to 127\.0\.0\.1:\d+ failed: the broker's certificate is not trusted/);
    assert.ok(out.ms < 20_000, `failed after ${out.ms} ms (maxBlockMs 3000)`);
    assert.equal(await consumeAll(kafka!.bootstrap, topic, { timeoutMs: 30_000 }).catch(() => []), []);
  });
}

it("node: a certificate that does not name the host dialled (servername wrong.example) fails, the error saying so", async () => {
  const out = lastJson<{ ok: boolean; error: string }>(await produce("node", "SSL", "tls-hostname", 10, { ca: pki!.ca, servername: "wrong.example" }, 3000));
  assert.not.ok(out.ok);
  assert.match(out.error, /does not match the host name/);
});

it("node: the mutual-TLS listener refuses a client without a certificate, the error saying a client certificate is required", async () => {
  const out = lastJson<{ ok: boolean; error: string }>(await produce("node", "MTLS", "mtls-none", 10, { ca: pki!.ca }, 3000));
  assert.not.ok(out.ok);
  assert.match(out.error, /requires a client certificate/);
});


it("workerd: ssl: true dials with secureTransport on and produces to the SSL listener (the test CA in workerd's trustedCertificates); cert/key are refused with INVALID_CONFIG", async () => {
  const worker = await startWorker({ trustedCertificates: [pki!.ca] });
  try {
    const ok = await worker.produce(kafka!.listeners.SSL!, "tls-workerd", 1000, { ssl: true });
    assert.ok(ok.ok, JSON.stringify(ok));
    assertExactlyOnceInKeyOrder(await consumeAll(kafka!.listeners.SSL!, "tls-workerd", { count: 1000, config: kcatSsl(), timeoutMs: 30_000 }), 1000);
    const refused = await worker.produce(kafka!.listeners.MTLS!, "tls-workerd-mtls", 1, { ssl: { cert: pki!.client.cert, key: pki!.client.key } });
    assert.is(refused.code, "INVALID_CONFIG");
    assert.match(refused.error!, /no client certificates/);
  } finally {
    worker.stop();
  }
});

exitAfterSuite(test);
test.run();
