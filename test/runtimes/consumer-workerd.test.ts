// workerd: a worker built from the shipped dist/workerd consumer bundle (scripts/bundles.mjs) consumes
// per request: it joins the group over cloudflare:sockets, reads COUNT records, commits them, leaves,
// and answers. Successive requests resume where the last one committed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { exitAfterSuite } from "../harness/bounded.ts";
import { serveWorker } from "./workerd-worker.ts";

const WORKER = `
import { Consumer } from "./kafkasm/consumer.js";
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const count = Number(url.searchParams.get("count"));
    const consumer = new Consumer({ brokers: [url.searchParams.get("broker")], groupId: url.searchParams.get("group"),
      topics: [url.searchParams.get("topic")], autoOffsetReset: "earliest", autoCommit: false, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitMs: 100 });
    const values = [];
    try {
      for await (const r of consumer) {
        values.push(new TextDecoder().decode(r.value));
        // Breaking out of the loop closes the consumer (LeaveGroup): commit first.
        if (values.length === count) { await consumer.commit(); break; }
      }
      return Response.json({ ok: true, values });
    } catch (e) {
      return Response.json({ ok: false, error: String(e && e.message || e), code: e && e.code });
    } finally {
      await consumer.close();
    }
  },
};
`;

type Answer = { ok: boolean; values: string[]; error?: string };
async function startConsumerWorker() {
  const w = await serveWorker("src/consumer-workerd.ts", WORKER);
  return { stop: w.stop, consume: (q: Record<string, string>) => w.get<Answer>(q) };
}

test("workerd consumes per request: each request joins the group, reads its share, commits and leaves; the next request resumes after the commit", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "wd-consume", partitions: 3 }] });
  const worker = await startConsumerWorker();
  try {
    await kcatProduce(cluster.bootstrap, "wd-consume", Array.from({ length: 1000 }, (_, i) => `k${i % 29}:v${i}`), { keyDelimiter: ":" });
    const q = { broker: cluster.bootstrap.split(",")[0], topic: "wd-consume", group: "wd" };
    const first = await worker.consume({ ...q, count: "600" });
    assert.ok(first.ok, JSON.stringify(first).slice(0, 500));
    const second = await worker.consume({ ...q, count: "400" });
    assert.ok(second.ok, JSON.stringify(second).slice(0, 500));
    assert.is(new Set([...first.values, ...second.values]).size, 1000, "the second request read exactly what the first had not committed");
  } finally {
    worker.stop();
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
