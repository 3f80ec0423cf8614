// The Node entry as shipped (dist/node/index.js, scripts/bundles.mjs): what a script loads before it
// produces. node:tls (~10 ms and ~4 MB of a plaintext client's start) is imported only at the first TLS
// connection, and the compression codecs (zstd's inline WASM is 336 KB) are chunks loaded on first use;
// from the shipped files, a plaintext producer never loads node:tls, zstd batches (inline and on the
// compression thread beside index.js) reach Kafka intact, and a TLS connection still opens.
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

test("the Node entry imports node:tls and every compression codec only dynamically", async () => {
  const spec = bundles.find((b) => b.entryPoints[0] === "src/index.ts")!;
  const { metafile } = await esbuild.build({ bundle: true, format: "esm", logLevel: "silent", absWorkingDir: root, ...spec,
    outdir: "/tmp/kafkasm-node-bundle-test", write: false, metafile: true });
  const outputs = metafile.outputs;
  const entry = Object.keys(outputs).find((k) => outputs[k].entryPoint === "src/index.ts")!;
  const loaded = new Set<string>();
  (function closure(p: string) {
    if (loaded.has(p)) return;
    loaded.add(p);
    for (const imp of outputs[p].imports) if (imp.kind === "import-statement" && !imp.external) closure(imp.path);
  })(entry);
  const staticExternals = [...loaded].flatMap((p) => outputs[p].imports.filter((i) => i.external && i.kind === "import-statement").map((i) => i.path));
  assert.ok(staticExternals.includes("node:net"), "node:net is imported up front (the test sees static imports)");
  assert.not.ok(staticExternals.includes("node:tls"), `node:tls is imported up front: ${staticExternals.join(", ")}`);
  const dynamicExternals = [...loaded].flatMap((p) => outputs[p].imports.filter((i) => i.external && i.kind === "dynamic-import").map((i) => i.path));
  assert.ok(dynamicExternals.includes("node:tls"), "node:tls is imported on demand");
  for (const codec of ["build/zstd.wasm.base64.js", "build/lz4.wasm.base64.js", "build/snappy.wasm.base64.js", "src/compression/gzip.ts"]) {
    for (const p of loaded) assert.not.ok(codec in outputs[p].inputs, `${codec} is in ${p}, loaded up front`);
    assert.ok(Object.values(outputs).some((o) => codec in o.inputs), `${codec} is in some chunk`);
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

exitAfterSuite(test);
test.run();
