/**
 * `npm run bench:size`: the browser bundle's size, the number the budget is about.
 *
 * Builds src/browser.ts with the options in scripts/bundles.mjs (esbuild, minified, ESM, code
 * splitting) into a temporary directory and measures what a page downloads before it can produce
 * without compression: the entry file plus every chunk it imports statically, and the codec's
 * .wasm file (fetched on first use). Each file is gzipped on its own (level 9), as a server would
 * serve it. The compression codecs are dynamic-import chunks, measured separately as what their
 * first use adds, and the transactions chunk (initTransactions()) likewise. Then tries the same
 * for the peers (kafkajs, @platformatic/kafka) with platform browser, and reports why when they
 * do not build.
 *
 * Budget: producer with no compression, JS + WASM, minified + gzipped ≤ 25 KiB.
 * Writes bench/results/size.json. Sizes are deterministic (no timing), so the shared machine does not matter.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const BUDGET = 25 * 1024;
const root = join(import.meta.dirname, "..");
const kib = (n: number) => `${(n / 1024).toFixed(2)} KiB`;
const gz = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;

interface FileSize { file: string; bytes: number; gzip: number }

const out = mkdtempSync(join(tmpdir(), "kafkasm-size-"));
try {
  const bundlesPath = join(root, "scripts/bundles.mjs"); // a variable: bundles.mjs has no type declarations
  const { bundles } = await import(bundlesPath) as { bundles: (esbuild.BuildOptions & { entryPoints: string[] })[] };
  const spec = bundles.find((b) => b.entryPoints[0] === "src/browser.ts");
  if (!spec) throw new Error("scripts/bundles.mjs has no src/browser.ts bundle");
  const result = await esbuild.build({ bundle: true, format: "esm", logLevel: "warning", absWorkingDir: root, ...spec, outdir: out, metafile: true });
  const outputs = result.metafile.outputs;
  const abs = (p: string) => join(root, p);
  const entry = Object.keys(outputs).find((k) => outputs[k].entryPoint === "src/browser.ts")!;

  /** Files loaded when `start` is loaded: itself and its static imports, transitively. */
  const closure = (start: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(start)) return seen;
    seen.add(start);
    for (const imp of outputs[start].imports) if (imp.kind === "import-statement" || imp.kind === "file-loader") closure(imp.path, seen);
    return seen;
  };
  const sizeOf = (files: Iterable<string>): FileSize[] => [...files].map((f) => {
    const bytes = readFileSync(abs(f));
    return { file: relative(out, abs(f)), bytes: bytes.length, gzip: gz(bytes) };
  });
  const sum = (xs: FileSize[]) => xs.reduce((a, x) => ({ bytes: a.bytes + x.bytes, gzip: a.gzip + x.gzip }), { bytes: 0, gzip: 0 });

  const base = closure(entry);
  const baseFiles = sizeOf(base);
  const baseTotal = sum(baseFiles);
  const pass = baseTotal.gzip <= BUDGET;

  // What each codec's first use adds: the closure of its dynamic-import chunk(s) minus what is loaded.
  // Static imports, plus dynamic imports of this codec's own WASM module (a shared chunk may hold
  // the dynamic imports of every codec's WASM; only the one in use is fetched).
  const dynamic = (start: string, name: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(start)) return seen;
    seen.add(start);
    for (const imp of outputs[start].imports) {
      if (imp.kind === "import-statement" || Object.keys(outputs[imp.path]?.inputs ?? {}).some((i) => i.startsWith(`build/${name}.wasm`))) dynamic(imp.path, name, seen);
    }
    return seen;
  };
  const codecs: Record<string, { bytes: number; gzip: number }> = {};
  const registry = Object.keys(outputs).find((k) => outputs[k].entryPoint === "src/compression/index.ts");
  for (const name of ["gzip", "snappy", "lz4", "zstd"]) {
    const chunk = Object.keys(outputs).find((k) => outputs[k].entryPoint === `src/compression/${name}.ts`);
    if (!chunk) continue;
    const files = new Set([...(registry ? closure(registry) : []), ...dynamic(chunk, name)]);
    for (const f of base) files.delete(f);
    codecs[name] = sum(sizeOf(files));
  }
  // Transactions (transactions.ts and its three APIs): fetched by initTransactions().
  const txnChunk = Object.keys(outputs).find((k) => outputs[k].entryPoint === "src/producer/transactions.ts");
  const txnFiles = txnChunk ? [...closure(txnChunk)].filter((f) => !base.has(f)) : [];
  const transactions = txnChunk ? sum(sizeOf(txnFiles)) : undefined;

  console.log("kafkasm browser bundle (src/browser.ts → esbuild, minified, ESM, splitting; gzip -9 per file)\n");
  for (const f of baseFiles) console.log(`  ${f.file.padEnd(34)} ${String(f.bytes).padStart(7)} B  gzip ${String(f.gzip).padStart(6)} B`);
  console.log("  (the codec's WASM is the .wasm file, fetched on first use: bindings/wasm-source.browser.ts)");
  const inputs = [...base].flatMap((f) => Object.entries(outputs[f].inputs)).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
  console.log(`  largest inputs (minified bytes): ${inputs.slice(0, Number(process.env.SIZE_TOP ?? 10)).map(([k, v]) => `${k} ${v.bytesInOutput}`).join(", ")}`);
  console.log(`\nproducer, no compression, JS + WASM, minified + gzipped: ${baseTotal.gzip} B = ${kib(baseTotal.gzip)}` +
    `  (budget ${kib(BUDGET)}: ${pass ? "within" : "OVER"}; minified ${kib(baseTotal.bytes)})`);
  console.log("\ncompression codecs, loaded on first use (adds, gzipped):");
  for (const [name, s] of Object.entries(codecs)) console.log(`  ${name.padEnd(7)} +${kib(s.gzip)}  (minified ${kib(s.bytes)})`);
  console.log(transactions
    ? `\ntransactions, loaded by initTransactions(): +${kib(transactions.gzip)}  (minified ${kib(transactions.bytes)})`
    : "\ntransactions: not a separate chunk (in the entry)");

  // Peers: same esbuild settings, platform browser.
  const peers: Record<string, { ok: boolean; bytes?: number; gzip?: number; reason?: string }> = {};
  for (const [name, input] of [["kafkajs", "kafkajs"], ["@platformatic/kafka", "@platformatic/kafka"]] as const) {
    const dir = join(out, "peer-" + name.replace(/\W/g, "_"));
    try {
      const r = await esbuild.build({
        stdin: { contents: `export * from ${JSON.stringify(input)};`, resolveDir: root, loader: "js" },
        bundle: true, format: "esm", minify: true, platform: "browser", target: "es2022", outdir: dir,
        splitting: true, logLevel: "silent", metafile: true, write: true,
      });
      const files = Object.keys(r.metafile.outputs);
      const sizes = sizeOf(files);
      peers[name] = { ok: true, ...sum(sizes) };
    } catch (e) {
      const errors = (e as { errors?: { text: string }[] }).errors ?? [{ text: String(e) }];
      const unresolved = [...new Set(errors.map((x) => /Could not resolve "([^"]+)"/.exec(x.text)?.[1]).filter(Boolean))];
      const reason = unresolved.length
        ? `needs Node built-ins the browser lacks: ${unresolved.slice(0, 12).join(", ")}${unresolved.length > 12 ? ", …" : ""} (${errors.length} errors)`
        : errors.slice(0, 3).map((x) => x.text).join("; ");
      peers[name] = { ok: false, reason };
    }
  }
  console.log("\npeers, esbuild --platform=browser --minify:");
  for (const [name, p] of Object.entries(peers)) {
    console.log(`  ${name.padEnd(20)} ${p.ok ? `${kib(p.gzip!)} gzipped (minified ${kib(p.bytes!)})` : `does not build for the browser: ${p.reason}`}`);
  }

  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/size.json"), JSON.stringify({
    date: new Date().toISOString(), budgetBytes: BUDGET, withinBudget: pass,
    browser: { files: baseFiles, total: baseTotal }, codecs, transactions, peers,
  }, null, 2) + "\n");
  console.log("\nwrote bench/results/size.json");
  if (!pass) process.exitCode = 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
