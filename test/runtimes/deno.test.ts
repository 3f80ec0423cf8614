// Deno: `deno run` of a script importing src/deno.ts, over Deno.connect and over Deno's own
// WebSocket through kafkasm proxy; kcat (librdkafka) reads back what landed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { exitAfterSuite } from "../harness/bounded.ts";
import { startProxy } from "../proxy/helpers.ts";
import { bin, lastJson, run } from "./runtime-helpers.ts";

const deno = (args: string[], timeoutMs?: number) => run(bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-net=127.0.0.1", "test/runtimes/programs/produce.ts", ...args], {
  env: { DENO_NO_UPDATE_CHECK: "1" }, timeoutMs,
});

test("Deno over Deno.connect: 10,000 keyed records land exactly once in key order (kcat read-back)", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "deno-tcp", partitions: 4 }] });
  try {
    const r = await deno([cluster.bootstrap, "deno-tcp", "10000"]);
    const out = lastJson<{ ok: boolean; count: number; runtime: string; transport: string }>(r);
    assert.ok(out.ok, JSON.stringify(out) + r.stderr);
    assert.equal(out.transport, "tcp");
    assert.is(r.code, 0, "the process ended by itself after close()");
    assert.match(out.runtime, /^deno /);
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "deno-tcp", { count: 10_000, timeoutMs: 30_000 }), 10_000);
  } finally {
    await cluster.stop();
  }
});

test("Deno over its global WebSocket through kafkasm proxy: 2,000 keyed records (kcat read-back)", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "deno-ws", partitions: 4 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), log: () => {} });
  try {
    const r = await deno([cluster.bootstrap, "deno-ws", "2000", proxy.url]);
    const out = lastJson<{ ok: boolean; transport: string }>(r);
    assert.ok(out.ok, JSON.stringify(out) + r.stderr);
    assert.equal(out.transport, "websocket");
    assert.is(r.code, 0, "the process ended by itself after close()");
    assert.ok(proxy.stats().connections.total >= 1 && proxy.stats().bytes.toBroker > 2000 * 8, "the bytes went through the proxy");
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "deno-ws", { count: 2000, timeoutMs: 30_000 }), 2000);
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

test("Deno: a transactional producer commits 1,000 records, close() resolves, and the process then ends by itself (no socket, timer or promise left)", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "deno-txn", partitions: 3 }] });
  try {
    const r = await deno([cluster.bootstrap, "deno-txn", "1000", "-", "deno-txn-app"], 60_000);
    const out = lastJson<{ ok: boolean; transactional: boolean }>(r);
    assert.ok(out.ok, JSON.stringify(out) + r.stderr);
    assert.ok(out.transactional);
    assert.is(r.code, 0, `exit code (${r.stderr.slice(-500)})`);
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "deno-txn", { count: 1000, timeoutMs: 30_000 }), 1000);
  } finally {
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
