// The producer under Deno (native TCP through Deno.connect) against the mock cluster, checked with kcat.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";

test("Deno: 500 idempotent sends through Deno.connect land exactly once, readable by kcat", async () => {
  const topic = `deno-${Date.now().toString(36)}`; // unique, so a re-run against KAFKA_BROKERS reads only its own records
  const cluster = await startCluster({ brokers: 2, topics: [{ name: topic, partitions: 3 }] });
  try {
    const r = spawnSync("node_modules/.bin/deno", ["run", "-A", "--no-lock", "test/producer/deno-smoke.ts", cluster.bootstrap, topic, "500"], {
      encoding: "utf8", timeout: 45_000, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    });
    assert.is(r.status, 0, `deno exited ${r.status}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary, { records: 500, distinct: 500 });
    const recs = await consumeAll(cluster.bootstrap, topic, { count: 500 });
    assert.equal(new Set(recs.map((x) => x.payload)).size, 500);
    for (const x of recs) assert.match(x.payload!, /^deno-\d+$/);
  } finally {
    await cluster.stop();
  }
});

test.run();
