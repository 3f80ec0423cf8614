// Run under Deno by test/integration/deno.test.ts: `deno run -A test/producer/deno-smoke.ts BOOTSTRAP TOPIC N`.
// Produces N keyed records through the Deno entry (Deno.connect transport), idempotent, acks all, then
// prints one JSON line with the metadata summary.
import { Producer } from "../../src/deno.ts";

declare const Deno: { args: string[]; exit(code: number): never };
const [bootstrap, topic, n] = Deno.args;
const producer = new Producer({ brokers: bootstrap.split(","), clientId: "kafkasm-deno" });
const metas = await Promise.all(Array.from({ length: Number(n) }, (_, i) => producer.send({ topic, key: `k${i % 5}`, value: `deno-${i}` })));
await producer.close();
console.log(JSON.stringify({ records: metas.length, distinct: new Set(metas.map((m) => `${m.partition}/${m.offset}`)).size }));
Deno.exit(0);
