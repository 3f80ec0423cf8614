// A batch holds a send()'s record only for a hook that is handed it on failure: once staged, the
// record (and its value) is the caller's to collect, so records in flight are not promoted by the GC.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { FakeCluster, ERR } from "../fake/cluster.ts";
import { Producer, type ProducerRecord } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { until } from "../harness/bounded.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Sends a record built here (no reference kept but a WeakRef) while its Produce answer is held for 2 s. */
async function sendUnanswered(options: Record<string, unknown>, how: "callback" | "promise" | "produce") {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 0, ...options });
  await producer.send({ topic: "t", value: "warm-up" });
  cluster.inject({ apiKey: ApiKey.Produce, action: { delayMs: 2000 } });
  const failures: unknown[] = [];
  let acked: Promise<unknown> | undefined;
  const ref = (() => {
    const record: ProducerRecord<string, string> = { topic: "t", value: "x".repeat(1000) };
    if (how === "callback") producer.send(record, (e) => { if (e) failures.push(e); });
    else if (how === "promise") acked = producer.send(record);
    else producer.produce(record);
    return new WeakRef(record);
  })();
  await until(() => cluster.requestsOf(ApiKey.Produce).length >= 2, 10_000, "the Produce request of the record");
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  const collected = ref.deref() === undefined;
  await acked;
  await producer.close();
  assert.equal(failures, []);
  return collected;
}

test("send() with a callback or a promise: the record can be collected while its batch is in flight", async () => {
  assert.ok(await sendUnanswered({}, "callback"), "callback: record still referenced");
  assert.ok(await sendUnanswered({}, "promise"), "promise: record still referenced");
});

test("produce(), onDeadLetter or an onRecordFailed hook: the batch keeps the record, to hand it over on failure", async () => {
  assert.not.ok(await sendUnanswered({}, "produce"), "produce(): onError is handed the record");
  assert.not.ok(await sendUnanswered({ onDeadLetter: () => {} }, "callback"), "onDeadLetter");
  assert.not.ok(await sendUnanswered({ hooks: { onRecordFailed: () => {} } }, "promise"), "onRecordFailed");
});

test("a failed send() still reaches onDeadLetter and onRecordFailed with its own record", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const dead: unknown[] = [], hooked: unknown[] = [];
  const producer = new Producer({
    brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 0, idempotent: false, retries: 0,
    onDeadLetter: (r) => dead.push(r.value), hooks: { onRecordFailed: ({ record }) => hooked.push(record.value) },
  });
  await producer.send({ topic: "t", value: "warm-up" });
  cluster.pushErrors(ApiKey.Produce, [ERR.INVALID_REQUIRED_ACKS]);
  const error = await producer.send({ topic: "t", value: "lost" }).then(() => null, (e) => e.code);
  assert.is(error, "INVALID_REQUIRED_ACKS");
  await until(() => hooked.length > 0, 10_000, "onRecordFailed");
  assert.equal(dead, ["lost"]);
  assert.equal(hooked, ["lost"]);
  await producer.close();
});

test.run();
