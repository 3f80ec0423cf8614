// Run by test/integration/real-tls.test.ts inside Node, Deno or Bun: that runtime's kafkasm entry with
// the `ssl` option given as JSON (PEM text inline), COUNT keyed records "k<i%37>:<i>" to TOPIC, then one
// JSON line { ok, count, runtime } or { ok: false, error, code, retriable, ms }.
//   deno run --allow-net=127.0.0.1 tls-produce.ts BOOTSTRAP TOPIC COUNT SSL_JSON [MAX_BLOCK_MS]
//   bun tls-produce.ts ...   node --import tsx tls-produce.ts ...

import { args, runtime, producerEntry } from "../../runtimes/programs/runtime.ts";

const [bootstrap, topic, countText, sslJson, maxBlockText] = args;
const mod = await producerEntry();
const start = Date.now();
let result: unknown;
const producer = new mod.Producer({ brokers: bootstrap!.split(","), lingerMs: 5, ssl: JSON.parse(sslJson!), maxBlockMs: maxBlockText ? Number(maxBlockText) : 30_000 });
try {
  const records = Array.from({ length: Number(countText) }, (_, i) => ({ topic: topic!, key: `k${i % 37}`, value: `k${i % 37}:${i}` }));
  const metas = await producer.sendBatch(records);
  result = { ok: true, count: metas.length, runtime };
} catch (e) {
  const err = e as { message?: string; code?: string; retriable?: boolean };
  result = { ok: false, error: String(err?.message ?? e), code: err.code, retriable: err.retriable, ms: Date.now() - start };
}
await producer.close({ timeoutMs: 5000 });
console.log(JSON.stringify(result));
