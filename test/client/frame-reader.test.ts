import { test } from "uvu";
import * as assert from "uvu/assert";
import { FrameReader } from "../../src/protocol/frame.ts";

/** Size-prefixed frames of the given bodies, concatenated. */
function framed(bodies: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(bodies.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  let off = 0;
  for (const b of bodies) {
    view.setInt32(off, b.length);
    out.set(b, off + 4);
    off += 4 + b.length;
  }
  return out;
}

const bodies = [new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array(0), Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), new Uint8Array([9])];
const stream = framed(bodies);

test("the stream split at every byte, in two and in single bytes, yields the same frames", () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const got: number[][] = [];
    const reader = new FrameReader();
    reader.push(stream.subarray(0, cut), (f) => { got.push([...f]); });
    reader.push(stream.subarray(cut), (f) => { got.push([...f]); });
    assert.equal(got, bodies.map((b) => [...b]), `cut at ${cut}`);
  }
  const got: number[][] = [];
  const reader = new FrameReader();
  for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1), (f) => { got.push([...f]); });
  assert.equal(got, bodies.map((b) => [...b]));
});

test("a frame that lies whole in one chunk is handed over as a view of that chunk (no copy)", () => {
  const reader = new FrameReader();
  const frames: Uint8Array[] = [];
  reader.push(stream, (f) => { frames.push(f); });
  assert.is(frames.length, bodies.length);
  for (const f of frames) assert.is(f.buffer, stream.buffer);
});

test("a claimed size allocates nothing up front: the buffer grows with the bytes that arrive (64 KiB, doubling)", () => {
  const claimed = 50 * 1024 * 1024;
  const head = new Uint8Array(4);
  new DataView(head.buffer).setInt32(0, claimed);
  const reader = new FrameReader();
  const allocated: number[] = [];
  const Real = globalThis.Uint8Array;
  // Records the size of every buffer the reader allocates while bytes trickle in.
  const Spy = class extends Real { constructor(n: any, ...rest: any[]) { super(n, ...rest); if (typeof n === "number") allocated.push(n); } };
  globalThis.Uint8Array = Spy as any;
  try {
    reader.push(head, () => assert.unreachable("no frame yet"));
    reader.push(new Real(100), () => assert.unreachable("no frame yet"));
    reader.push(new Real(70_000), () => assert.unreachable("no frame yet"));
  } finally {
    globalThis.Uint8Array = Real;
  }
  assert.ok(allocated.length > 0);
  assert.ok(Math.max(...allocated) <= 2 * 65536, `largest buffer ${Math.max(...allocated)} B for 70,104 bytes received of ${claimed} claimed`);
});

test("a negative size or one over maxFrameBytes throws a retriable PROTOCOL_ERROR before any body is read", () => {
  const over = new Uint8Array([0, 0, 0x04, 0x01]); // 1025
  assert.throws(() => new FrameReader(1024).push(over, () => {}), (e: any) => e.code === "PROTOCOL_ERROR" && e.retriable === true);
  assert.throws(() => new FrameReader().push(new Uint8Array([0x80, 0, 0, 0]), () => {}), (e: any) => e.code === "PROTOCOL_ERROR");
  // Exactly maxFrameBytes is allowed.
  let n = -1;
  new FrameReader(5).push(framed([new Uint8Array(5)]), (f) => { n = f.length; });
  assert.is(n, 5);
});

test("onFrame returning true stops the chunk's remaining frames (a connection that closed reads no further)", () => {
  const seen: number[] = [];
  new FrameReader().push(stream, (f) => { seen.push(f.length); return true; });
  assert.equal(seen, [5]);
});

test.run();
