import { test } from "uvu";
import * as assert from "uvu/assert";
import { startCluster, type Cluster } from "./cluster.ts";
import { consumeAll, kcatProduce, queryOffsets } from "./kcat.ts";

let cluster: Cluster;
test.before(async () => { cluster = await startCluster({ brokers: 3, topics: [{ name: "basic", partitions: 2 }] }); });
test.after(async () => { await cluster?.stop(); });

test("a started cluster lists its brokers on 127.0.0.1 in id order", () => {
  assert.is(cluster.brokers.length, 3);
  assert.equal(cluster.brokers.map((b) => b.id), [1, 2, 3]);
  for (const b of cluster.brokers) assert.is(b.host, "127.0.0.1");
  assert.is(cluster.bootstrap, cluster.brokers.map((b) => `127.0.0.1:${b.port}`).join(","));
});

test("records produced by kcat are consumed back by kcat with key, headers and offsets", async () => {
  await kcatProduce(cluster.bootstrap, "basic", ["k1:v1", "k2:v2", "k3:v3"], { keyDelimiter: ":", partition: 1, headers: { h: "x", "h-2": "y" } });
  const got = await consumeAll(cluster.bootstrap, "basic", { count: 3 });
  assert.equal(got.map((r) => [r.partition, r.offset, r.key, r.payload]), [[1, 0, "k1", "v1"], [1, 1, "k2", "v2"], [1, 2, "k3", "v3"]]);
  assert.equal(got[0].headers, [["h", "x"], ["h-2", "y"]]);
  const offsets = await queryOffsets(cluster.bootstrap, "basic");
  assert.equal(offsets, [{ partition: 0, low: 0, high: 0 }, { partition: 1, low: 0, high: 3 }]);
});

test.run();
