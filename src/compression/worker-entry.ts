/**
 * The compression thread (started by worker-node.ts): loads its own WASM codec, named by the first
 * message, and answers each batch with its compressed bytes (headroom included), transferred back.
 * Runs as a node:worker_threads worker (Node, Bun, Deno) or a module Web Worker.
 */
import { loadCompressionCodec } from "./index.ts";
import type { CompressionCodec } from "./codec.ts";
import type { ThreadAnswer } from "./worker.ts";

interface Port { on(event: "message", f: (m: unknown) => void): void; postMessage(m: ThreadAnswer, transfer?: ArrayBuffer[]): void }

// A Web Worker has no node:worker_threads parentPort: its global scope is the port.
const g = globalThis as unknown as { onmessage: ((e: { data: unknown }) => void) | null; postMessage(m: unknown, transfer?: ArrayBuffer[]): void };
const port: Port = await import("node:worker_threads" as string).then((m: { parentPort: Port | null }) => m.parentPort!, () => null)
  ?? { on: (_e, f) => { g.onmessage = (e) => f(e.data); }, postMessage: (m, t) => g.postMessage(m, t) };

let codec: CompressionCodec | undefined;
port.on("message", (m) => {
  const r = m as { codec?: "snappy" | "lz4" | "zstd"; id?: number; data?: Uint8Array; headroom?: number };
  if (r.codec !== undefined) {
    loadCompressionCodec(r.codec).then((c) => { codec = c; port.postMessage({ ready: true }); },
      (e: unknown) => port.postMessage({ failed: (e as Error)?.message ?? String(e) }));
    return;
  }
  try {
    // The codecs on this thread are synchronous (snappy, lz4, zstd): compress returns bytes.
    const out = codec!.compress(r.data!, r.headroom) as Uint8Array;
    // The input goes back too: its buffer carries a later batch (compress copied it into WASM memory).
    port.postMessage({ id: r.id!, out, back: r.data! }, [out.buffer as ArrayBuffer, r.data!.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: r.id!, error: (e as Error)?.message ?? String(e) });
  }
});
