// producer.writable({ topic }): a WHATWG WritableStream into a real Producer (fake cluster).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer, KafkasmError, serializers, type ProducerOptions } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { flush } from "./helpers.ts";
import { until } from "../harness/bounded.ts";

function setup(opts: Partial<ProducerOptions> = {}) {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2 }, { name: "other", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, ...opts });
  return { cluster, producer };
}

/** A ReadableStream of `n` records (partition 0, values "v<i>") counting how many were pulled. */
function source(n: number) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<{ value: string; partition: number }>({
    pull(c) {
      if (state.pulled === n) return c.close();
      c.enqueue({ value: `v${state.pulled++}`, partition: 0 });
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

test("pipeTo(producer.writable({ topic })) delivers every record in order; the stream's close waits for the acks", async () => {
  const { cluster, producer } = setup({ lingerMs: 2 });
  const { stream } = source(3000);
  await stream.pipeTo(producer.writable({ topic: "t" }));
  // No flush or close of the producer: the stream's close already waited for every ack.
  assert.equal(cluster.values("t", 0), Array.from({ length: 3000 }, (_, i) => `v${i}`));
  // The producer stays open after the stream.
  assert.is((await producer.send({ topic: "t", value: "after", partition: 1 })).offset, 0);
  await producer.close();
});

test("backpressure: with acks held back, the source is read no further than maxPending records ahead", async () => {
  const { cluster, producer } = setup();
  const produce = cluster.defaultHandler(ApiKey.Produce)!;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  cluster.handle(ApiKey.Produce, async (ctx) => { await gate; return produce(ctx); });
  const { stream, state } = source(1000);
  const done = stream.pipeTo(producer.writable({ topic: "t", maxPending: 40 }));
  // The codec compiles off the main thread first: wait for the window to fill, however long that takes here.
  await until(() => state.pulled >= 40, 5000, "the window to fill (40 records pulled)");
  for (let i = 0; i < 10; i++) await flush();
  assert.ok(state.pulled <= 42, `reading stops at the window: ${state.pulled} pulled, maxPending 40`);
  assert.is(cluster.values("t", 0).length, 0, "nothing acknowledged yet");
  release();
  await done;
  assert.is(state.pulled, 1000);
  assert.equal(cluster.values("t", 0), Array.from({ length: 1000 }, (_, i) => `v${i}`));
  await producer.close();
});

test("a chunk naming its own topic goes there; serializers of the producer apply", async () => {
  const { cluster, producer } = setup({ valueSerializer: serializers.json } as Partial<ProducerOptions>);
  const w = (producer as unknown as Producer<string, unknown>).writable({ topic: "t" }).getWriter();
  await w.write({ value: { n: 1 }, partition: 1, key: "k" });
  await w.write({ topic: "other", value: { n: 2 } });
  await w.close();
  assert.equal(cluster.values("t", 1), ['{"n":1}']);
  assert.equal(cluster.values("other", 0), ['{"n":2}']);
  await producer.close();
});

test("a delivery failure errors the stream with the producer's typed error", async () => {
  const { producer } = setup({ maxRequestSize: 1024 });
  const w = producer.writable({ topic: "t" }).getWriter();
  await w.write({ value: "small", partition: 0 });
  await w.write({ value: "x".repeat(5000), partition: 0 }).catch(() => {});
  const err = await w.closed.then(() => null, (e: unknown) => e);
  assert.instance(err, KafkasmError);
  assert.is((err as KafkasmError).code, "RECORD_TOO_LARGE");
  const later = await w.write({ value: "later" }).then(() => null, (e: unknown) => e);
  assert.is((later as KafkasmError).code, "RECORD_TOO_LARGE");
  await producer.close();
});

test("invalid options throw INVALID_CONFIG at once, naming the option", () => {
  const { producer } = setup();
  const code = (f: () => unknown) => { try { f(); } catch (e) { return `${(e as KafkasmError).code}: ${(e as Error).message}`; } return "no error"; };
  assert.match(code(() => producer.writable({ topic: "" })), /^INVALID_CONFIG: .*topic/);
  assert.match(code(() => producer.writable({ topic: "t", maxPending: 0 })), /^INVALID_CONFIG: .*maxPending/);
  void producer.close();
});

test.run();
