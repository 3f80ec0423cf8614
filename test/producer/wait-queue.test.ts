// Records that cannot be appended yet (no metadata, no connection, codec loading, buffer full) wait
// in a FIFO queue bounded by bufferMemory in bytes, not only by maxBlockMs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer, KafkasmError, type ProducerRecord } from "../../src/public.ts";
import { flush } from "./helpers.ts";

test("broker unreachable from the start: 2 MB sent with bufferMemory 100 KB → at most 100 KB waits, the rest fails at once with BUFFER_EXHAUSTED; what waited is delivered in order once the broker is up", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  cluster.brokerDown(1);
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, bufferMemory: 100_000, maxBlockMs: 30_000, retryBackoffMs: 10, retryBackoffMaxMs: 50 });
  const value = (i: number) => `${i}:`.padEnd(2000, "x");
  const outcomes: (number | string)[] = [];
  const sends = Array.from({ length: 1000 }, (_, i) => producer.send({ topic: "t", value: value(i) }).then((m) => { outcomes[i] = m.offset; }, (e: KafkasmError) => { outcomes[i] = e.code; }));
  await flush();
  const rejected = outcomes.filter((o) => o !== undefined);
  assert.ok(rejected.every((o) => o === "BUFFER_EXHAUSTED"), String(new Set(rejected)));
  const waiting = 1000 - rejected.length;
  assert.ok(waiting >= 40 && waiting * 2000 <= 100_000, `${waiting} records (${waiting * 2000} bytes) wait`);
  // FIFO: the first ones wait, every later one failed.
  for (let i = 0; i < 1000; i++) assert.is(outcomes[i] === undefined, i < waiting, `record ${i}`);
  cluster.brokerUp(1);
  await Promise.all(sends);
  assert.equal(outcomes.slice(0, waiting), Array.from({ length: waiting }, (_, i) => i));
  assert.equal(cluster.values("t", 0), Array.from({ length: waiting }, (_, i) => value(i)));
  // Room again: new sends are accepted.
  assert.is((await producer.send({ topic: "t", value: "after" })).offset, waiting);
  await producer.close();
});

test("produce() into a full wait queue never throws: BUFFER_EXHAUSTED reaches onError and onDeadLetter with the record", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  cluster.brokerDown(1);
  const errors: [string, ProducerRecord][] = [];
  const dead: string[] = [];
  const producer = new Producer({
    brokers: cluster.bootstrap, transport: cluster.transport, bufferMemory: 4096, maxBlockMs: 30_000, retryBackoffMs: 10,
    onError: (e, r) => errors.push([e.code, r!]), onDeadLetter: (r, e) => dead.push(`${r.value}:${e.code}`),
  });
  for (let i = 0; i < 50; i++) producer.produce({ topic: "t", value: `${i}`.padEnd(500, ".") });
  await flush();
  assert.ok(errors.length >= 40 && errors.every(([c]) => c === "BUFFER_EXHAUSTED"), `${errors.length} errors`);
  assert.is(dead.length, errors.length);
  assert.match(String(errors[0][1].value), /^\d+\.+$/);
  // The error says why the records wait and how much they hold.
  const e = await producer.send({ topic: "t", value: "x".repeat(500) }).catch((x: KafkasmError) => x);
  assert.instance(e, KafkasmError);
  assert.match((e as KafkasmError).message, /records waiting for (the codec to load|metadata of topic "t") already hold \d+ bytes of bufferMemory 4096/);
  cluster.brokerUp(1);
  await producer.flush();
  assert.is(cluster.values("t", 0).length, 50 - errors.length);
  await producer.close();
});

test("one record larger than bufferMemory may still wait when nothing else does (it is not refused for its size)", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, bufferMemory: 1024, maxRequestSize: 10_000 });
  const m = await producer.send({ topic: "t", value: "y".repeat(5000) });
  assert.is(m.offset, 0);
  await producer.close();
});

test.run();
