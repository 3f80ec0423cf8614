// Run by test/compression/zstd-native.test.ts under Node >= 22.15, Bun and Deno, whose node:zlib has
// zstd: checks the native codec against the WebAssembly build and the zstd CLI's frames, its
// refusals and caps, that the runtime's entry registers it and that the compression thread uses it.
// Prints one JSON line { ok, failures, runtime, ratio }.
//   node (>= 22.18, type stripping) zstd.ts | bun zstd.ts | deno run --allow-read zstd.ts

import { readFileSync } from "node:fs";
import { runtime, producerEntry } from "./runtime.ts";
import { nodeZstd } from "../../../src/compression/zstd-node.ts";
import { loadZstd } from "../../../bindings/compression.ts";
import { loadCompressionCodec, onCompressionThread } from "../../../src/compression/index.ts";
import { ClientError } from "../../../src/errors.ts";
import { edgeCases, sameBytes, telemetryCorpus } from "../../compression/corpus.ts";

const failures: string[] = [];
const check = (ok: boolean, what: string) => { if (!ok) failures.push(what); };
const refuses = (f: () => unknown, match: RegExp, what: string) => {
  try { f(); } catch (e) {
    check(e instanceof ClientError && e.code === "COMPRESSION_ERROR" && match.test(e.message), `${what}: threw ${String(e)}`);
    return;
  }
  failures.push(`${what}: did not throw`);
};
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../fixtures/compression/${name}`, import.meta.url)));
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
    check(sameBytes(native.decompress(frame, data.length), data), `${name}: native round trip`);
    check(sameBytes(wasm.decompress(frame, data.length), data), `${name}: the WebAssembly build decodes the native frame`);
    check(sameBytes(native.decompress(wasm.compress(data, 3), data.length), data), `${name}: native decodes the WebAssembly build's frame`);
  }
  const corpus = telemetryCorpus(1 << 20);
  ratio = native.compress(corpus, 3, 0).length / wasm.compress(corpus, 3, 0).length;
  check(ratio < 1.05, `level 3 compresses as well as the WebAssembly build (size ratio ${ratio})`);
  // Frames written by the zstd CLI 1.5.4 (test/fixtures/compression/NOTES.md), one without a content size.
  for (const [file, n] of [["zstd-cli-l3.zst", 300_000], ["zstd-cli-stream-nosize.zst", 300_000], ["zstd-cli-l19.zst", 100_000]] as const) {
    check(sameBytes(native.decompress(fixture(file), n), telemetryCorpus(n)), `decodes the zstd CLI frame ${file}`);
  }
  const data = telemetryCorpus(100_000);
  const frame = native.compress(data, 3, 0);
  check(sameBytes(native.decompress(frame, data.length), data), "a cap of exactly the size is enough");
  refuses(() => native.decompress(frame, data.length - 1), /exceed maxOutputBytes 99999/, "a cap one byte short");
  check(native.decompress(native.compress(new Uint8Array(0), 3, 0), 0).length === 0, "an empty frame under a cap of 0");
  const two = new Uint8Array(frame.length * 2); two.set(frame); two.set(frame, frame.length);
  check(native.decompress(two, 2 * data.length).length === 2 * data.length, "two frames back to back decode to both");
  refuses(() => native.decompress(new Uint8Array(0), 100), /not a zstd frame/, "empty input");
  refuses(() => native.decompress(new TextEncoder().encode("definitely not zstd"), 100), /not a zstd frame/, "not zstd");
  for (let n = 0; n < frame.length; n += 211) refuses(() => native.decompress(frame.subarray(0, n), data.length), /zstd/, `truncated to ${n} bytes`);
  const corrupt = frame.slice(); for (let i = 40; i < 60; i++) corrupt[i]! ^= 0x5a;
  refuses(() => native.decompress(corrupt, data.length), /zstd/, "corrupted in the middle");
  const cli = fixture("zstd-cli-l3.zst").slice(); cli[cli.length - 1]! ^= 1;
  refuses(() => native.decompress(cli, 300_000), /zstd/, "a wrong content checksum");
  const garbage = new Uint8Array(frame.length + 3); garbage.set(frame); garbage.set([1, 2, 3], frame.length);
  refuses(() => native.decompress(garbage, data.length + 3), /zstd/, "garbage after the frame");
  refuses(() => native.decompress(frame, -1), /not a non-negative integer/, "a negative cap");
  // Bombs: a declared size over the cap, and a frame without a size expanding past it.
  const bomb = native.compress(new Uint8Array(64 << 20), 3, 0);
  check(bomb.length < 10_000, "64 MiB of zeros compress to a small bomb");
  refuses(() => native.decompress(bomb, 1 << 20), /exceed maxOutputBytes 1048576/, "the 64 MiB bomb under a 1 MiB cap");
  refuses(() => native.decompress(fixture("zstd-cli-stream-nosize.zst"), 100_000), /exceed maxOutputBytes 100000/, "a frame without a size past the cap");

  // The runtime's entry registers native zstd, and the compression thread uses it too.
  await producerEntry();
  const codec = await loadCompressionCodec("zstd");
  check(codec.native === true, "the registry's zstd codec is native after importing the runtime's entry");
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
