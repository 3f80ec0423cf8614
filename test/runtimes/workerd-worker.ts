// A workerd process serving one worker built from the shipped dist/workerd bundle (scripts/bundles.mjs):
// each HTTP request produces COUNT keyed records "k<i%37>:<i>" to TOPIC at BROKER with OPTIONS (JSON
// producer options; `sasl: { mechanism: "oauthbearer", unsecuredSub, lifetimeMs }` becomes a provider
// of unsecured alg-none JWTs) and answers { ok, count, runtime } or { ok: false, error, code, retriable }.
// Used by the real-Kafka TLS and SASL tests.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import * as esbuild from "esbuild";
import { freePort } from "../harness/net.ts";
import { bin, bundleSpec, root } from "./runtime-helpers.ts";

const WORKER = `
import { Producer } from "./kafkasm/index.js";
const b64 = (o) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\\+/g, "-").replace(/\\//g, "_");
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const topic = url.searchParams.get("topic");
    const count = Number(url.searchParams.get("count"));
    const options = JSON.parse(url.searchParams.get("options") ?? "{}");
    if (options.sasl?.unsecuredSub) {
      const { unsecuredSub, lifetimeMs } = options.sasl;
      options.sasl = { mechanism: "oauthbearer", token: async () => {
        const now = Date.now();
        return { value: b64({ alg: "none" }) + "." + b64({ sub: unsecuredSub, iat: now / 1000, exp: (now + lifetimeMs) / 1000 }) + ".", expiresAt: now + lifetimeMs };
      } };
    }
    let producer;
    try {
      producer = new Producer({ brokers: [url.searchParams.get("broker")], lingerMs: 5, maxBlockMs: 10000, ...options });
      const records = [];
      for (let i = 0; i < count; i++) records.push({ topic, key: "k" + (i % 37), value: "k" + (i % 37) + ":" + i });
      const metas = await producer.sendBatch(records);
      return Response.json({ ok: true, count: metas.length, runtime: "workerd " + (globalThis.navigator?.userAgent ?? "") });
    } catch (e) {
      return Response.json({ ok: false, error: String(e && e.message || e), code: e && e.code, retriable: e && e.retriable });
    } finally {
      await producer?.close({ timeoutMs: 5000 });
    }
  },
};
`;

export interface WorkerAnswer { ok: boolean; count?: number; runtime?: string; error?: string; code?: string; retriable?: boolean }
export interface Worker {
  /** One request: produce `count` records to `topic` at `broker` with producer `options`. */
  produce(broker: string, topic: string, count: number, options?: unknown): Promise<WorkerAnswer>;
  stop(): void;
}

/**
 * A workerd process serving `source` (worker.js) with the shipped bundle of `entry` in `kafkasm/`; `get` asks it
 * (retrying until it listens); `url` is its address, for callers timing their own requests (bench/workerd).
 */
export async function serveWorker(entry: string, source: string, opts: { trustedCertificates?: string[] } = {}):
  Promise<{ get<T>(query: Record<string, string>): Promise<T>; url: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-workerd-"));
  let child: ChildProcess | undefined;
  let stderr = "";
  const stop = () => { child?.kill("SIGKILL"); rmSync(dir, { recursive: true, force: true }); };
  try {
    const spec = await bundleSpec(entry);
    await esbuild.build({ bundle: true, format: "esm", logLevel: "warning", absWorkingDir: root, ...spec, outdir: join(dir, "kafkasm") });
    const files: string[] = [];
    const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(relative(dir, join(d, e.name))); };
    walk(join(dir, "kafkasm"));
    writeFileSync(join(dir, "worker.js"), source);
    const port = await freePort();
    const modules = [`(name = "worker.js", esModule = embed "worker.js")`,
      ...files.map((f) => f.endsWith(".wasm") ? `(name = "${f}", wasm = embed "${f}")` : `(name = "${f}", esModule = embed "${f}")`)];
    const tls = opts.trustedCertificates?.length ? `, tlsOptions = (trustedCertificates = [${opts.trustedCertificates.map((c) => JSON.stringify(c)).join(", ")}])` : "";
    writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"]${tls})),
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
    return {
      stop,
      url: `http://127.0.0.1:${port}/`,
      async get<T>(query: Record<string, string>): Promise<T> {
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            const r = await fetch(`http://127.0.0.1:${port}/?${new URLSearchParams(query)}`, { signal: AbortSignal.timeout(60_000) });
            return await r.json() as T;
          } catch (e) {
            if (Date.now() > deadline || child!.exitCode !== null) throw new Error(`workerd: ${(e as Error).message} ${stderr.slice(-2000)}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      },
    };
  } catch (e) {
    stop();
    throw e;
  }
}

/** The producing worker above; `trustedCertificates` (PEM) are added to outbound TLS. */
export async function startWorker(opts: { trustedCertificates?: string[] } = {}): Promise<Worker> {
  const w = await serveWorker("src/workerd.ts", WORKER, opts);
  return {
    stop: w.stop,
    produce: (broker, topic, count, options = {}) => w.get<WorkerAnswer>({ broker, topic, count: String(count), options: JSON.stringify(options) }),
  };
}
