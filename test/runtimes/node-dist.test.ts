// The Node entries as shipped (dist/node/, scripts/bundles.mjs): what a script loads before it produces.
// node:tls (~10 ms and ~4 MB of a plaintext client's start) is imported only at the first TLS connection,
// the compression codecs (zstd's inline WASM is 336 KB) are chunks loaded on first use, and the CLI loads
// a command's dependencies only when it runs it (`kafkasm produce` neither the proxy's ws nor node:tls).
// From the shipped files, a plaintext producer never loads node:tls, zstd batches (codec chunk, compression
// thread beside index.js) reach Kafka intact, a TLS connection still opens, and so does the CLI's.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as esbuild from "esbuild";
import { createServer, type Server } from "node:tls";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { exitAfterSuite, spawnChild } from "../harness/bounded.ts";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { makePki } from "../transport/certs.ts";

const root = join(import.meta.dirname, "../..");
const { bundles } = await import(join(root, "scripts/bundles.mjs")) as { bundles: (esbuild.BuildOptions & { entryPoints: string[] })[] };

/** The build of the bundle whose entries include `input`: its outputs, and what loading `input`'s output loads up front. */
async function staticallyLoaded(input: string) {
  const spec = bundles.find((b) => (Object.values(b.entryPoints) as string[]).includes(input))!;
  const { metafile } = await esbuild.build({ bundle: true, format: "esm", logLevel: "silent", absWorkingDir: root, ...spec,
    outdir: "/tmp/kafkasm-node-bundle-test", write: false, metafile: true });
  const outputs = metafile.outputs;
  const loaded = new Set<string>();
  (function closure(p: string) {
    if (loaded.has(p)) return;
    loaded.add(p);
    for (const imp of outputs[p].imports) if (imp.kind === "import-statement" && !imp.external) closure(imp.path);
  })(Object.keys(outputs).find((k) => outputs[k].entryPoint === input)!);
  const externals = (kind: string) => [...loaded].flatMap((p) => outputs[p].imports.filter((i) => i.external && i.kind === kind).map((i) => i.path));
  return { outputs, loaded, staticExternals: externals("import-statement"), dynamicExternals: externals("dynamic-import") };
}

test("the Node entry imports node:tls and every compression codec only dynamically", async () => {
  const { outputs, loaded, staticExternals, dynamicExternals } = await staticallyLoaded("src/index.ts");
  assert.ok(staticExternals.includes("node:net"), "node:net is imported up front (the test sees static imports)");
  assert.not.ok(staticExternals.includes("node:tls"), `node:tls is imported up front: ${staticExternals.join(", ")}`);
  assert.ok(dynamicExternals.includes("node:tls"), "node:tls is imported on demand");
  for (const codec of ["build/zstd.wasm.base64.js", "build/lz4.wasm.base64.js", "build/snappy.wasm.base64.js", "src/compression/gzip.ts"]) {
    for (const p of loaded) assert.not.ok(codec in outputs[p].inputs, `${codec} is in ${p}, loaded up front`);
    assert.ok(Object.values(outputs).some((o) => codec in o.inputs), `${codec} is in some chunk`);
  }
});

test("the CLI loads its commands on demand: neither it nor `kafkasm produce` imports ws, node:tls or node:https up front", async () => {
  const cli = await staticallyLoaded("src/cli/main.ts");
  for (const m of ["ws", "node:tls", "node:https"]) assert.not.ok(cli.staticExternals.includes(m), `the CLI imports ${m} up front`);
  const produce = Object.keys(cli.outputs).find((k) => cli.outputs[k].entryPoint === "src/cli/produce.ts")!;
  assert.ok(produce, "produce is a chunk of its own");
  const seen = new Set<string>();
  const externals: string[] = [];
  (function closure(p: string) {
    if (seen.has(p)) return;
    seen.add(p);
    for (const imp of cli.outputs[p].imports) {
      if (imp.external && imp.kind === "import-statement") externals.push(imp.path);
      else if (!imp.external && imp.kind === "import-statement") closure(imp.path);
    }
  })(produce);
  for (const m of ["ws", "node:tls", "node:https"]) assert.not.ok(externals.includes(m), `kafkasm produce imports ${m} up front`);
  const proxy = Object.keys(cli.outputs).find((k) => cli.outputs[k].entryPoint === "src/cli/proxy.ts")!;
  const proxyStatic = new Set<string>();
  (function closure(p: string) {
    for (const imp of cli.outputs[p].imports) {
      if (imp.kind !== "import-statement") continue;
      if (imp.external) proxyStatic.add(imp.path);
      else closure(imp.path);
    }
  })(proxy);
  assert.ok(proxyStatic.has("ws"), "kafkasm proxy still imports ws (the test sees a chunk's static imports)");
});

test("in both builds src/index.ts runs from an entry file in dist/node/ itself, where its URL finds compression-worker.js", async () => {
  for (const entry of ["src/index.ts", "src/cli/main.ts"]) {
    const { outputs } = await staticallyLoaded(entry);
    const holders = Object.keys(outputs).filter((k) => "src/index.ts" in outputs[k].inputs).map((k) => k.replace(/^.*kafkasm-node-bundle-test\//, ""));
    assert.equal(holders, [entry === "src/index.ts" ? "index.js" : "cli-producer.js"], `src/index.ts is in ${holders.join(", ")}`);
  }
});

/** Runs `body` in a fresh Node process importing dist/node/index.js as `mod`; returns its last stdout line, parsed. */
async function inShippedEntry(body: string, env: Record<string, string> = {}): Promise<any> {
  const script = `const tlsLoaded = () => process.moduleLoadList.includes("NativeModule tls");
const mod = await import(${JSON.stringify(pathToFileURL(join(root, "dist/node/index.js")).href)});
${body}`;
  const child = spawnChild(process.execPath, ["--input-type=module", "-e", script], { cwd: root, env: { ...process.env, ...env } });
  try {
    const code = await child.exited(60_000);
    assert.is(code, 0, `the child exited with ${code}: ${child.stderr.slice(-1500)}`);
    return JSON.parse(child.stdout.trim().split("\n").pop()!);
  } finally {
    child.kill();
  }
}

let cluster: Cluster;
test.before(async () => { cluster = await startCluster({ brokers: 3 }); });
test.after(async () => { await cluster?.stop(); });

test("from the shipped entry, a plaintext producer never loads node:tls, and its zstd batches (codec chunk, compression thread beside index.js) reach Kafka intact", async () => {
  const topic = `node-dist-${Date.now()}`;
  await cluster.createTopic(topic, 3);
  const r = await inShippedEntry(`
const afterImport = tlsLoaded();
const p = new mod.Producer({ brokers: process.env.BOOTSTRAP.split(","), compression: "zstd", lingerMs: 20, batchSize: 64 * 1024 });
const metas = await p.sendBatch(Array.from({ length: 3000 }, (_, i) => ({ topic: process.env.TOPIC, key: "k" + (i % 7), value: "v" + i + "-" + "x".repeat(90) })));
await p.close();
console.log(JSON.stringify({ afterImport, afterProduce: tlsLoaded(), acked: metas.length }));`, { BOOTSTRAP: cluster.bootstrap, TOPIC: topic });
  assert.equal(r, { afterImport: false, afterProduce: false, acked: 3000 });
  const records = await consumeAll(cluster.bootstrap, topic, { count: 3000 });
  assert.is(records.length, 3000);
  const values = new Set(records.map((x) => x.payload));
  for (let i = 0; i < 3000; i++) assert.ok(values.has(`v${i}-${"x".repeat(90)}`), `record ${i} is in Kafka once`);
  assert.is(values.size, 3000);
});

test("from the shipped entry, nodeTlsTransport loads node:tls at its first connection and completes the handshake", async () => {
  const pki = makePki();
  const server: Server = createServer({ cert: pki.broker.cert, key: pki.broker.key }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as { port: number }).port;
    const r = await inShippedEntry(`
const transport = mod.nodeTlsTransport({ ca: process.env.CA });
const before = tlsLoaded();
const socket = await transport({ host: "127.0.0.1", port: Number(process.env.PORT), nodeId: 0 }, { onData() {}, onClose() {} });
socket.close();
console.log(JSON.stringify({ before, after: tlsLoaded() }));`, { CA: pki.ca, PORT: String(port) });
    assert.equal(r, { before: false, after: true });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    pki.remove();
  }
});

test("the shipped CLI (bin/kafkasm.js) produces stdin lines with zstd, its producer finding compression-worker.js beside it", async () => {
  const topic = `node-dist-cli-${Date.now()}`;
  await cluster.createTopic(topic, 3);
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${"y".repeat(80)}`);
  const child = spawnChild(process.execPath, [join(root, "bin/kafkasm.js"), "produce", "--brokers", cluster.bootstrap, "--topic", topic, "--compression", "zstd"], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  try {
    child.process.stdin!.end(lines.join("\n") + "\n");
    const code = await child.exited(60_000);
    assert.is(code, 0, `kafkasm produce exited with ${code}: ${child.stderr.slice(-1500)}`);
  } finally {
    child.kill();
  }
  const records = await consumeAll(cluster.bootstrap, topic, { count: lines.length });
  assert.equal(records.map((r) => r.payload).sort(), [...lines].sort());
});

exitAfterSuite(test);
test.run();
