// The lz4 block compressor's shortcuts (assembly/compression/lz4.ts): one distance test that also
// rejects earlier blocks' table entries, backward extension 8 bytes at a time clamped to the block,
// and token lengths written without a branch on 15. Each case decodes with our strict decoder (an
// independent block may not reach before its own start) and with lz4js.
import { test } from "uvu";
import * as assert from "uvu/assert";
import lz4js from "lz4js";
import { loadLz4 } from "../../bindings/compression.ts";
import { noise, sameBytes, telemetryCorpus } from "./corpus.ts";

const lz4 = await loadLz4();

/** Round-trips `data` at every block size and both checksum settings; returns the 64 KiB-block frame. */
function roundTrip(data: Uint8Array, what: string): Uint8Array {
  let frame64k: Uint8Array = new Uint8Array(0);
  for (const [contentChecksum, blockSizeId] of [[false, 4], [true, 5], [false, 6]] as const) {
    const frame = lz4.compress(data, { contentChecksum, blockSizeId });
    if (blockSizeId === 4) frame64k = frame;
    assert.ok(sameBytes(lz4.decompress(frame, data.length), data), `${what}: ours, block size id ${blockSizeId}`);
    assert.ok(sameBytes(new Uint8Array(lz4js.decompress(frame)), data), `${what}: lz4js, block size id ${blockSizeId}`);
  }
  return frame64k;
}

/** The stored sizes of a frame's blocks (high bit: stored raw), after the 7-byte header. */
function blockSizes(frame: Uint8Array): number[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const sizes: number[] = [];
  for (let p = 7; ; ) {
    const size = view.getUint32(p, true);
    if (size === 0) return sizes;
    sizes.push(size);
    p += 4 + (size & 0x7fffffff);
  }
}

/** The sequences of a frame's first block: where each match starts in the output, its offset and length. */
function sequences(frame: Uint8Array): { at: number; offset: number; length: number }[] {
  const size = new DataView(frame.buffer, frame.byteOffset).getUint32(7, true);
  assert.ok(size > 0 && size < 0x80000000, "a compressed first block");
  const out: { at: number; offset: number; length: number }[] = [];
  const len = (p: number, n: number): [number, number] => {
    if (n === 15) for (let b = 255; b === 255; ) { b = frame[p++]!; n += b; }
    return [p, n];
  };
  let p = 11, produced = 0;
  const end = 11 + size;
  while (p < end) {
    const token = frame[p++]!;
    let lit: number, ml: number;
    [p, lit] = len(p, token >> 4);
    p += lit; produced += lit;
    if (p >= end) break;
    const offset = frame[p]! | (frame[p + 1]! << 8);
    [p, ml] = len(p + 2, token & 15);
    out.push({ at: produced, offset, length: ml + 4 });
    produced += ml + 4;
  }
  return out;
}

test("lz4 blocks stay independent when a block repeats the one before it (its table entries are never matched across blocks)", () => {
  // Every 64 KiB block is the same telemetry: the table is full of the previous block's positions of these very bytes.
  const block = telemetryCorpus(64 * 1024, 5);
  const data = new Uint8Array(4 * block.length);
  for (let i = 0; i < 4; i++) data.set(block, i * block.length);
  const frame = roundTrip(data, "repeated blocks");
  // Each block compresses on its own (as well as the first), none is stored raw.
  const sizes = blockSizes(frame);
  assert.is(sizes.length, 4);
  for (const s of sizes) assert.ok(s === sizes[0], `block sizes ${sizes}`);
  // The same input compressed again in a later call (the table keeps older calls' entries) gives the same frame.
  assert.ok(sameBytes(lz4.compress(data, { blockSizeId: 4 }), frame));
});

test("lz4's backward match extension stops at the block's start even when the bytes before it match too", () => {
  // A block that opens with a repeated run whose bytes also end the block before it: extending the first
  // match backwards past the start would reference the previous block.
  for (const run of [3, 7, 8, 9, 16, 40]) {
    const data = new Uint8Array(2 * 65536 + 1000);
    data.set(noise(65536 - run, run), 0);
    data.fill(0x7a, 65536 - run, 65536 + 200); // a run across the block boundary
    data.set(telemetryCorpus(data.length - 65536 - 200, run), 65536 + 200); // compressible, so the block is not stored raw
    const frame = roundTrip(data, `run of ${run} before the boundary`);
    assert.ok(blockSizes(frame)[1]! < 0x80000000, "the second block is compressed");
  }
});

test("lz4 extends matches backwards over any number of bytes (8 at a time, then byte by byte)", () => {
  // Zeros, noise from byte 1000 (the search restarts there after the zeros' match, hashing every position), then a
  // copy of the noise's first bytes at 3000-3011: ~2,000 missed positions later the search steps ~9 bytes at a
  // time, lands inside the copy and must extend the match back to the copy's first byte.
  for (const at of [3000, 3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008, 3009, 3010, 3011]) {
    const data = new Uint8Array(8000); // zeros after the noise too, so the block is not stored raw
    data.set(noise(4000, at), 1000);
    data.set(data.subarray(1000, 1064), at);
    roundTrip(data, `copy at ${at}`);
    const copy = sequences(lz4.compress(data, { blockSizeId: 4 })).find((s) => s.offset === at - 1000);
    assert.ok(copy, `copy at ${at}: no match at offset ${at - 1000}`);
    assert.is(copy.at, at, `copy at ${at}: the match starts at its first byte`);
    assert.is(copy.length, 64);
  }
});

test("lz4 writes every match and literal length around the token's 15 and 15 + 255 boundaries", () => {
  // Noise literals of length l, then a repeat of an earlier 300-byte noise stretch cut to length m (the byte after
  // differs), so each sequence's lengths are exactly the ones under test.
  // A match of m bytes has m - 4 in its token, so its boundaries are 4 higher than the literals'.
  const lengths = [0, 1, 4, 5, 13, 14, 15, 16, 17, 18, 19, 20, 30, 268, 269, 270, 271, 272, 273, 274, 275, 276, 524, 525, 526, 528, 529, 530, 600];
  const source = noise(700, 77);
  for (const m of lengths.filter((x) => x >= 4)) {
    const parts: Uint8Array[] = [source];
    for (const l of lengths) {
      parts.push(noise(l, 1000 + l + m));
      const copy = source.slice(0, m);
      parts.push(copy, Uint8Array.of(source[m]! ^ 0xff));
    }
    parts.push(noise(64, 3));
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { data.set(p, at); at += p.length; }
    roundTrip(data, `match length ${m}`);
  }
});

test.run();
