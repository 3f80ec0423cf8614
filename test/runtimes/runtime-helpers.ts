// Spawning another runtime (Deno, Bun, workerd…) from a Node test, with a time limit and captured output.
import { spawn } from "node:child_process";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..", "..");
export const bin = (name: string) => join(root, "node_modules", ".bin", name);

export interface Run { code: number | null; stdout: string; stderr: string }

/** Runs a command to completion (SIGKILLed after timeoutMs, default 90 s: a hang guard for a loaded machine). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: "1", ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => { stderr += `\n[killed after ${opts.timeoutMs ?? 90_000} ms]`; child.kill("SIGKILL"); }, opts.timeoutMs ?? 90_000);
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** The last JSON line a program printed. */
export function lastJson<T = Record<string, unknown>>(r: Run): T {
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!line) throw new Error(`no JSON result (exit ${r.code}); stdout: ${r.stdout.slice(-2000)} stderr: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as T;
}

/** The esbuild options scripts/bundles.mjs uses for `entry` (so tests build exactly what ships). */
export async function bundleSpec(entry: string): Promise<Record<string, unknown> & { entryPoints: string[] }> {
  const path = join(root, "scripts", "bundles.mjs"); // a variable: bundles.mjs has no type declarations
  const { bundles } = (await import(path)) as { bundles: (Record<string, unknown> & { entryPoints: string[] })[] };
  const spec = bundles.find((b) => b.entryPoints[0] === entry);
  if (!spec) throw new Error(`scripts/bundles.mjs has no bundle for ${entry}`);
  return spec;
}
