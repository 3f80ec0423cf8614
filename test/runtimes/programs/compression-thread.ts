// Run by test/runtimes/compression-thread.test.ts inside Node 22, Bun or Deno: imports that runtime's
// kafkasm entry (which sets up the compression thread from source) and, per codec, compresses 1 MiB of
// telemetry on the thread: it must start, answer with the inline codec's exact bytes and decode.
// Prints one JSON line { ok, failures, runtime }.
//   node (>= 22.18, type stripping) compression-thread.ts | bun compression-thread.ts
//   deno run --allow-read --allow-env compression-thread.ts

import { runtime, producerEntry } from "./runtime.ts";
import { loadCompressionCodec, onCompressionThread } from "../../../src/compression/index.ts";
import { sameBytes, telemetryCorpus } from "../../compression/corpus.ts";

await producerEntry();
const failures: string[] = [];
const corpus = telemetryCorpus(1 << 20);
for (const name of ["snappy", "lz4", "zstd"] as const) {
  const inline = await loadCompressionCodec(name);
  const t = onCompressionThread(inline, 1) as typeof inline & { threaded?: boolean; close?: () => void };
  const until = Date.now() + 30_000;
  while (t.threaded !== true && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  if (t.threaded !== true) { failures.push(`${name}: the compression thread did not start`); continue; }
  const r = t.compress(corpus, 61);
  if (!(r instanceof Promise)) failures.push(`${name}: 1 MiB was compressed inline, not on the thread`);
  const out = await r;
  if (!sameBytes(out.subarray(61), (inline.compress(corpus, 61) as Uint8Array).subarray(61))) failures.push(`${name}: the thread's bytes differ from inline compression`);
  if (!sameBytes(await inline.decompress(out.subarray(61), corpus.length), corpus)) failures.push(`${name}: the thread's output does not decode`);
  t.close?.();
}
console.log(JSON.stringify({ ok: failures.length === 0, failures, runtime }));
