import { test } from "uvu";
import * as assert from "uvu/assert";
import * as esbuild from "esbuild";
import { codecForAttribute, loadCompressionCodec } from "../../src/compression/index.ts";
import { ClientError } from "../../src/errors.ts";

test("codecForAttribute maps attribute bits 0-2 to gzip/snappy/lz4/zstd and ignores the other bits", async () => {
  assert.is((await codecForAttribute(1)).name, "gzip");
  assert.is((await codecForAttribute(2)).name, "snappy");
  assert.is((await codecForAttribute(3)).name, "lz4");
  assert.is((await codecForAttribute(4)).name, "zstd");
  assert.is((await codecForAttribute(0b0011_0011)).name, "lz4"); // transactional + control bits set
});

test("codecForAttribute rejects 'none' and the undefined codecs 5-7 with COMPRESSION_ERROR", async () => {
  for (const attr of [0, 5, 6, 7]) {
    try { await codecForAttribute(attr); assert.unreachable(); } catch (e) {
      assert.instance(e, ClientError);
      assert.is((e as ClientError).code, "COMPRESSION_ERROR");
    }
  }
});

test("loadCompressionCodec loads each codec once and rejects unknown names with INVALID_CONFIG", async () => {
  assert.is(await loadCompressionCodec("lz4"), await loadCompressionCodec("lz4"));
  try { await loadCompressionCodec("brotli" as "gzip"); assert.unreachable(); } catch (e) {
    assert.is((e as ClientError).code, "INVALID_CONFIG");
  }
});

test("each codec's compress leaves the headroom asked for before its output, which decompresses to the input", async () => {
  const { telemetryCorpus } = await import("./corpus.ts");
  const data = telemetryCorpus(300_000);
  for (const name of ["gzip", "snappy", "lz4", "zstd"] as const) {
    const codec = await loadCompressionCodec(name);
    const plain = await codec.compress(data);
    for (const headroom of [61, 1]) {
      const out = await codec.compress(data, headroom);
      assert.is(out.length, headroom + plain.length, `${name} headroom ${headroom}`);
      const back = await codec.decompress(out.subarray(headroom), data.length);
      assert.ok(back.length === data.length && back.every((b, i) => b === data[i]), `${name} headroom ${headroom} round trip`);
    }
  }
});

test("a code-split bundle keeps every codec's WebAssembly out of the chunk that imports the registry", async () => {
  const r = await esbuild.build({
    stdin: { contents: `import { loadCompressionCodec } from "./src/compression/index.ts"; export { loadCompressionCodec };`, resolveDir: process.cwd(), loader: "ts" },
    bundle: true, splitting: true, format: "esm", outdir: "/tmp/kafkasm-split-test", write: false, platform: "neutral", logLevel: "silent",
  });
  const entry = r.outputFiles.find((f) => f.path.endsWith("stdin.js"))!;
  assert.ok(entry.text.length < 4000, `entry chunk is ${entry.text.length} bytes`);
  assert.not.match(entry.text, /AGFzbQ/); // "\0asm" in base64: no inline WebAssembly
  const wasmChunks = r.outputFiles.filter((f) => f.text.includes("AGFzbQ"));
  assert.is(wasmChunks.length, 3, "snappy, lz4 and zstd each in their own chunk");
});

test.run();
