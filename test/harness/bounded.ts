// Bounded waits for tests. An await that can never end turns one failing assertion into a file that
// hangs until the runner's per-file limit, with no output; these fail within a limit instead, naming
// what was awaited. Limits here guard against hangs, they measure nothing: make them generous.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { setTimeout as timeout } from "node:timers"; // Deno's global setTimeout has no unref()

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Settles like `promise`, or rejects after `ms` with "timed out after `ms` ms waiting for `what`". */
export function within<T>(promise: PromiseLike<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bounded = Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  // Created before the action it waits for and awaited after: if the test fails in between, its
  // later rejection must not crash the file as an unhandled rejection. Awaiting it still throws.
  bounded.catch(() => {});
  return bounded;
}

interface Once { once(event: string, listener: (...args: never[]) => void): unknown }

/** The arguments of `emitter`'s next `event`, bounded by `ms`. Call it before the action that causes the event. */
export function nextEvent<A extends unknown[] = unknown[]>(emitter: Once, event: string, ms: number, what: string): Promise<A> {
  return within(new Promise<A>((resolve) => emitter.once(event, ((...args: A) => resolve(args)) as never)), ms, what);
}

/** Polls `cond` every 10 ms until it holds; throws after `ms` naming `what`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A spawned child process with its output collected. */
export interface Child {
  readonly process: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (null after a signal) once the process has exited and its output is read; bounded by `ms`. */
  exited(ms: number): Promise<number | null>;
  /** SIGKILLs the process if it is still running. Call it in `finally`. */
  kill(): void;
}

const live = new Set<ChildProcess>();
let exitHook = false;

/**
 * Spawns `cmd` with piped output. The child does not keep the test process alive (a failed test
 * that skips its cleanup still lets the file end), and it is SIGKILLed when the test process exits,
 * so no child outlives its test file.
 */
export function spawnChild(cmd: string, args: string[], options: SpawnOptions = {}): Child {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => { for (const c of live) c.kill("SIGKILL"); });
  }
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  live.add(child);
  let stdout = "", stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  let spawnError: Error | undefined;
  const closed = new Promise<number | null>((resolve) => {
    child.once("error", (e) => { spawnError = e; live.delete(child); resolve(null); });
    child.once("close", (code) => { live.delete(child); resolve(code); });
  });
  return {
    process: child,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    exited: async (ms) => {
      const code = await within(closed, ms, () => `${cmd} ${args.join(" ").slice(0, 200)} to exit (stdout: ${stdout.slice(-1000)} stderr: ${stderr.slice(-1500)})`);
      if (spawnError) throw new Error(`cannot run ${cmd}: ${spawnError.message}`);
      return code;
    },
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL"); },
  };
}

/**
 * Call before `test.run()` in a file that opens servers, sockets or children: once the suite is done,
 * if something it left open still keeps the process alive after `graceMs`, the process exits anyway
 * (a failed test that skipped its cleanup costs seconds, not the runner's per-file limit), and a suite
 * that passed but leaked fails, naming the open handles.
 */
export function exitAfterSuite(suite: { after(hook: () => void): void }, graceMs = 10_000): void {
  suite.after(() => {
    timeout(() => {
      if (!process.exitCode) {
        const open = (process.getActiveResourcesInfo?.() ?? []).filter((r) => r !== "TTYWrap");
        process.stderr.write(`\n[exitAfterSuite] every test passed, but open handles (${open.join(", ") || "unknown"}) kept the process alive ${graceMs} ms after the suite: a test leaks\n`);
        process.exitCode = 1;
      }
      process.exit();
    }, graceMs).unref();
  });
}
