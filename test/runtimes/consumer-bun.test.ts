// Bun: test/runtimes/programs/consume.ts imports src/consumer-bun.ts, joins a group over the runtime's
// native TCP, reads what kcat produced, commits, closes and ends by itself; the group's committed
// offsets show in a second run, which starts after them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { exitAfterSuite } from "../harness/bounded.ts";
import { bin, lastJson, run } from "./runtime-helpers.ts";

const consume = (args: string[]) => run(bin("bun"), ["test/runtimes/programs/consume.ts", ...args], { env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" } });

test("Bun: a group member reads the 1,000 records kcat produced, commits, leaves and the process ends by itself; a second member of the group then finds nothing new", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "bun-consume", partitions: 3 }] });
  try {
    await kcatProduce(cluster.bootstrap, "bun-consume", Array.from({ length: 1000 }, (_, i) => `k${i % 29}:v${i}`), { keyDelimiter: ":" });
    const r = await consume([cluster.bootstrap, "bun-consume", "g", "1000"]);
    const out = lastJson<{ ok: boolean; count: number; values: string[]; partitions: number[]; runtime: string }>(r);
    assert.ok(out.ok, JSON.stringify(out).slice(0, 500) + r.stderr);
    assert.is(r.code, 0, "the process ended by itself after close()");
    assert.match(out.runtime, /^bun /);
    assert.is(new Set(out.values).size, 1000, "every record once");
    assert.equal(out.partitions, [0, 1, 2]);
    // The commit landed: one more record, and the same group resumes after the 1,000.
    await kcatProduce(cluster.bootstrap, "bun-consume", ["k1:last"], { keyDelimiter: ":" });
    const again = lastJson<{ ok: boolean; values: string[] }>(await consume([cluster.bootstrap, "bun-consume", "g", "1"]));
    assert.equal(again.values, ["last"]);
  } finally {
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
