/**
 * Compression on another thread. librdkafka compresses on its broker threads, in parallel with the
 * application; a JS producer has one thread, so snappy/lz4/zstd batches are handed to one worker
 * (its own WASM instance) while the main thread keeps staging records and framing requests.
 * The runtime entries inject how to start that thread (setCompressionThread); without it (browser,
 * workerd) compression stays inline. Sans-IO: nothing here names node:* or Worker.
 */
import { ClientError } from "../errors.ts";
import type { CompressionCodec } from "./codec.ts";

/** The codecs that run on the thread (gzip is CompressionStream, already off the JS thread). */
export type ThreadedCodecName = "snappy" | "lz4" | "zstd";

/** Main thread → compression thread. The first message is `{ codec }`; then one per batch. */
export type ThreadRequest = { codec: ThreadedCodecName } | { id: number; data: Uint8Array; headroom: number };
/**
 * Compression thread → main thread: `{ ready: true }` once its codec loaded, `{ id, out, back }` (out
 * transferred, headroom included; back: the batch's input, transferred back so its buffer carries a
 * later batch, no 1 MiB allocation per batch) or `{ id, error }` per request, `{ failed }` if the
 * codec cannot load.
 */
export type ThreadAnswer = { ready: true } | { id: number; out: Uint8Array; back?: Uint8Array } | { id: number; error: string } | { failed: string };

/** One started compression thread, as a runtime leaf (worker-node.ts) presents it. */
export interface CompressionThread {
  /** Posts `message`, transferring `transfer` (never cloning the batch). */
  post(message: ThreadRequest, transfer: ArrayBuffer[]): void;
  /** Whether the thread keeps the process alive: only while a batch is on it. */
  keepAlive(on: boolean): void;
  terminate(): void;
}

/** Starts a thread; `onMessage` gets every answer, `onFailure` a start failure, a crash or an exit. */
export type SpawnCompressionThread = (onMessage: (answer: unknown) => void, onFailure: (error: unknown) => void) => CompressionThread | Promise<CompressionThread>;

let spawnThread: SpawnCompressionThread | undefined;

/** Sets how this runtime starts a compression thread (each runtime entry with workers does). */
export function setCompressionThread(spawn: SpawnCompressionThread | undefined): void {
  spawnThread = spawn;
}

/**
 * Below this many bytes a batch is compressed inline: handing it over (the copy out of WASM memory,
 * postMessage, the answer) costs the main thread ~30-90 µs, which is what lz4 or snappy take for
 * 32-64 KiB themselves and zstd for ~8 KiB (measured on Node 20, 2 cores).
 */
export const MIN_THREAD_BYTES: Readonly<Record<ThreadedCodecName, number>> = { snappy: 64 * 1024, lz4: 64 * 1024, zstd: 16 * 1024 };
/**
 * At most this many batches on the thread at once; more are compressed inline: the main thread then
 * does the work itself (and stages nothing meanwhile), which is the backpressure, with no queue.
 * Three keep the thread busy (one compressing, the next ones waiting while its answer travels back);
 * a longer queue only left the main thread idle waiting on a saturated thread: with zstd at 1 M
 * records, 3 gave ~9 % more records/s than 8 (median of 6 interleaved pairs, 2 cores), lz4 the same.
 */
export const MAX_THREAD_BATCHES = 3;

interface Pending { resolve(out: Uint8Array): void; reject(e: unknown): void; headroom: number }

/**
 * A CompressionCodec whose compress() runs on the compression thread (a Promise) for batches of
 * at least MIN_THREAD_BYTES, inline otherwise, before the thread is ready and after it failed.
 * A rejected compress leaves the batch to `inline` (buildCompressed re-encodes and compresses it
 * here), so a crashed or stopped thread costs only time, never a record.
 */
export class ThreadedCompression implements CompressionCodec {
  readonly name: ThreadedCodecName;
  readonly attribute: 2 | 3 | 4;
  #thread: CompressionThread | null = null;
  #ready = false;
  #closed = false;
  #nextId = 0;
  readonly #pending = new Map<number, Pending>();
  /** Input buffers the thread gave back, for the next batches' copies. */
  readonly #spare: ArrayBuffer[] = [];
  // Plain fields, not parameter properties: Node's type stripping (strip-only) rejects those.
  readonly inline: CompressionCodec;
  readonly minBytes: number;
  readonly maxBatches: number;

  constructor(inline: CompressionCodec, spawn: SpawnCompressionThread, minBytes = MIN_THREAD_BYTES[inline.name as ThreadedCodecName], maxBatches = MAX_THREAD_BATCHES) {
    this.inline = inline;
    this.minBytes = minBytes;
    this.maxBatches = maxBatches;
    this.name = inline.name as ThreadedCodecName;
    this.attribute = inline.attribute as 2 | 3 | 4;
    let started: CompressionThread | Promise<CompressionThread>;
    try {
      started = spawn((m) => this.#answer(m), (e) => this.#fail(e));
    } catch (e) {
      this.#fail(e);
      return;
    }
    Promise.resolve(started).then((t) => {
      if (this.#closed) return t.terminate();
      this.#thread = t;
      t.keepAlive(false);
      t.post({ codec: this.name }, []);
    }, (e: unknown) => this.#fail(e));
  }

  /** Whether batches go to the thread now (false before it is ready and once it failed or closed). */
  get threaded(): boolean {
    return this.#ready;
  }

  /** Batches on the thread now. */
  get outstanding(): number {
    return this.#pending.size;
  }

  compress(data: Uint8Array, headroom = 0): Uint8Array | Promise<Uint8Array> {
    const t = this.#thread;
    if (!this.#ready || t === null || data.length < this.minBytes || this.#pending.size >= this.maxBatches) {
      return this.inline.compress(data, headroom);
    }
    // The one copy out of WASM memory, into a buffer the thread gave back if one is large enough;
    // transferred, not cloned.
    let buf = this.#spare.pop();
    // With an eighth to spare, a buffer carries the next batches too, though no two are the same size.
    if (buf === undefined || buf.byteLength < data.length) buf = new ArrayBuffer(data.length + (data.length >>> 3));
    const copy = new Uint8Array(buf, 0, data.length);
    copy.set(data);
    const id = ++this.#nextId;
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.#pending.size === 0) t.keepAlive(true);
      this.#pending.set(id, { resolve, reject, headroom });
      try {
        t.post({ id, data: copy, headroom }, [copy.buffer as ArrayBuffer]);
      } catch (e) {
        this.#fail(e);
      }
    });
  }

  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array | Promise<Uint8Array> {
    return this.inline.decompress(data, maxOutputBytes);
  }

  /** Ends the thread (batches still on it are left to inline compression). A bound arrow: the producer keeps it alone. */
  readonly close = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop(new ClientError("COMPRESSION_ERROR", `Cannot compress ${this.name} data on the compression thread: it was closed`));
  };

  #answer(m: unknown): void {
    if (this.#closed) return;
    const a = m as Record<string, unknown> | null;
    if (a !== null && typeof a === "object") {
      if (a.ready === true && !this.#ready) {
        this.#ready = true;
        return;
      }
      if (typeof a.id === "number") {
        const p = this.#pending.get(a.id);
        const out = a.out;
        if (p !== undefined && ((out instanceof Uint8Array && out.length > p.headroom) || typeof a.error === "string")) {
          this.#pending.delete(a.id);
          if (this.#pending.size === 0) this.#thread?.keepAlive(false);
          const back = a.back;
          if (back instanceof Uint8Array && back.byteOffset === 0 && this.#spare.length < this.maxBatches) this.#spare.push(back.buffer as ArrayBuffer);
          if (out instanceof Uint8Array) p.resolve(out);
          else p.reject(new ClientError("COMPRESSION_ERROR", `Cannot compress ${this.name} data on the compression thread: ${a.error}`));
          return;
        }
      }
      if (typeof a.failed === "string") return this.#fail(new Error(a.failed));
    }
    // An answer we did not ask for: nothing it says can be trusted, including later answers.
    this.#fail(new Error(`unexpected answer ${describe(m)}`));
  }

  #fail(e: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop(new ClientError("COMPRESSION_ERROR", `Cannot compress ${this.name} data on the compression thread: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
  }

  #stop(error: ClientError): void {
    this.#ready = false;
    const t = this.#thread;
    this.#thread = null;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    try { t?.terminate(); } catch { /* already gone */ }
    for (const p of pending) p.reject(error);
  }
}

function describe(m: unknown): string {
  try { return JSON.stringify(m)?.slice(0, 80) ?? String(m); } catch { return typeof m; }
}

/**
 * `codec` on a compression thread when this runtime has one and `threads` is 1, else `codec` itself.
 * gzip is left alone: CompressionStream already runs outside the JS thread.
 */
export function onCompressionThread(codec: CompressionCodec, threads: number): CompressionCodec {
  if (threads < 1 || !spawnThread || codec.name === "gzip") return codec;
  return new ThreadedCompression(codec, spawnThread);
}
