// A partition's buffer owns its batches' life: every state change is one of its methods, and a change
// from a state it does not allow throws ClientError ILLEGAL_STATE instead of corrupting the queues.
// Per-record state is struct-of-arrays (Records): timestamps in a Float64Array, no heap box per record.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { RecordBatchBuilder } from "../../bindings/codec.ts";
import { ClientError } from "../../src/errors.ts";
import { Batch, CLOSED, COMPRESSING, DONE, IN_FLIGHT, OPEN, PartitionState, RETRYING } from "../../src/producer/accumulator.ts";
import { CALLBACK, Records } from "../../src/producer/records.ts";

const builder = (): RecordBatchBuilder => ({ release() {} }) as unknown as RecordBatchBuilder;
const illegal = (f: () => void) => assert.throws(f, (e: unknown) => e instanceof ClientError && e.code === "ILLEGAL_STATE");

test("a batch goes open → closed → compressing → closed → in flight → retrying → in flight → done, the queues following", () => {
  const tp = new PartitionState("t", 0);
  const b = new Batch(tp, builder(), 0);
  tp.add(b);
  assert.is(tp.open, b);
  assert.is(b.state, OPEN);
  tp.close(b);
  assert.is(tp.open, null);
  tp.compressing(b);
  assert.is(b.state, COMPRESSING);
  tp.compressed(b);
  assert.is(b.state, CLOSED);
  tp.send(b);
  assert.is(b.state, IN_FLIGHT);
  assert.equal([tp.queue.length, tp.inFlight, b.attempts], [0, [b], 1]);
  tp.retry(b, 100, true);
  assert.equal([b.state, tp.queue, tp.inFlight.length, b.retryAt, tp.recovering], [RETRYING, [b], 0, 100, true]);
  tp.send(b);
  tp.acknowledged(b);
  assert.is(tp.recovering, false, "a resend acknowledged ends recovery");
  b.succeed(5, -1, () => {});
  assert.is(b.state, DONE);
  assert.equal([tp.queue.length, tp.inFlight.length], [0, 0]);
});

test("transitions a state does not allow throw ILLEGAL_STATE and change nothing", () => {
  const tp = new PartitionState("t", 0);
  const b = new Batch(tp, builder(), 0);
  tp.add(b);
  illegal(() => tp.send(b)); // still open: appends would race the send
  illegal(() => tp.retry(b, 0, false)); // not in flight
  illegal(() => tp.acknowledged(b));
  illegal(() => tp.compressing(b));
  assert.is(b.state, OPEN);
  assert.equal(tp.queue, [b]);
  tp.close(b);
  illegal(() => tp.close(b));
  b.fail(new ClientError("PRODUCER_CLOSED", "x"), undefined, undefined, () => {});
  illegal(() => tp.finish(b)); // done is final
  illegal(() => tp.send(b));
});

test("a new batch closes the open one: only the last batch of the queue is ever open", () => {
  const tp = new PartitionState("t", 0);
  const a = new Batch(tp, builder(), 0);
  const b = new Batch(tp, builder(), 0);
  tp.add(a);
  tp.add(b);
  assert.equal([a.state, b.state, tp.open], [CLOSED, OPEN, b]);
  tp.send(a);
  tp.retry(a, 0, false);
  assert.equal(tp.queue, [a, b], "a retried batch goes back before younger ones (creation order)");
  assert.is(tp.open, b);
});

test("Records keeps non-integer timestamps exactly, across growth, and compacts", () => {
  const r = new Records(5, 3);
  const cb = () => {};
  for (let i = 0; i < 200; i++) r.add({ i }, cb, i % 2 ? CALLBACK : null, 1_700_000_000_000.5 + i, `k${i}`, `v${i}`, i * 10, i);
  assert.is(r.length, 200);
  assert.equal([r.time(150), r.size(150), r.seq(150), r.key(150), r.value(150), r.reject(151)], [1_700_000_000_150.5, 1500, 150, "k150", "v150", CALLBACK]);
  r.compact(190, 0);
  assert.is(r.length, 10);
  assert.equal([(r.record(0) as { i: number }).i, r.seq(9), r.time(9)], [190, 199, 1_700_000_000_199.5]);
  assert.is(r.record(10), undefined, "references past the end are dropped (no leak)");
});

test("Records.add allocates nothing on the JS heap per record once grown (timestamps are not boxed)", () => {
  const r = new Records(3, 1);
  const rec = {};
  const run = () => {
    const t0 = 1_700_000_000_000 + Math.random(); // a non-Smi double: boxed in a plain array
    for (let i = 0; i < 1000; i++) r.add(rec, null, null, t0 + i);
    r.clear();
  };
  for (let i = 0; i < 2000; i++) run();
  let best = Infinity;
  for (let k = 0; k < 20; k++) {
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5; i++) run();
    const d = process.memoryUsage().heapUsed - h0;
    if (d >= 0) best = Math.min(best, d / 5000);
  }
  assert.ok(best < 2, `Records.add allocated ${best.toFixed(1)} bytes per record`);
});

test.run();
