// workerd (Cloudflare Workers' runtime): the dist/workerd bundle (WASM imported as a module,
// connect() from cloudflare:sockets) in a worker that produces on request; kcat reads back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import * as esbuild from "esbuild";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { exitAfterSuite } from "../harness/bounded.ts";
import { bin, bundleSpec, root } from "./runtime-helpers.ts";
import { freePort } from "../harness/net.ts";


const WORKER = `
import { Producer } from "./kafkasm/index.js";
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const brokers = url.searchParams.get("brokers").split(",");
    const topic = url.searchParams.get("topic");
    const count = Number(url.searchParams.get("count"));
    const compression = url.searchParams.get("compression") || undefined;
    const producer = new Producer({ brokers, lingerMs: 5, compression });
    try {
      const records = [];
      for (let i = 0; i < count; i++) records.push({ topic, key: "k" + (i % 37), value: "k" + (i % 37) + ":" + i });
      const metas = await producer.sendBatch(records);
      return Response.json({ ok: true, count: metas.length, partitions: [...new Set(metas.map((m) => m.partition))] });
    } catch (e) {
      return Response.json({ ok: false, error: String(e && e.message || e), code: e && e.code }, { status: 500 });
    } finally {
      await producer.close({ timeoutMs: 5000 });
    }
  },
};
`;

/** Builds dist/workerd's bundle (same options as scripts/bundles.mjs) into dir/kafkasm/. */
async function buildBundle(dir: string): Promise<string[]> {
  const b = await bundleSpec("src/workerd.ts");
  const outdir = join(dir, "kafkasm");
  await esbuild.build({ bundle: true, format: "esm", logLevel: "warning", absWorkingDir: root, ...b, outdir });
  const files: string[] = [];
  const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(relative(dir, join(d, e.name))); };
  walk(outdir);
  return files;
}

function config(files: string[], port: number): string {
  const modules = [
    `(name = "worker.js", esModule = embed "worker.js")`,
    ...files.map((f) => f.endsWith(".wasm") ? `(name = "${f}", wasm = embed "${f}")` : `(name = "${f}", esModule = embed "${f}")`),
  ];
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The worker may reach loopback only: the mock cluster on 127.0.0.1.
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ ${modules.join(",\n    ")} ],
  compatibilityDate = "2025-01-01",
  globalOutbound = "loopback",
);
`;
}

/** Resolves with the worker's base URL once workerd answers HTTP. */
async function waitForWorker(port: number, child: ChildProcess, stderr: () => string): Promise<string> {
  const base = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try { await fetch(base + "?count=0&topic=x&brokers=127.0.0.1:1", { signal: AbortSignal.timeout(10_000) }); return base; } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`workerd did not start: ${stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test("a workerd worker produces 5,000 keyed records over cloudflare:sockets with the WASM imported as a module (kcat read-back)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-workerd-"));
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "workerd", partitions: 4 }] });
  let child: ChildProcess | undefined;
  let stderr = "";
  try {
    const files = await buildBundle(dir);
    assert.ok(files.includes("kafkasm/kafkasm.wasm"), "the .wasm is a separate module");
    writeFileSync(join(dir, "worker.js"), WORKER);
    const port = await freePort();
    writeFileSync(join(dir, "config.capnp"), config(files, port));
    child = spawn(bin("workerd"), ["serve", join(dir, "config.capnp"), "--verbose"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdout!.on("data", (d) => (stderr += d));
    const base = await waitForWorker(port, child, () => stderr);
    const res = await fetch(`${base}?brokers=${cluster.bootstrap}&topic=workerd&count=5000`, { signal: AbortSignal.timeout(90_000) });
    const body = await res.json() as { ok: boolean; count: number; error?: string };
    assert.ok(body.ok, `worker answered ${JSON.stringify(body)}; workerd: ${stderr.slice(-3000)}`);
    assert.equal(body.count, 5000);
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "workerd", { count: 5000, timeoutMs: 30_000 }), 5000);
  } finally {
    child?.kill("SIGKILL");
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("in workerd every compression codec works (their WASM imported as modules, never compiled from bytes); kcat decompresses", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-workerd-"));
  const codecs = ["gzip", "snappy", "lz4", "zstd"];
  const cluster = await startCluster({ brokers: 1, topics: codecs.map((c) => ({ name: `workerd-${c}`, partitions: 2 })) });
  let child: ChildProcess | undefined;
  let stderr = "";
  try {
    const files = await buildBundle(dir);
    for (const w of ["kafkasm.wasm", "snappy.wasm", "lz4.wasm", "zstd.wasm"]) assert.ok(files.includes(`kafkasm/${w}`), w);
    writeFileSync(join(dir, "worker.js"), WORKER);
    const port = await freePort();
    writeFileSync(join(dir, "config.capnp"), config(files, port));
    child = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (d) => (stderr += d));
    const base = await waitForWorker(port, child, () => stderr);
    for (const c of codecs) {
      const r = await fetch(`${base}?brokers=${cluster.bootstrap}&topic=workerd-${c}&count=500&compression=${c}`, { signal: AbortSignal.timeout(60_000) });
      const body = await r.json() as { ok: boolean; count: number };
      assert.ok(body.ok, `${c}: ${JSON.stringify(body)}`);
      assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, `workerd-${c}`, { count: 500, timeoutMs: 30_000 }), 500);
    }
  } finally {
    child?.kill("SIGKILL");
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

exitAfterSuite(test);
test.run();
