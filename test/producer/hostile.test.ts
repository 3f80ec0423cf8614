// A hostile broker: responses with random byte flips, truncations and garbage. Every send must
// settle (metadata or a typed KafkasmError) in bounded time: no hang, no crash, no untyped error.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Producer, KafkasmError } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => ((x ^= x << 13, x ^= x >>> 17, x ^= x << 5) >>> 0) / 4294967296;
}

function mutate(rand: () => number): (frame: Uint8Array) => Uint8Array {
  return (frame) => {
    const f = frame.slice();
    const kind = Math.floor(rand() * 4);
    if (kind === 0) { // flip bytes after the size prefix
      for (let i = 0; i < 1 + rand() * 4; i++) f[4 + Math.floor(rand() * (f.length - 4))] ^= 1 + Math.floor(rand() * 255);
      return f;
    }
    if (kind === 1) { // truncate, keeping a consistent size prefix
      const n = 4 + Math.floor(rand() * (f.length - 4));
      const t = f.slice(0, n);
      new DataView(t.buffer).setInt32(0, n - 4);
      return t;
    }
    if (kind === 2) { // garbage body of random length
      const n = 4 + Math.floor(rand() * 64);
      const g = new Uint8Array(4 + n).map(() => Math.floor(rand() * 256));
      new DataView(g.buffer).setInt32(0, n);
      g.set(f.subarray(4, 8), 4); // keep the correlation id
      return g;
    }
    f[Math.floor(rand() * 4)] ^= 0x40; // a broken size prefix
    return f;
  };
}

test("random corruption of Produce, Metadata, InitProducerId and ApiVersions responses: every send settles with metadata or a typed error", async () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed);
    const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2 }] });
    for (const apiKey of [ApiKey.Produce, ApiKey.Metadata, ApiKey.InitProducerId, ApiKey.ApiVersions]) {
      if (rand() < 0.6) cluster.inject({ apiKey, count: 1 + Math.floor(rand() * 3), action: { malformed: mutate(rand) } });
    }
    const idempotent = rand() < 0.5;
    const producer = new Producer({
      brokers: cluster.bootstrap, transport: cluster.transport, idempotent, acks: idempotent || rand() < 0.5 ? "all" : 1,
      requestTimeoutMs: 100, deliveryTimeoutMs: 600, maxBlockMs: 600, retryBackoffMs: 5, retryBackoffMaxMs: 20,
    } as never);
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: "t", value: `v${i}` }).then(
      (m) => { assert.ok(m.partition >= 0); return "ok"; },
      (e) => { assert.instance(e, KafkasmError, `seed ${seed}: ${e}`); return e.code as string; })));
    assert.is(outcomes.length, 20);
    if (process.env.HOSTILE_DEBUG) console.log(seed, [...new Set(outcomes)].join(","));
    await producer.close({ timeoutMs: 1000 });
  }
});

test.run();
