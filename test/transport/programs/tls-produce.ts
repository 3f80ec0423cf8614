// Run by test/integration/real-tls.test.ts inside Node, Deno or Bun: that runtime's kafkasm entry with
// the `ssl` option given as JSON (PEM text inline), COUNT keyed records "k<i%37>:<i>" to TOPIC, then one
// JSON line { ok, count, runtime } or { ok: false, error, code, retriable, ms }.
//   deno run --allow-net=127.0.0.1 tls-produce.ts BOOTSTRAP TOPIC COUNT SSL_JSON [MAX_BLOCK_MS]
//   bun tls-produce.ts ...   node --import tsx tls-produce.ts ...
declare const Deno: { args: string[]; version: { deno: string } } | undefined;
declare const Bun: { version: string } | undefined;

export {};

const isDeno = typeof Deno !== "undefined";
const isBun = typeof Bun !== "undefined";
const args = isDeno ? Deno!.args : process.argv.slice(2);
const [bootstrap, topic, countText, sslJson, maxBlockText] = args;
const mod = isDeno ? await import("../../../src/deno.ts") : isBun ? await import("../../../src/bun.ts") : await import("../../../src/index.ts");
const start = Date.now();
let result: unknown;
const producer = new mod.Producer({ brokers: bootstrap!.split(","), lingerMs: 5, ssl: JSON.parse(sslJson!), maxBlockMs: maxBlockText ? Number(maxBlockText) : 30_000 });
try {
  const records = Array.from({ length: Number(countText) }, (_, i) => ({ topic: topic!, key: `k${i % 37}`, value: `k${i % 37}:${i}` }));
  const metas = await producer.sendBatch(records);
  result = { ok: true, count: metas.length, runtime: isDeno ? `deno ${Deno!.version.deno}` : isBun ? `bun ${Bun!.version}` : `node ${process.version}` };
} catch (e) {
  const err = e as { message?: string; code?: string; retriable?: boolean };
  result = { ok: false, error: String(err?.message ?? e), code: err.code, retriable: err.retriable, ms: Date.now() - start };
}
await producer.close({ timeoutMs: 5000 });
console.log(JSON.stringify(result));
