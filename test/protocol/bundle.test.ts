// The browser bundle (scripts/bundles.mjs) carries only the client's half of the protocol: the broker's
// half (decodeRequest/encodeResponse, in the `<Name>Server` exports), the transaction APIs and batch
// splitting stay out of what a page loads before it produces. Guards the size budget (bench/size.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as esbuild from "esbuild";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const root = join(import.meta.dirname, "../..");
const { bundles } = await import(join(root, "scripts/bundles.mjs")) as { bundles: (esbuild.BuildOptions & { entryPoints: string[] })[] };
const spec = bundles.find((b) => b.entryPoints[0] === "src/browser.ts")!;
const result = await esbuild.build({ bundle: true, format: "esm", logLevel: "silent", absWorkingDir: root, ...spec,
  outdir: "/tmp/kafkasm-bundle-test", write: false, metafile: true });
const outputs = result.metafile.outputs;
const entry = Object.keys(outputs).find((k) => outputs[k].entryPoint === "src/browser.ts")!;
/** The entry, the chunks it imports statically and the codec's .wasm file: what a page loads before it can produce. */
const loaded = new Set<string>();
(function closure(p: string) {
  if (loaded.has(p)) return;
  loaded.add(p);
  for (const imp of outputs[p].imports) if (imp.kind === "import-statement" || imp.kind === "file-loader") closure(imp.path);
})(entry);
const text = (p: string) => result.outputFiles.find((f) => f.path === join(root, p))!.text;

test("the browser bundle's statically loaded files have no request decoder or response encoder", () => {
  for (const p of loaded) {
    assert.not.match(text(p), /decodeRequest|encodeResponse/, p);
  }
  // The client's half is there (the test would pass on an empty bundle otherwise).
  assert.ok([...loaded].some((p) => /encodeRequest/.test(text(p)) && /decodeResponse/.test(text(p))));
});

/** `files` are in no statically loaded file but in a chunk of their own, entered at `files[0]`. */
function assertLoadedOnDemand(files: string[]): void {
  for (const p of loaded) for (const f of files) assert.not.ok(f in outputs[p].inputs, `${f} is in ${p}`);
  const all = Object.values(outputs).flatMap((o) => Object.keys(o.inputs));
  for (const f of files) assert.ok(all.includes(f), `${f} is in some chunk`);
  // It shares no module with the entry but errors.ts (shared with the codecs anyway): anything else
  // would be split into one more chunk the page loads up front, costing ~1 KiB gzipped.
  const chunk = Object.keys(outputs).find((k) => outputs[k].entryPoint === files[0]);
  assert.ok(chunk, `${files[0]} is the entry of a chunk`);
  for (const imp of outputs[chunk].imports) {
    if (imp.kind !== "import-statement") continue;
    assert.equal(Object.keys(outputs[imp.path].inputs), ["src/errors.ts"], `the ${files[0]} chunk imports ${imp.path}`);
  }
}

test("transactions (transactions.ts, FindCoordinator, AddPartitionsToTxn, EndTxn) are a chunk loaded on demand", () => {
  assertLoadedOnDemand(["src/producer/transactions.ts", "src/protocol/find-coordinator.ts", "src/protocol/add-partitions-to-txn.ts", "src/protocol/end-txn.ts"]);
});

test("MESSAGE_TOO_LARGE batch splitting (split.ts) is a chunk loaded on demand, and the entry imports it only dynamically", () => {
  assertLoadedOnDemand(["src/producer/split.ts"]);
  const split = Object.keys(outputs).find((k) => outputs[k].entryPoint === "src/producer/split.ts")!;
  assert.ok(outputs[entry].imports.some((imp) => imp.kind === "dynamic-import" && imp.path === split), "the entry has a dynamic import() of the split chunk");
});

test("broker-answer checks (checks.ts) are a chunk loaded on demand", () => {
  assertLoadedOnDemand(["src/producer/checks.ts"]);
});

test("the writable() sink (writable-sink.ts) is a chunk loaded on demand", () => {
  assertLoadedOnDemand(["src/producer/writable-sink.ts"]);
});

test("what a page loads before it produces (entry + static chunks + the codec's .wasm, each gzipped -9) fits the 25 KiB budget", () => {
  assert.ok([...loaded].some((p) => p.endsWith(".wasm")), "the codec's WASM is a file the page fetches, and it is counted");
  const bytes = [...loaded].reduce((n, p) => n + gzipSync(result.outputFiles.find((f) => f.path === join(root, p))!.contents, { level: 9 }).length, 0);
  assert.ok(bytes > 10 * 1024, `${bytes} B: the measurement found the bundle`);
  assert.ok(bytes <= 25 * 1024, `${bytes} B gzipped, over the 25 KiB budget (npm run bench:size shows where)`);
});

test.run();
