// Run by test/integration/real-sasl.test.ts inside Node, Deno or Bun: that runtime's kafkasm entry with
// OPTIONS_JSON ({ ssl?, sasl? }) as producer options. `sasl: { mechanism: "oauthbearer", unsecuredSub,
// lifetimeMs }` becomes a provider of unsecured (alg "none") JWTs, as Kafka's unsecured validator
// accepts. Produces COUNT keyed records "k<i%37>:<i>" to TOPIC over DURATION_MS (0: at once), then one
// JSON line { ok, count, tokens, runtime } or { ok: false, error, code, retriable, ms }.
//   deno run --allow-net=127.0.0.1 real-sasl-produce.ts BOOTSTRAP TOPIC COUNT OPTIONS_JSON [DURATION_MS] [MAX_BLOCK_MS]

import { args, runtime, producerEntry } from "../runtimes/programs/runtime.ts";

const [bootstrap, topic, countText, optionsJson, durationText, maxBlockText] = args;
const mod = await producerEntry();
const options = JSON.parse(optionsJson!);
let tokens = 0;
if (options.sasl?.unsecuredSub) {
  const { unsecuredSub, lifetimeMs } = options.sasl;
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  options.sasl = {
    mechanism: "oauthbearer",
    token: async () => {
      tokens++;
      const now = Date.now();
      const expiresAt = now + lifetimeMs;
      return { value: `${b64({ alg: "none" })}.${b64({ sub: unsecuredSub, iat: now / 1000, exp: expiresAt / 1000 })}.`, expiresAt };
    },
  };
}
const start = Date.now();
let result: unknown;
const producer = new mod.Producer({ brokers: bootstrap!.split(","), lingerMs: 5, maxBlockMs: maxBlockText ? Number(maxBlockText) : 30_000, ...options });
try {
  const count = Number(countText);
  const duration = Number(durationText ?? 0);
  const record = (i: number) => ({ topic: topic!, key: `k${i % 37}`, value: `k${i % 37}:${i}` });
  let done = 0;
  if (duration > 0) {
    // Steady load for DURATION_MS, so that re-authentications happen with requests in flight.
    const steps = 100;
    const pending: Promise<unknown>[] = [];
    for (let s = 0; s < steps; s++) {
      const from = Math.floor((count * s) / steps), to = Math.floor((count * (s + 1)) / steps);
      for (let i = from; i < to; i++) pending.push(producer.send(record(i)));
      await new Promise((r) => setTimeout(r, duration / steps));
    }
    done = (await Promise.all(pending)).length;
  } else {
    done = (await producer.sendBatch(Array.from({ length: count }, (_, i) => record(i)))).length;
  }
  result = { ok: true, count: done, tokens, ms: Date.now() - start, runtime };
} catch (e) {
  const err = e as { message?: string; code?: string; retriable?: boolean };
  result = { ok: false, error: String(err?.message ?? e), code: err.code, retriable: err.retriable, ms: Date.now() - start };
}
await producer.close({ timeoutMs: 5000 });
console.log(JSON.stringify(result));
