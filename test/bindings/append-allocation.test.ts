// The hot path allocates nothing per record (STYLE: "no per-record allocation"): a number boxed per
// append once doubled the GC rate of bench:codec, and on glibc every young-GC that frees a run of
// batch copies gives their pages back to the kernel, so each next batch paid ~25 page faults.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { getCodec, type BatchHeader } from "../../bindings/codec.ts";

const codec = await getCodec();
const plain: BatchHeader = { producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false };
const RECORDS = 1000;
const keys = Array.from({ length: RECORDS }, (_, i) => new TextEncoder().encode(`key-${i}`));
const value = new Uint8Array(100).fill(7);

function fill(): ReturnType<typeof codec.newBatchBuilder> {
  const b = codec.newBatchBuilder(1 << 20);
  // A constant timestamp: the caller boxing a computed non-Smi double would be the caller's allocation.
  for (let i = 0; i < RECORDS; i++) b.append(1_700_000_000_000, keys[i]!, value);
  return b;
}

/** Smallest JS-heap growth per record over a few runs of 5 batches (a run with a GC in it shrinks). */
function heapBytesPerRecord(f: () => void): number {
  let best = Infinity;
  for (let k = 0; k < 20; k++) {
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5; i++) f();
    const d = process.memoryUsage().heapUsed - h0;
    if (d >= 0) best = Math.min(best, d / (5 * RECORDS));
  }
  return best;
}

test("append of byte keys and values allocates nothing on the JS heap per record once optimized", () => {
  const run = () => fill().release();
  for (let i = 0; i < 2000; i++) run(); // long enough for V8 to optimize append
  const perRecord = heapBytesPerRecord(run);
  assert.ok(perRecord < 2, `append allocated ${perRecord.toFixed(1)} bytes per record`);
});

test("a whole batch (append + build) allocates only its output copy, not per record", () => {
  const run = () => {
    const b = fill();
    b.build(plain);
    b.release();
  };
  for (let i = 0; i < 500; i++) run();
  // The output is one Uint8Array (its bytes live outside the JS heap), a few hundred bytes per batch.
  const perRecord = heapBytesPerRecord(run);
  assert.ok(perRecord < 2, `a batch allocated ${perRecord.toFixed(1)} bytes per record`);
});

test.run();
