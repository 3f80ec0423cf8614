// Runs every test/**/*.test.ts file in its own Node process (uvu inside), two at a time, each with a
// time limit, so that a hung or crashing file fails alone and cannot leave the run waiting.
// Prints the slowest files, then a closing line "tests: N passed, N failed, N skipped".
//   node scripts/test.mjs [substring filters…]
// KAFKASM_TEST_FILE_TIMEOUT_MS (default 180000; the slowest file takes ~25 s alone) and
// KAFKASM_TEST_CONCURRENCY (default 2) override the limits.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);
const perFileLimitMs = Number(process.env.KAFKASM_TEST_FILE_TIMEOUT_MS ?? 3 * 60_000);
const concurrency = Number(process.env.KAFKASM_TEST_CONCURRENCY ?? 2);

function find(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== "fixtures" && e.name !== "node_modules") out.push(...find(p)); }
    else if (e.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const files = find(join(root, "test")).map((f) => relative(root, f)).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));

let passed = 0, failed = 0, skipped = 0;
const failures = [];
const durations = [];
const running = new Set();
const runStarted = Date.now();

// Interrupted (Ctrl-C, CI cancel): take the running files' process groups down too, leaving no orphans.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const pid of running) { try { process.kill(-pid, "SIGKILL"); } catch {} }
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: root, env: { ...process.env, FORCE_COLOR: "0" }, stdio: ["ignore", "pipe", "pipe"], detached: true,
    });
    running.add(child.pid);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[test.mjs] ${file} exceeded ${perFileLimitMs} ms; killed\n`;
      try { process.kill(-child.pid, "SIGKILL"); } catch {}
    }, perFileLimitMs);
    // A file's children share its process group: none outlives the file (nor holds its output open).
    child.on("exit", () => { try { process.kill(-child.pid, "SIGKILL"); } catch {} });
    child.on("close", (code) => {
      clearTimeout(timer);
      running.delete(child.pid);
      const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? NaN);
      const total = num("Total"), ok = num("Passed"), skip = num("Skipped") || 0;
      let p = 0, f = 0;
      // uvu's Total counts the tests that ran; skipped ones are only in Skipped.
      if (Number.isFinite(total) && Number.isFinite(ok)) { p = ok; f = total - ok; }
      if (code !== 0 && f === 0) f = 1;
      passed += p; failed += f; skipped += skip;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      durations.push([file, Number(secs)]);
      process.stdout.write(`${f ? "FAIL" : "ok  "} ${file} (${p} passed${f ? `, ${f} failed` : ""}${skip ? `, ${skip} skipped` : ""}, ${secs}s)\n`);
      if (f) { failures.push(file); process.stdout.write(out.split("\n").map((l) => `    ${l}`).join("\n") + "\n"); }
      else if (process.env.KAFKASM_TEST_VERBOSE) process.stdout.write(out);
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
  while (queue.length) await runFile(queue.shift());
}));
const slowest = durations.sort((a, b) => b[1] - a[1]).slice(0, 5);
console.log(`\nslowest files:\n${slowest.map(([f, s]) => `  ${s.toFixed(1).padStart(6)}s  ${f}`).join("\n")}`);
console.log(`total time ${((Date.now() - runStarted) / 1000).toFixed(1)}s (${files.length} files, ${concurrency} at a time)`);
if (failures.length) console.log(`\nfailed files:\n  ${failures.join("\n  ")}`);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
