// workerd: a worker built from the shipped dist/workerd consumer bundle (scripts/bundles.mjs) consumes
// per request: it joins the group over cloudflare:sockets, reads COUNT records, commits them, leaves,
// and answers. Successive requests resume where the last one committed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import * as esbuild from "esbuild";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { exitAfterSuite } from "../harness/bounded.ts";
import { freePort } from "../harness/net.ts";
import { bin, bundleSpec, root } from "./runtime-helpers.ts";

const WORKER = `
import { Consumer } from "./kafkasm/consumer.js";
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const count = Number(url.searchParams.get("count"));
    const consumer = new Consumer({ brokers: [url.searchParams.get("broker")], groupId: url.searchParams.get("group"),
      topics: [url.searchParams.get("topic")], autoOffsetReset: "earliest", autoCommit: false, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitMs: 100 });
    const values = [];
    try {
      for await (const r of consumer) {
        values.push(new TextDecoder().decode(r.value));
        // Breaking out of the loop closes the consumer (LeaveGroup): commit first.
        if (values.length === count) { await consumer.commit(); break; }
      }
      return Response.json({ ok: true, values });
    } catch (e) {
      return Response.json({ ok: false, error: String(e && e.message || e), code: e && e.code });
    } finally {
      await consumer.close();
    }
  },
};
`;

async function startConsumerWorker(): Promise<{ consume(q: Record<string, string>): Promise<{ ok: boolean; values: string[]; error?: string }>; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-workerd-consumer-"));
  let child: ChildProcess | undefined;
  let stderr = "";
  const stop = () => { child?.kill("SIGKILL"); rmSync(dir, { recursive: true, force: true }); };
  const spec = await bundleSpec("src/consumer-workerd.ts");
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
  services = [ (name = "main", worker = .worker), (name = "loopback", network = (allow = ["local"])) ],
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
    async consume(q) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/?${new URLSearchParams(q)}`, { signal: AbortSignal.timeout(60_000) });
          return await r.json() as { ok: boolean; values: string[]; error?: string };
        } catch (e) {
          if (Date.now() > deadline || child!.exitCode !== null) throw new Error(`workerd: ${(e as Error).message} ${stderr.slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
  };
}

test("workerd consumes per request: each request joins the group, reads its share, commits and leaves; the next request resumes after the commit", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "wd-consume", partitions: 3 }] });
  const worker = await startConsumerWorker();
  try {
    await kcatProduce(cluster.bootstrap, "wd-consume", Array.from({ length: 1000 }, (_, i) => `k${i % 29}:v${i}`), { keyDelimiter: ":" });
    const q = { broker: cluster.bootstrap.split(",")[0], topic: "wd-consume", group: "wd" };
    const first = await worker.consume({ ...q, count: "600" });
    assert.ok(first.ok, JSON.stringify(first).slice(0, 500));
    const second = await worker.consume({ ...q, count: "400" });
    assert.ok(second.ok, JSON.stringify(second).slice(0, 500));
    assert.is(new Set([...first.values, ...second.values]).size, 1000, "the second request read exactly what the first had not committed");
  } finally {
    worker.stop();
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
