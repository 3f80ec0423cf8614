// src/browser.ts's default transport: a kafkasm proxy on the page's own origin (ws: for http:
// pages), used when no transport is given. Run in Node with `location` and `WebSocket` stubbed
// as a page would have them; kcat reads back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WebSocket } from "ws";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { startProxy } from "../proxy/helpers.ts";

test("with no transport option, the browser entry reaches the brokers through ws://<location.host>/broker/{host}:{port}", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "same-origin", partitions: 1 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), log: () => {} });
  const g = globalThis as Record<string, unknown>;
  g.location = { protocol: "http:", host: `127.0.0.1:${proxy.port}` };
  g.WebSocket ??= WebSocket;
  try {
    const { Producer } = await import("../../src/browser.ts");
    const producer = new Producer({ brokers: [cluster.bootstrap] });
    const meta = await within(producer.send({ topic: "same-origin", key: "k", value: "via the page's origin" }), 60_000, "the send");
    assert.equal(meta.partition, 0);
    await within(producer.close(), 30_000, "producer.close()");
    assert.ok(proxy.stats().connections.total >= 1, "went through the proxy on location.host");
    const [r] = await consumeAll(cluster.bootstrap, "same-origin", { count: 1 });
    assert.equal(r.payload, "via the page's origin");
  } finally {
    delete g.location;
    await proxy.close();
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
