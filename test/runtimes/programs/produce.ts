// Run by test/runtimes/{deno,bun,node-websocket,compression-thread}.test.ts
// inside Deno, Bun or Node 22: imports that runtime's kafkasm entry (native TCP by default) and
// produces COUNT keyed records "k<i%37>:<i>" to TOPIC, then prints one JSON line { ok, count,
// partitions, runtime }. With PROXY_URL (not "-"), goes through that kafkasm proxy over the runtime's
// own global WebSocket instead; with TRANSACTIONAL_ID (not "-"), sends in one committed transaction;
// with COMPRESSION (gzip, snappy, lz4, zstd), compresses the batches. Never exits explicitly: the
// runtime must end by itself after close() (no socket, timer or promise left behind).
//   deno run --allow-net=127.0.0.1 produce.ts BOOTSTRAP TOPIC COUNT [PROXY_URL|-] [TRANSACTIONAL_ID|-] [COMPRESSION]
//   bun produce.ts BOOTSTRAP TOPIC COUNT [PROXY_URL|-] [TRANSACTIONAL_ID|-] [COMPRESSION]
//   node (>= 22.18, type stripping) produce.ts BOOTSTRAP TOPIC COUNT [PROXY_URL|-] [TRANSACTIONAL_ID|-] [COMPRESSION]

import { args, runtime, producerEntry } from "./runtime.ts";

const [bootstrap, topic, countText, proxyArg, txnArg, compression] = args;
const proxyUrl = proxyArg === "-" ? undefined : proxyArg;
const transactionalId = txnArg === "-" ? undefined : txnArg;
const count = Number(countText);
const mod = await producerEntry();
const { websocketTransport } = await import("../../../src/transport/websocket.ts");
const transport = proxyUrl ? websocketTransport({ url: `${proxyUrl}/broker/{host}:{port}` }) : undefined;
const producer = new mod.Producer({ brokers: bootstrap.split(","), lingerMs: 5, transport, transactionalId, compression: compression as "zstd" | undefined });
const records = Array.from({ length: count }, (_, i) => ({ topic, key: `k${i % 37}`, value: `k${i % 37}:${i}` }));
let result: unknown;
try {
  if (transactionalId) {
    await producer.initTransactions();
    producer.beginTransaction();
  }
  const sent = producer.sendBatch(records);
  if (transactionalId) await producer.commitTransaction();
  const metas = await sent;
  result = { ok: true, count: metas.length, partitions: [...new Set(metas.map((m) => m.partition))].sort(), transport: proxyUrl ? "websocket" : "tcp", transactional: Boolean(transactionalId), compression: compression ?? "none", runtime };
} catch (e) {
  result = { ok: false, error: String((e as Error)?.message ?? e), code: (e as { code?: string }).code };
}
await producer.close({ timeoutMs: 5000 });
console.log(JSON.stringify(result));
