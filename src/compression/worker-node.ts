/**
 * Starts the compression thread with node:worker_threads (Node, Bun, Deno's node compatibility).
 * Imported by the runtime entries only; loaded lazily so a producer without compression never
 * starts or imports it. Typed structurally: this directory is type-checked without Node's types.
 */
import type { CompressionThread, SpawnCompressionThread } from "./worker.ts";

interface NodeWorker {
  on(event: "message" | "error" | "messageerror" | "exit", f: (x: unknown) => void): void;
  postMessage(m: unknown, transfer: ArrayBuffer[]): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

/** A spawn function running `entry` (worker-entry.ts, or its bundle dist/<runtime>/compression-worker.js). */
export function nodeCompressionThread(entry: URL): SpawnCompressionThread {
  return async (onMessage, onFailure) => {
    const { Worker } = await import("node:worker_threads" as string) as { Worker: new (url: URL | string, options?: object) => NodeWorker };
    // From source (tests, `node --import tsx`): Node 20 loads a worker's .ts entry before the inherited
    // --import hooks register, so that worker registers tsx itself first. Deno, Bun and Node with
    // type stripping load it themselves.
    const g = globalThis as { Deno?: unknown; Bun?: unknown; process?: { features?: { typescript?: unknown } } };
    const loadsTs = g.Deno !== undefined || g.Bun !== undefined || Boolean(g.process?.features?.typescript);
    const w = entry.pathname.endsWith(".ts") && !loadsTs
      ? new Worker(`import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true })
      : new Worker(entry);
    // Never holds the process open by itself: ThreadedCompression refs it only while a batch is on it.
    w.unref();
    let ended = false;
    const fail = (e: unknown) => { if (!ended) { ended = true; onFailure(e); } };
    w.on("message", onMessage);
    w.on("error", fail);
    w.on("messageerror", fail);
    w.on("exit", (code) => fail(new Error(`the compression thread exited (code ${String(code)})`)));
    const thread: CompressionThread = {
      post: (m, transfer) => w.postMessage(m, transfer),
      keepAlive: (on) => on ? w.ref() : w.unref(),
      // Its exit is still reported: a caller that stops the thread itself ignores that report.
      terminate: () => void w.terminate().catch(() => {}),
    };
    return thread;
  };
}
