// TLS from every runtime against the real Apache Kafka 3.6.2 with an SSL listener and a mutual-TLS
// listener (ssl.client.auth=required), certificates made by openssl for this run: Node, Deno, Bun and
// workerd produce with the `ssl` option; kcat (over SSL) and kafka-console-consumer.sh read back. An
// untrusted CA and a host name mismatch fail with the reason in the error. Skipped without
// ../shared/kafka and java, and with KAFKA_BROKERS (its listeners are not ours).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import * as esbuild from "esbuild";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { kafkaAvailable, startKafka, type Kafka } from "../harness/kafka.ts";
import { consumeAll } from "../harness/kcat.ts";
import { bin, bundleSpec, lastJson, root, run } from "../runtimes/runtime-helpers.ts";
import { makePki, sslListenerProperties, type Pki } from "../transport/certs.ts";
import { assertExactlyOnceInKeyOrder } from "./helpers.ts";
import { freePort } from "../harness/net.ts";

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


const WORKER = `
import { Producer } from "./kafkasm/index.js";
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const topic = url.searchParams.get("topic");
    const count = Number(url.searchParams.get("count"));
    let producer;
    try {
      producer = new Producer({ brokers: [url.searchParams.get("broker")], lingerMs: 5, ssl: JSON.parse(url.searchParams.get("ssl")), maxBlockMs: 10000 });
      const records = [];
      for (let i = 0; i < count; i++) records.push({ topic, key: "k" + (i % 37), value: "k" + (i % 37) + ":" + i });
      const metas = await producer.sendBatch(records);
      return Response.json({ ok: true, count: metas.length });
    } catch (e) {
      return Response.json({ ok: false, error: String(e && e.message || e), code: e && e.code });
    } finally {
      await producer?.close({ timeoutMs: 5000 });
    }
  },
};
`;

it("workerd: ssl: true dials with secureTransport on and produces to the SSL listener (the test CA in workerd's trustedCertificates); cert/key are refused with INVALID_CONFIG", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-workerd-tls-"));
  let child: ChildProcess | undefined;
  let stderr = "";
  try {
    const spec = await bundleSpec("src/workerd.ts");
    await esbuild.build({ bundle: true, format: "esm", logLevel: "warning", absWorkingDir: root, ...spec, outdir: join(dir, "kafkasm") });
    const files: string[] = [];
    const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(relative(dir, join(d, e.name))); };
    walk(join(dir, "kafkasm"));
    writeFileSync(join(dir, "worker.js"), WORKER);
    const port = await freePort();
    const modules = [`(name = "worker.js", esModule = embed "worker.js")`,
      ...files.map((f) => f.endsWith(".wasm") ? `(name = "${f}", wasm = embed "${f}")` : `(name = "${f}", esModule = embed "${f}")`)];
    writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"], tlsOptions = (trustedCertificates = [${JSON.stringify(pki!.ca)}]))),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ ${modules.join(",\n    ")} ],
  compatibilityDate = "2025-01-01",
  globalOutbound = "loopback",
);
`);
    child = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (d) => (stderr += d));
    const base = `http://127.0.0.1:${port}/`;
    const ask = async (q: Record<string, string>) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const r = await fetch(`${base}?${new URLSearchParams(q)}`, { signal: AbortSignal.timeout(60_000) });
          return await r.json() as { ok: boolean; count?: number; error?: string; code?: string };
        } catch (e) {
          if (Date.now() > deadline || child!.exitCode !== null) throw new Error(`workerd: ${(e as Error).message} ${stderr.slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    const ok = await ask({ broker: kafka!.listeners.SSL!, topic: "tls-workerd", count: "1000", ssl: "true" });
    assert.ok(ok.ok, `${JSON.stringify(ok)} ${stderr.slice(-2000)}`);
    assertExactlyOnceInKeyOrder(await consumeAll(kafka!.listeners.SSL!, "tls-workerd", { count: 1000, config: kcatSsl(), timeoutMs: 30_000 }), 1000);
    const refused = await ask({ broker: kafka!.listeners.MTLS!, topic: "tls-workerd-mtls", count: "1", ssl: JSON.stringify({ cert: pki!.client.cert, key: pki!.client.key }) });
    assert.is(refused.code, "INVALID_CONFIG");
    assert.match(refused.error!, /no client certificates/);
  } finally {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

exitAfterSuite(test);
test.run();
