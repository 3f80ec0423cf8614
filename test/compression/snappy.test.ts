import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import SnappyJS from "snappyjs";
import { loadSnappy } from "../../bindings/compression.ts";
import { loadCompressionCodec } from "../../src/compression/index.ts";
import { ClientError } from "../../src/errors.ts";
import { edgeCases, noise, sameBytes, telemetryCorpus } from "./corpus.ts";
import { rejectsWithCompressionError as rejects } from "./reject.ts";

const snappy = await loadSnappy();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** An independent xerial parser (header, then [int32 BE length][raw block]) feeding snappyjs. */
function xerialDecodeWithSnappyJs(framed: Uint8Array): Uint8Array {
  assert.is(hex(framed.subarray(0, 16)), "82534e41505059000000000100000001");
  const parts: Uint8Array[] = [];
  const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
  for (let p = 16; p < framed.length;) {
    const n = view.getInt32(p);
    parts.push(new Uint8Array(SnappyJS.uncompress(framed.slice(p + 4, p + 4 + n))));
    p += 4 + n;
  }
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return out;
}

/** xerial framing around snappyjs-compressed chunks of `chunk` bytes (what snappy-java writes). */
function xerialEncodeWithSnappyJs(data: Uint8Array, chunk = 32 * 1024): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (let p = 0; p < data.length; p += chunk) {
    const c = new Uint8Array(SnappyJS.compress(data.slice(p, p + chunk)));
    const len = new Uint8Array(4);
    new DataView(len.buffer).setInt32(0, c.length);
    parts.push(len, c);
  }
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return out;
}

for (const { name, data } of edgeCases()) {
  test(`snappy round-trips ${name}, and snappyjs decodes our xerial chunks and raw block to the same bytes`, () => {
    const framed = snappy.compress(data);
    assert.ok(sameBytes(snappy.decompress(framed, data.length), data));
    assert.ok(sameBytes(xerialDecodeWithSnappyJs(framed), data));
    const raw = snappy.compress(data, { framing: "raw" });
    assert.ok(sameBytes(snappy.decompress(raw, data.length), data));
    assert.ok(sameBytes(new Uint8Array(SnappyJS.uncompress(raw)), data));
  });
}

test("snappy decodes what snappyjs wrote, raw and inside xerial framing (also concatenated xerial streams)", () => {
  const data = telemetryCorpus(300_000);
  assert.ok(sameBytes(snappy.decompress(new Uint8Array(SnappyJS.compress(data)), data.length), data));
  assert.ok(sameBytes(snappy.decompress(xerialEncodeWithSnappyJs(data), data.length), data));
  const twice = new Uint8Array([...xerialEncodeWithSnappyJs(data.subarray(0, 1000)), ...xerialEncodeWithSnappyJs(data.subarray(1000, 5000))]);
  assert.ok(sameBytes(snappy.decompress(twice, 5000), data.subarray(0, 5000)));
});

test("snappy matches snappyjs both ways on arbitrary inputs (property)", () => {
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    fc.array(fc.constantFrom("a", "ab", "{\"ts\":", "kafka", "\n", "0"), { maxLength: 800 }).map((a) => new TextEncoder().encode(a.join(""))),
  );
  fc.assert(fc.property(arb, (data) => {
    const ours = snappy.compress(data);
    if (!sameBytes(xerialDecodeWithSnappyJs(ours), data)) return false;
    return sameBytes(snappy.decompress(new Uint8Array(SnappyJS.compress(data)), data.length), data);
  }), { numRuns: 300, seed: 20261121 });
});

test("snappy compresses the telemetry corpus within 5% of snappyjs's ratio", () => {
  const data = telemetryCorpus(1 << 20);
  const ours = snappy.compress(data).length;
  const theirs = SnappyJS.compress(data).byteLength;
  assert.ok(ours <= theirs * 1.05, `ours ${ours} vs snappyjs ${theirs}`);
  assert.ok(ours < data.length / 3, `ratio ${data.length / ours}`);
});

test("snappy never expands incompressible data by more than the framing overhead", () => {
  const data = noise(256 * 1024);
  assert.ok(snappy.compress(data).length <= data.length + data.length / 6 + 64);
});

test("the snappy codec from the registry has attribute 2 and round-trips", async () => {
  const codec = await loadCompressionCodec("snappy");
  assert.is(codec.name, "snappy");
  assert.is(codec.attribute, 2);
  const data = telemetryCorpus(10_000);
  assert.ok(sameBytes(await codec.decompress(await codec.compress(data), 10_000), data));
});

test("snappy rejects malformed data with COMPRESSION_ERROR", () => {
  const data = telemetryCorpus(100_000);
  const framed = snappy.compress(data);
  const raw = snappy.compress(data, { framing: "raw" });
  rejects(() => snappy.decompress(new Uint8Array(0), 100), /truncated/);
  rejects(() => snappy.decompress(framed.subarray(0, framed.length - 1), data.length), /truncated/);
  rejects(() => snappy.decompress(raw.subarray(0, raw.length - 3), data.length), /truncated|differs/);
  // An element copying from before the start of the output.
  rejects(() => snappy.decompress(Uint8Array.from([10, 0x01 | (6 << 2), 0x05]), 100), /corrupt/);
  // A raw block that declares 20 bytes but holds 3.
  rejects(() => snappy.decompress(Uint8Array.from([20, 2 << 2, 0x61, 0x62, 0x63]), 100), /differs/);
  // Declares 3 bytes, holds more.
  rejects(() => snappy.decompress(Uint8Array.from([3, 4 << 2, 1, 2, 3, 4, 5]), 100), /differs/);
  // A varint that never ends.
  rejects(() => snappy.decompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 100), /truncated|corrupt/);
  // Every truncation of a small framed stream fails cleanly or decodes a prefix of chunks, never crashes.
  const small = snappy.compress(telemetryCorpus(70_000));
  for (let n = 0; n < small.length; n += 97) {
    try { snappy.decompress(small.subarray(0, n), 70_000); } catch (e) { assert.is((e as ClientError).code, "COMPRESSION_ERROR"); }
  }
});

test("snappy refuses a decompression bomb before allocating: declared size over maxOutputBytes", () => {
  const zeros = new Uint8Array(8 << 20);
  const bomb = snappy.compress(zeros);
  assert.ok(bomb.length < 500_000);
  rejects(() => snappy.decompress(bomb, 1 << 20), /declares 8388608 bytes, over maxOutputBytes 1048576/);
  // A raw block claiming 4 GiB - 1.
  rejects(() => snappy.decompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0]), 1 << 20), /exceed maxOutputBytes|over maxOutputBytes/);
  // A lying chunk: declares 10 bytes, but its elements expand to 1000.
  const lie = Uint8Array.from([10, 0x00, 0x61, 0x02 | (63 << 2), 0x01, 0x00]);
  rejects(() => snappy.decompress(lie, 1 << 20), /differs/);
});

test.run();
