// Run by test/compression/zstd-native.test.ts under Node >= 22.15, Bun and Deno, whose node:zlib has
// zstd: checks native frames against the WebAssembly build, that the runtime's entry registers it for
// large batches only, and that the compression thread uses it. Prints one JSON line { ok, failures,
// runtime, ratio }.
//   node (>= 22.18, type stripping) zstd.ts | bun zstd.ts | deno run --allow-read --allow-env zstd.ts

import { runtime, producerEntry } from "./runtime.ts";
import { nodeZstd } from "../../../src/compression/zstd-node.ts";
import { NATIVE_MIN_BYTES } from "../../../src/compression/zstd.ts";
import { loadZstd } from "../../../bindings/compression.ts";
import { loadCompressionCodec, onCompressionThread } from "../../../src/compression/index.ts";
import { edgeCases, sameBytes, telemetryCorpus } from "../../compression/corpus.ts";

const failures: string[] = [];
const check = (ok: boolean, what: string) => { if (!ok) failures.push(what); };
const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

const native = await nodeZstd();
const wasm = await loadZstd();
let ratio = NaN;
if (native === null) {
  failures.push("nodeZstd() found no zstd in node:zlib");
} else {
  for (const { name, data } of edgeCases()) {
    const framed = native.compress(data, 3, 7);
    const frame = framed.subarray(7);
    check(MAGIC.every((b, i) => frame[i] === b), `${name}: a zstd frame after 7 bytes of headroom`);
    check(framed.buffer.byteLength === framed.length && framed.byteOffset === 0, `${name}: the output owns its buffer (it is transferred)`);
    check(sameBytes(wasm.decompress(frame, data.length), data), `${name}: the WebAssembly build decodes the native frame`);
  }
  const corpus = telemetryCorpus(1 << 20);
  ratio = native.compress(corpus, 3, 0).length / wasm.compress(corpus, 3, 0).length;
  check(ratio < 1.05, `level 3 compresses as well as the WebAssembly build (size ratio ${ratio})`);

  // The runtime's entry registers native zstd, and the compression thread uses it too.
  await producerEntry();
  const codec = await loadCompressionCodec("zstd");
  check(codec.native === true, "the registry's zstd codec is native after importing the runtime's entry");
  const below = telemetryCorpus(NATIVE_MIN_BYTES - 1);
  check(sameBytes((codec.compress(below, 5) as Uint8Array).subarray(5), wasm.compress(below, 3, 5).subarray(5)), "a batch below NATIVE_MIN_BYTES is compressed by the WebAssembly build");
  const big = codec.compress(corpus, 5) as Uint8Array;
  check(sameBytes(wasm.decompress(big.subarray(5), corpus.length), corpus), "a 1 MiB batch (compressed natively) decodes");
  const threaded = onCompressionThread(codec, 1) as typeof codec & { threaded?: boolean; close?: () => void };
  const until = Date.now() + 30_000;
  while (threaded.threaded !== true && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  check(threaded.threaded === true, "the compression thread started");
  check(threaded.native === true, "the compression thread compresses natively");
  const viaThread = await threaded.compress(corpus, 61);
  check(sameBytes(codec.decompress(viaThread.subarray(61), corpus.length) as Uint8Array, corpus), "the thread's native frame decodes");
  threaded.close?.();
}
console.log(JSON.stringify({ ok: failures.length === 0, failures: failures.slice(0, 20), runtime, ratio }));
