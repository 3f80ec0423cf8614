// A Produce request takes each partition's records with one copy: from a Uint8Array, or from a
// RecordsSource whose view (the WASM codec's shared output region) is only valid until its next
// encode; `framed` then points at that copy inside the frame, so the producer keeps no copy of its own.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodeRequestFrame, readRequestHeader } from "../../src/protocol/frame.ts";
import { Produce, ProduceServer, type ProduceRequest, type RecordsSource } from "../../src/protocol/produce.ts";

/** Encodes into one shared scratch buffer, as the codec's output region is shared by every batch. */
const shared = new Uint8Array(64);
function source(fill: number, size: number): RecordsSource & { calls: number } {
  return {
    calls: 0,
    sizeInBytes: size,
    encode() {
      this.calls++;
      shared.fill(fill, 0, size);
      return shared.subarray(0, size);
    },
  };
}

for (const version of [3, 8, 9, 12]) {
  test(`v${version}: sources, bytes and null in one request are each copied once into the frame, and framed views that copy`, () => {
    const a = source(0xaa, 20), b = source(0xbb, 33);
    const own = new Uint8Array(7).fill(0xcc);
    const request: ProduceRequest = {
      transactionalId: null, acks: -1, timeoutMs: 1000,
      topics: [
        { name: "t", partitions: [{ index: 0, records: a }, { index: 1, records: own }] },
        { name: "u", partitions: [{ index: 0, records: b }, { index: 1, records: null }] },
      ],
    };
    const frame = encodeRequestFrame(Produce, version, 7, "c", request);
    shared.fill(0); // the region is reused after the frame is written: the frame must not depend on it
    assert.is(a.calls, 1);
    assert.is(b.calls, 1);
    const { header, reader } = readRequestHeader(frame.subarray(4), () => Produce as never);
    const decoded = ProduceServer.decodeRequest(reader, header.apiVersion);
    const records = decoded.topics.flatMap((t) => t.partitions.map((p) => p.records as Uint8Array | null));
    assert.equal(records.map((r) => r && [...new Set(r)]), [[0xaa], [0xcc], [0xbb], null]);
    assert.equal(records.map((r) => r?.length ?? null), [20, 7, 33, null]);
    const parts = request.topics.flatMap((t) => t.partitions);
    for (const [i, p] of parts.entries()) {
      if (p.records === null) continue;
      assert.ok(p.framed!.buffer === frame.buffer, `partition ${i}: framed is a view of the frame`);
      assert.equal([...p.framed!], [...records[i]!], `partition ${i}: framed holds its records`);
    }
  });
}

test("a frame that outgrows its size estimate (a source larger than it said) still gets views of its final buffer", () => {
  const big = { sizeInBytes: 1, encode: () => new Uint8Array(5000).fill(0x11) };
  const request: ProduceRequest = { transactionalId: null, acks: -1, timeoutMs: 1, topics: [{ name: "t", partitions: [{ index: 0, records: big }, { index: 1, records: source(0x22, 9) }] }] };
  const frame = encodeRequestFrame(Produce, 9, 1, "c", request);
  const [p0, p1] = request.topics[0].partitions;
  assert.ok(p0.framed!.buffer === frame.buffer && p1.framed!.buffer === frame.buffer);
  assert.equal([p0.framed!.length, ...new Set(p0.framed!)], [5000, 0x11]);
  assert.equal([p1.framed!.length, ...new Set(p1.framed!)], [9, 0x22]);
});

test.run();
