// The proxy's scan of the client's raw WebSocket bytes (src/proxy/frames.ts): payloads unmasked in
// place and keys zeroed, whatever the key, the lengths, the chunking and the buffers' alignment,
// checked against the byte-at-a-time XOR of RFC 6455 §5.3; and the fragment count it bounds.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ClientFrameScanner, unmask } from "../../src/proxy/frames.ts";
import { exitAfterSuite } from "../harness/bounded.ts";

interface Frame { opcode: number; fin: boolean; key: Uint8Array | undefined; payload: Uint8Array }

/** A frame as a client sends it (masked with `key`, or unmasked without one) and as ws should see it after the scan. */
function encode(f: Frame): { sent: Uint8Array; seen: Uint8Array } {
  const n = f.payload.length;
  const len = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 255] : [127, 0, 0, 0, 0, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  const head = [(f.fin ? 0x80 : 0) | f.opcode, (f.key ? 0x80 : 0) | len[0], ...len.slice(1)];
  const body = f.payload.map((b, i) => (f.key ? b ^ f.key[i & 3] : b));
  const sent = new Uint8Array([...head, ...(f.key ?? []), ...body]);
  const seen = new Uint8Array([...head, ...(f.key ? [0, 0, 0, 0] : []), ...f.payload]);
  return { sent, seen };
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

/** Index of the first byte where a and b differ (-1: equal): uvu's diff of 64 KiB arrays would take minutes. */
const firstDifference = (a: Uint8Array, b: Uint8Array) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
};

/** Copies `bytes` into chunks cut at `cuts`, each chunk at byte offset `shift` of its own ArrayBuffer (so word alignment varies). */
function chunked(bytes: Uint8Array, cuts: number[], shift: number): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    if (c <= from) continue;
    const buf = new Uint8Array(c - from + shift + 3).subarray(shift, shift + c - from);
    buf.set(bytes.subarray(from, c));
    out.push(buf);
    from = c;
  }
  return out;
}

const frame = fc.record({
  opcode: fc.constantFrom(0, 1, 2, 8, 9, 10),
  fin: fc.boolean(),
  key: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined, freq: 8 }),
  payload: fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 140 }), weight: 9 }, { arbitrary: fc.uint8Array({ minLength: 65530, maxLength: 65545 }), weight: 1 }),
});

test("every frame's payload is unmasked in place and its key zeroed, however the frames are split and aligned", () => {
  fc.assert(fc.property(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 0, max: 3 }), (frames, cuts, shift) => {
    const encoded = frames.map(encode);
    const chunks = chunked(concat(encoded.map((e) => e.sent)), cuts, shift);
    const scanner = new ClientFrameScanner(1_000_000);
    for (const c of chunks) assert.ok(scanner.push(c));
    assert.is(firstDifference(concat(chunks), concat(encoded.map((e) => e.seen))), -1);
  }), { numRuns: 200 });
});

test("a masking key split byte by byte across chunks is zeroed in each of them", () => {
  const { sent, seen } = encode({ opcode: 2, fin: true, key: new Uint8Array([1, 2, 3, 4]), payload: new Uint8Array(300).fill(7) });
  const chunks = chunked(sent, Array.from({ length: sent.length }, (_, i) => i), 1);
  const scanner = new ClientFrameScanner(10);
  for (const c of chunks) scanner.push(c);
  assert.is(firstDifference(concat(chunks), seen), -1);
});

test("unmask equals RFC 6455's byte-at-a-time XOR for every phase, length and alignment", () => {
  const key = new Uint8Array([0x9e, 0x01, 0x7f, 0xc3]);
  for (let phase = 0; phase < 4; phase++) {
    for (let offset = 0; offset < 4; offset++) {
      for (const length of [0, 1, 3, 4, 15, 16, 17, 64, 1001]) {
        const data = Uint8Array.from({ length: length + 8 }, (_, i) => (i * 37) & 255);
        const want = data.slice();
        for (let i = 0; i < length; i++) want[offset + i] ^= key[(phase + i) & 3];
        unmask(data, offset, offset + length, key, phase);
        assert.is(firstDifference(data, want), -1, `phase ${phase}, offset ${offset}, length ${length}`);
      }
    }
  }
});

test("a 64-bit length with its top bit set (which ws refuses) keeps the scanner in that frame's payload", () => {
  const key = [1, 2, 3, 4];
  const chunk = new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, ...key, ...Array.from({ length: 20 }, (_, i) => i + 10)]);
  new ClientFrameScanner(10).push(chunk);
  assert.equal([...chunk.subarray(14)], Array.from({ length: 20 }, (_, i) => (i + 10) ^ key[i & 3]));
});

test("a message of more than maxFragments fragments is refused, and control frames between fragments do not count", () => {
  const key = new Uint8Array([5, 6, 7, 8]);
  const part = (fin: boolean, opcode = 0) => encode({ opcode, fin, key, payload: new Uint8Array([1]) }).sent;
  const scanner = new ClientFrameScanner(3);
  assert.ok(scanner.push(concat([part(false, 2), part(false), encode({ opcode: 9, fin: true, key, payload: new Uint8Array(0) }).sent, part(false), part(true)])));
  assert.ok(scanner.push(concat([part(false, 2), part(false), part(false)])));
  assert.not.ok(scanner.push(part(false)));
});

exitAfterSuite(test);
test.run();
