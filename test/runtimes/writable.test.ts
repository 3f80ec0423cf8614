// writable(producer, { topic }): WHATWG WritableStream semantics against a scripted producer.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writable } from "../../src/producer/writable.ts";
import { ClientError, type KafkasmError } from "../../src/errors.ts";
import type { ProducerRecord, RecordMetadata } from "../../src/producer/config.ts";

type Cb = (e: KafkasmError | null, m?: RecordMetadata) => void;

/** A producer whose sends complete when the test says so. */
function scripted() {
  const sent: { record: ProducerRecord<string, string>; cb: Cb }[] = [];
  return {
    sent,
    producer: { send: (record: ProducerRecord<string, string>, cb: Cb) => { sent.push({ record, cb }); } },
    ack(i: number) { const s = sent[i]; s.cb(null, { topic: s.record.topic, partition: 0, offset: i, timestamp: 0 }); },
  };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

test("fills in the stream's topic, keeps a record's own topic, and passes key/value/headers through unchanged", async () => {
  const p = scripted();
  const w = writable(p.producer, { topic: "events" }).getWriter();
  const chunk = { key: "k", value: "v", headers: { h: "1" } };
  await w.write(chunk);
  await w.write({ topic: "other", value: "x" });
  assert.equal(p.sent[0].record, { key: "k", value: "v", headers: { h: "1" }, topic: "events" });
  assert.equal(chunk, { key: "k", value: "v", headers: { h: "1" } }, "the caller's chunk is not mutated");
  assert.equal(p.sent[1].record.topic, "other");
  p.ack(0); p.ack(1);
  await w.close();
});

test("write() waits once maxPending records are unacknowledged, and resumes as acks arrive", async () => {
  const p = scripted();
  const w = writable(p.producer, { topic: "t", maxPending: 3 }).getWriter();
  await w.write({ value: "0" });
  await w.write({ value: "1" });
  let third = false;
  const t = w.write({ value: "2" }).then(() => (third = true));
  await tick();
  assert.is(third, false, "the third write waits: 3 pending");
  p.ack(0);
  await t;
  assert.is(third, true);
  let closed = false;
  const c = w.close().then(() => (closed = true));
  await tick();
  assert.is(closed, false, "close() waits for the outstanding acks");
  p.ack(1); p.ack(2);
  await c;
  assert.is(closed, true);
});

test("the first delivery failure errors the stream: later writes and writer.closed reject with it", async () => {
  const p = scripted();
  const w = writable(p.producer, { topic: "t" }).getWriter();
  await w.write({ value: "a" });
  const err = new ClientError("DELIVERY_TIMEOUT", "boom");
  p.sent[0].cb(err);
  await tick();
  try { await w.write({ value: "b" }); assert.unreachable(); } catch (e) { assert.is(e, err); }
  try { await w.closed; assert.unreachable(); } catch (e) { assert.is(e, err); }
  try { await w.close(); assert.unreachable(); } catch (e) { assert.instance(e, TypeError, "WHATWG: close() of an errored stream is a TypeError"); }
  assert.equal(p.sent.length, 1, "nothing more was sent after the failure");
});

test("rejects a missing topic and a bad maxPending at creation", () => {
  const p = scripted();
  assert.throws(() => writable(p.producer, { topic: "" }), /topic/);
  assert.throws(() => writable(p.producer, { topic: "t", maxPending: 0 }), /maxPending/);
});

test.run();
