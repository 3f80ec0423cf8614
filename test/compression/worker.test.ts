// The compression thread (src/compression/worker.ts + worker-node.ts + worker-entry.ts): the same bytes
// as inline compression, bounded, and every failure (start, crash, garbage, close) leaves the batch to
// inline compression with a typed COMPRESSION_ERROR for what was on the thread, never a hang.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadCompressionCodec } from "../../src/compression/index.ts";
import { ThreadedCompression, type CompressionThread, type SpawnCompressionThread, type ThreadRequest } from "../../src/compression/worker.ts";
import { nodeCompressionThread } from "../../src/compression/worker-node.ts";
import { ClientError } from "../../src/errors.ts";
import { telemetryCorpus, sameBytes } from "./corpus.ts";
import { exitAfterSuite, until, within } from "../harness/bounded.ts";

const entry = new URL("../../src/compression/worker-entry.ts", import.meta.url);
const corpus = telemetryCorpus(1 << 20);
const HEAD = 61;

async function ready(t: ThreadedCompression): Promise<void> {
  await until(() => t.threaded, 30_000, "the compression thread to load its codec");
}

for (const name of ["snappy", "lz4", "zstd"] as const) {
  test(`${name}: batches compressed on the thread are byte-identical to inline ones (headroom kept) and decode`, async () => {
    const inline = await loadCompressionCodec(name);
    const t = new ThreadedCompression(inline, nodeCompressionThread(entry), 0, 8); // all five sizes on the thread at once
    try {
      await ready(t);
      const sizes = [1, 1000, 65_536, 300_001, corpus.length];
      // All in flight at once: answers are matched to requests by id, not by order.
      const results = sizes.map((n) => t.compress(corpus.subarray(0, n), HEAD));
      for (const r of results) assert.instance(r, Promise, "compressed on the thread");
      const outs = await within(Promise.all(results), 30_000, "the thread's answers");
      for (let i = 0; i < sizes.length; i++) {
        const input = corpus.subarray(0, sizes[i]);
        const expected = inline.compress(input, HEAD) as Uint8Array;
        assert.ok(sameBytes(outs[i]!.subarray(HEAD), expected.subarray(HEAD)), `${sizes[i]} bytes: same codec output`);
        assert.ok(sameBytes(await inline.decompress(outs[i]!.subarray(HEAD), 1 << 21), input), `${sizes[i]} bytes decode`);
      }
      assert.is(t.outstanding, 0);
    } finally {
      t.close();
    }
  });
}

/** A fake thread: records what is posted and lets the test answer (or not). */
function fakeThread(onPost?: (m: ThreadRequest, answer: (a: unknown) => void, fail: (e: unknown) => void) => void) {
  const state = { posts: [] as ThreadRequest[], alive: [] as boolean[], terminated: 0, answer: (_: unknown) => {}, fail: (_: unknown) => {} };
  const spawn: SpawnCompressionThread = (onMessage, onFailure) => {
    state.answer = onMessage;
    state.fail = onFailure;
    const thread: CompressionThread = {
      post: (m) => { state.posts.push(m); onPost?.(m, onMessage, onFailure); },
      keepAlive: (on) => state.alive.push(on),
      terminate: () => { state.terminated++; },
    };
    return thread;
  };
  return { state, spawn };
}

const lz4 = () => loadCompressionCodec("lz4");
const data = corpus.subarray(0, 100_000);

test("before the thread is ready, below minBytes and beyond maxBatches outstanding, compress runs inline (synchronously)", async () => {
  const { state, spawn } = fakeThread();
  const t = new ThreadedCompression(await lz4(), spawn, 1000, 2);
  await until(() => state.posts.length === 1, 5000, "the codec message");
  assert.equal(state.posts[0], { codec: "lz4" });
  assert.instance(t.compress(data, HEAD), Uint8Array, "not ready yet: inline");
  state.answer({ ready: true });
  assert.instance(t.compress(data.subarray(0, 999), HEAD), Uint8Array, "under minBytes: inline");
  const a = t.compress(data, HEAD), b = t.compress(data, HEAD);
  assert.instance(a, Promise);
  assert.instance(b, Promise);
  assert.is(t.outstanding, 2);
  assert.instance(t.compress(data, HEAD), Uint8Array, "maxBatches on the thread: inline");
  assert.is(state.posts.length, 3);
  // The thread keeps the process alive only while a batch is on it.
  assert.equal(state.alive, [false, true]);
  const ids = state.posts.slice(1).map((m) => (m as { id: number }).id);
  const out = (await lz4()).compress(data, HEAD) as Uint8Array;
  state.answer({ id: ids[1], out: out.slice() });
  state.answer({ id: ids[0], out: out.slice() });
  assert.ok(sameBytes(await (a as Promise<Uint8Array>), out));
  assert.ok(sameBytes(await (b as Promise<Uint8Array>), out));
  assert.equal(state.alive, [false, true, false]);
  t.close();
  assert.is(state.terminated, 1);
});

test("the batch's bytes are transferred to the thread, not cloned (the copy is detached after posting)", async () => {
  const { state, spawn } = fakeThread();
  const transfers: ArrayBuffer[][] = [];
  const t = new ThreadedCompression(await lz4(), (m, f) => {
    const th = spawn(m, f) as CompressionThread;
    return { ...th, post: (msg, tr) => { transfers.push(tr); th.post(msg, tr); } };
  }, 0);
  await until(() => state.posts.length === 1, 5000, "the codec message");
  state.answer({ ready: true });
  const p = t.compress(data, HEAD);
  const sent = state.posts[1] as { data: Uint8Array };
  assert.is(transfers[1]!.length, 1);
  assert.is(transfers[1]![0], sent.data.buffer);
  assert.ok(sent.data.buffer !== data.buffer, "a copy of the input, never the caller's (WASM) memory");
  t.close();
  await (p as Promise<Uint8Array>).then(() => assert.unreachable("closed"), (e: unknown) => assert.is((e as ClientError).code, "COMPRESSION_ERROR"));
});

/** An lz4 ThreadedCompression on a fake thread that has answered ready, and lz4's bytes for `data`. */
async function readyFakeLz4() {
  const { state, spawn } = fakeThread();
  const t = new ThreadedCompression(await lz4(), spawn, 0);
  await until(() => state.posts.length === 1, 5000, "the codec message");
  state.answer({ ready: true });
  return { state, t, out: (await lz4()).compress(data, HEAD) as Uint8Array };
}

test("an input buffer the thread gives back carries a later batch's copy (no allocation per batch); one too small is not used", async () => {
  const { state, t, out } = await readyFakeLz4();
  const first = t.compress(data, HEAD) as Promise<Uint8Array>;
  const sent1 = state.posts[1] as { id: number; data: Uint8Array };
  // As the thread does: the input comes back (its buffer, as the transfer moves it) with the output.
  const back = new Uint8Array(new ArrayBuffer(sent1.data.length));
  state.answer({ id: sent1.id, out: out.slice(), back });
  assert.ok(sameBytes(await first, out));
  const second = t.compress(data.subarray(0, 5000), HEAD) as Promise<Uint8Array>;
  const sent2 = state.posts[2] as { id: number; data: Uint8Array };
  assert.ok(sent2.data.buffer === back.buffer, "the given-back buffer carries the next batch");
  assert.is(sent2.data.length, 5000);
  assert.ok(sameBytes(sent2.data, data.subarray(0, 5000)), "with that batch's bytes");
  state.answer({ id: sent2.id, out: out.slice(), back: new Uint8Array(new ArrayBuffer(10)) });
  await second;
  const third = (t.compress(data, HEAD) as Promise<Uint8Array>).catch((e: ClientError) => e.code);
  const sent3 = state.posts[3] as { data: Uint8Array };
  assert.is(sent3.data.length, data.length, "a buffer too small for the batch is not used");
  assert.ok(sameBytes(sent3.data, data));
  t.close();
  assert.is(await third, "COMPRESSION_ERROR", "closed with the batch on it");
});

test("a buffer allocated for a batch has an eighth to spare, so it carries a later, somewhat larger batch too", async () => {
  const { state, t, out } = await readyFakeLz4();
  const first = t.compress(data.subarray(0, 80_000), HEAD) as Promise<Uint8Array>;
  const sent1 = state.posts[1] as { id: number; data: Uint8Array };
  assert.is(sent1.data.buffer.byteLength, 90_000);
  state.answer({ id: sent1.id, out: out.slice(), back: new Uint8Array(sent1.data.buffer.byteLength) });
  await first;
  const second = t.compress(data.subarray(0, 90_000), HEAD) as Promise<Uint8Array>;
  const sent2 = state.posts[2] as { id: number; data: Uint8Array };
  assert.is(sent2.data.buffer.byteLength, 90_000, "the given-back buffer, not a new one");
  assert.ok(sameBytes(sent2.data, data.subarray(0, 90_000)));
  state.answer({ id: sent2.id, out: out.slice() });
  await second;
  t.close();
});

for (const [what, garbage] of [["an unknown id", { id: 999, out: new Uint8Array(100) }], ["no bytes", { id: 1, out: "zzz" }], ["bytes shorter than the headroom", { id: 1, out: new Uint8Array(10) }], ["not an object", 42]] as const) {
  test(`a thread answering garbage (${what}): batches on it fail with COMPRESSION_ERROR, the thread is terminated, later batches compress inline`, async () => {
    const { state, spawn } = fakeThread();
    const t = new ThreadedCompression(await lz4(), spawn, 0);
    await until(() => state.posts.length === 1, 5000, "the codec message");
    state.answer({ ready: true });
    const p = t.compress(data, HEAD) as Promise<Uint8Array>;
    state.answer(garbage);
    const e = await within(p.then(() => undefined, (x: unknown) => x), 5000, "the rejection");
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, "COMPRESSION_ERROR");
    assert.is(state.terminated, 1);
    assert.not.ok(t.threaded);
    assert.instance(t.compress(data, HEAD), Uint8Array, "inline from now on");
    assert.is(state.posts.length, 2, "nothing more is posted");
  });
}

test("a thread answering an error for a batch: that batch fails with COMPRESSION_ERROR naming it, the thread stays", async () => {
  const { state, spawn } = fakeThread();
  const t = new ThreadedCompression(await lz4(), spawn, 0);
  await until(() => state.posts.length === 1, 5000, "the codec message");
  state.answer({ ready: true });
  const p = t.compress(data, HEAD) as Promise<Uint8Array>;
  state.answer({ id: (state.posts[1] as { id: number }).id, error: "no memory" });
  const e = await p.then(() => undefined, (x: unknown) => x) as ClientError;
  assert.is(e.code, "COMPRESSION_ERROR");
  assert.match(e.message, /no memory/);
  assert.ok(t.threaded);
  t.close();
});

test("a thread that fails to start (spawn throws, spawn rejects, its codec does not load): compress stays inline, no unhandled rejection", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    const throws = new ThreadedCompression(await lz4(), () => { throw new Error("no workers"); }, 0);
    const rejects = new ThreadedCompression(await lz4(), () => Promise.reject(new Error("no workers")), 0);
    const { state, spawn } = fakeThread((m, answer) => { if ("codec" in m) answer({ failed: "cannot compile" }); });
    const noCodec = new ThreadedCompression(await lz4(), spawn, 0);
    await until(() => state.terminated === 1, 5000, "the thread without a codec to be terminated");
    await new Promise((r) => setTimeout(r, 20));
    for (const t of [throws, rejects, noCodec]) {
      assert.not.ok(t.threaded);
      assert.instance(t.compress(data, HEAD), Uint8Array);
    }
    assert.equal(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("a real thread terminated from outside mid-run: batches on it fail with COMPRESSION_ERROR, later ones compress inline", async () => {
  let worker: CompressionThread | undefined;
  const spawn = nodeCompressionThread(entry);
  const t = new ThreadedCompression(await loadCompressionCodec("zstd"), async (m, f) => (worker = await spawn(m, f)), 0);
  try {
    await ready(t);
    const pending = Array.from({ length: 6 }, () => t.compress(corpus, HEAD) as Promise<Uint8Array>);
    worker!.terminate(); // as if the thread crashed: its exit is reported by worker-node.ts
    const settled = await within(Promise.allSettled(pending), 30_000, "every batch on the thread to settle");
    for (const s of settled) if (s.status === "rejected") assert.is((s.reason as ClientError).code, "COMPRESSION_ERROR");
    await until(() => !t.threaded, 10_000, "the thread to be given up");
    assert.instance(t.compress(corpus, HEAD), Uint8Array);
  } finally {
    t.close();
  }
});

exitAfterSuite(test);
test.run();
