// Bun: `bun` running a script importing src/bun.ts, over Bun.connect and over Bun's own
// WebSocket through kafkasm proxy; kcat (librdkafka) reads back what landed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { exitAfterSuite } from "../harness/bounded.ts";
import { startProxy } from "../proxy/helpers.ts";
import { bin, lastJson, run } from "./runtime-helpers.ts";

const bunRun = (args: string[], timeoutMs?: number) => run(bin("bun"), ["test/runtimes/programs/produce.ts", ...args], {
  env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" }, timeoutMs,
});

test("Bun over Bun.connect: 10,000 keyed records land exactly once in key order (kcat read-back)", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "bun-tcp", partitions: 4 }] });
  try {
    const r = await bunRun([cluster.bootstrap, "bun-tcp", "10000"]);
    const out = lastJson<{ ok: boolean; count: number; runtime: string; transport: string }>(r);
    assert.ok(out.ok, JSON.stringify(out) + r.stderr);
    assert.equal(out.transport, "tcp");
    assert.is(r.code, 0, "the process ended by itself after close()");
    assert.match(out.runtime, /^bun /);
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "bun-tcp", { count: 10_000, timeoutMs: 30_000 }), 10_000);
  } finally {
    await cluster.stop();
  }
});

test("Bun over its global WebSocket through kafkasm proxy: 2,000 keyed records (kcat read-back)", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "bun-ws", partitions: 4 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), log: () => {} });
  try {
    const r = await bunRun([cluster.bootstrap, "bun-ws", "2000", proxy.url]);
    const out = lastJson<{ ok: boolean; transport: string }>(r);
    assert.ok(out.ok, JSON.stringify(out) + r.stderr);
    assert.equal(out.transport, "websocket");
    assert.is(r.code, 0, "the process ended by itself after close()");
    assert.ok(proxy.stats().connections.total >= 1 && proxy.stats().bytes.toBroker > 2000 * 8, "the bytes went through the proxy");
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "bun-ws", { count: 2000, timeoutMs: 30_000 }), 2000);
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

test("Bun: a transactional producer commits 1,000 records, close() resolves, and the process then ends by itself (no socket, timer or promise left)", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "bun-txn", partitions: 3 }] });
  try {
    const r = await bunRun([cluster.bootstrap, "bun-txn", "1000", "-", "bun-txn-app"], 60_000);
    const out = lastJson<{ ok: boolean; transactional: boolean }>(r);
    assert.ok(out.ok, JSON.stringify(out) + r.stderr);
    assert.ok(out.transactional);
    assert.is(r.code, 0, `exit code (${r.stderr.slice(-500)})`);
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "bun-txn", { count: 1000, timeoutMs: 30_000 }), 1000);
  } finally {
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
