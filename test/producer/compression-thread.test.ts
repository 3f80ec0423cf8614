// The compression thread in the producer (compressionThreads): records compressed on it reach the
// broker intact (read back by kcat from the mock cluster), a thread that dies mid-run costs no record,
// close() ends it, an idle thread never keeps the process alive, and the option is validated.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { Producer } from "../../src/index.ts";
import { setCompressionThread, type CompressionThread, type SpawnCompressionThread } from "../../src/compression/worker.ts";
import { nodeCompressionThread } from "../../src/compression/worker-node.ts";
import { ClientError } from "../../src/errors.ts";
import { FakeCluster } from "../fake/cluster.ts";
import { telemetryEvents } from "../compression/corpus.ts";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { exitAfterSuite, spawnChild, until, within } from "../harness/bounded.ts";

const spawnNode = nodeCompressionThread(new URL("../../src/compression/worker-entry.ts", import.meta.url));

/** The Node entry's thread, watched: batches posted and answered, terminate calls, exit reports. */
function watchThreads() {
  const w = { spawned: 0, posted: 0, answered: 0, exits: 0, threads: [] as CompressionThread[] };
  const spawn: SpawnCompressionThread = async (onMessage, onFailure) => {
    w.spawned++;
    const t = await spawnNode((m) => { if ((m as { out?: unknown }).out) w.answered++; onMessage(m); }, (e) => { w.exits++; onFailure(e); });
    const watched: CompressionThread = { ...t, post: (m, tr) => { if ("id" in m) w.posted++; t.post(m, tr); } };
    w.threads.push(t);
    return watched;
  };
  setCompressionThread(spawn);
  return w;
}

const values = telemetryEvents(6000);

/**
 * Sends `values` until the thread took `batches` batches (it is used once its codec has loaded, which
 * under a loaded CI machine can take seconds: bounded in time, not rounds, with a pause for it to start).
 */
async function sendUntilThreaded(producer: Producer, topic: string, w: { posted: number; spawned: number; exits: number }, batches = 1): Promise<number> {
  let sent = 0;
  const end = Date.now() + 90_000;
  while (w.posted < batches) {
    if (Date.now() > end) throw new Error(`the compression thread took ${w.posted} batches after ${sent} records in 90 s (threads spawned ${w.spawned}, exited ${w.exits})`);
    await within(Promise.all(values.map((value) => producer.send({ topic, value }))), 30_000, "a round of sends");
    sent += values.length;
    await new Promise((r) => setTimeout(r, 20));
  }
  return sent;
}

for (const codec of ["lz4", "zstd"] as const) {
  test(`${codec}: batches compressed on the thread reach the mock cluster intact (kcat reads every record back, in order)`, async () => {
    const w = watchThreads();
    const cluster = await startCluster({ brokers: 1 });
    try {
      await cluster.createTopic("warm", 1);
      await cluster.createTopic("t", 1);
      const producer = new Producer({ brokers: cluster.bootstrap.split(","), compression: codec, lingerMs: 20, batchSize: 500_000 });
      // Until the thread has loaded its codec, batches are compressed inline: warm it on another topic, so
      // that t holds one round only (the mock keeps ~5 MiB per partition: more could not be read back).
      await sendUntilThreaded(producer, "warm", w, 1);
      const posted = w.posted;
      await within(Promise.all(values.map((value) => producer.send({ topic: "t", value }))), 30_000, "the round of sends to t");
      await within(producer.close(), 30_000, "close");
      assert.ok(w.posted - posted >= 2, `the thread took ${w.posted - posted} of t's batches`);
      assert.ok(w.answered >= w.posted, `the thread answered ${w.answered} of ${w.posted} batches`);
      const got = await consumeAll(cluster.bootstrap, "t", { count: values.length, timeoutMs: 60_000 });
      assert.equal(got.map((r) => r.payload), values);
    } finally {
      setCompressionThread(undefined);
      await cluster.stop();
    }
  });
}

test("the thread dies mid-run (terminated from outside): every record is still delivered, compressed inline, and close() resolves", async () => {
  const w = watchThreads();
  try {
    const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 2 }] });
    const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, compression: "zstd", lingerMs: 5, batchSize: 300_000 });
    await until(() => w.threads.length === 1, 30_000, "the thread to start");
    const sends: Promise<unknown>[] = [];
    let killed = false;
    for (let round = 0; round < 100 && !(killed && w.exits > 0 && round > 5); round++) {
      for (const value of values) sends.push(producer.send({ topic: "t", value }));
      // Kill it once a batch is on it: that batch (and any other on it) must be compressed again inline.
      if (!killed && w.posted > w.answered) { w.threads[0]!.terminate(); killed = true; }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(killed, "a batch was on the thread when it was killed");
    const results = await within(Promise.allSettled(sends), 60_000, "every send to settle");
    assert.equal(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)), []);
    await within(producer.close(), 30_000, "close");
    const delivered = cluster.values("t", 0).length + cluster.values("t", 1).length;
    assert.is(delivered, sends.length);
    for (const p of [0, 1]) for (const b of cluster.partition("t", p).log) assert.is(b.batch.attributes & 7, 4, "every batch zstd");
  } finally {
    setCompressionThread(undefined);
  }
});

test("close() ends the compression thread once pending batches are done", async () => {
  const w = watchThreads();
  try {
    const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
    const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, compression: "lz4", lingerMs: 5, batchSize: 300_000 });
    const sent = await sendUntilThreaded(producer, "t", w);
    assert.is(w.exits, 0, "the thread runs until close()");
    await within(producer.close(), 30_000, "close");
    assert.is(cluster.values("t", 0).length, sent);
    await until(() => w.exits === 1, 10_000, "the thread to exit after close()");
  } finally {
    setCompressionThread(undefined);
  }
});

for (const [mode, what] of [["idle", "an idle compression thread, never closed, does not keep the process alive"], ["close", "a producer that used its compression thread and closed leaves nothing behind"]] as const) {
  test(`${what} (a child process exits by itself)`, async () => {
    const proc = spawnChild(process.execPath, ["--import", "tsx", join(import.meta.dirname, "fixtures/compression-thread-child.ts"), mode]);
    try {
      const code = await proc.exited(90_000);
      assert.is(code, 0, proc.stderr);
      const m = /posted (\d+)/.exec(proc.stdout);
      assert.ok(m && Number(m[1]) > 0, `the thread took batches: ${proc.stdout} ${proc.stderr}`);
    } finally {
      proc.kill();
    }
  });
}

test("compressionThreads: 0 compresses inline (no thread started); 1 (the default) starts one", async () => {
  for (const [threads, spawned] of [[0, 0], [undefined, 1], [1, 1]] as const) {
    const w = watchThreads();
    try {
      const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
      const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, compression: "lz4", compressionThreads: threads });
      await producer.send({ topic: "t", value: "x".repeat(1000) });
      await producer.close();
      assert.is(w.spawned, spawned, `compressionThreads ${threads}`);
      assert.equal(cluster.values("t", 0), ["x".repeat(1000)]);
    } finally {
      setCompressionThread(undefined);
    }
  }
});

test("compressionThreads other than 0 or 1 is rejected at construction with INVALID_CONFIG naming it", () => {
  for (const bad of [2, -1, 0.5, "1", true, null]) {
    try {
      new Producer({ brokers: ["localhost:9092"], compression: "lz4", compressionThreads: bad as never });
      assert.unreachable(`${JSON.stringify(bad)} accepted`);
    } catch (e) {
      assert.instance(e, ClientError);
      assert.is((e as ClientError).code, "INVALID_CONFIG");
      assert.match((e as Error).message, /compressionThreads/);
    }
  }
});

exitAfterSuite(test);
test.run();
