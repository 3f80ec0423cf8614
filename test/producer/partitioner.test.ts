import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { customPartition, keyPartition, newPartitionerState, roundRobinPartition, stickyPartition, type Murmur2 } from "../../src/producer/partitioner.ts";

// KafkaJS's JavaScript murmur2 (dev-only oracle) stands in for the WASM codec here; the codec's own
// murmur2 is checked against the same Java vectors in test/integration/partitioning.test.ts.
const require = createRequire(import.meta.url);
const kafkajsMurmur2: (key: Buffer) => number = require("kafkajs/src/producer/partitioners/default/murmur2.js");
const hash: Murmur2 = {
  murmur2: (b) => kafkajsMurmur2(Buffer.from(b)),
  murmur2String: (s) => kafkajsMurmur2(Buffer.from(s, "utf8")),
};

// From Apache Kafka's UtilsTest.testMurmur2 (the Java client's own vectors).
const javaVectors: [string, number][] = [
  ["21", -973932308], ["foobar", -790332482], ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829], ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971], ["abc", 479470107],
];

test("the oracle hash matches Java's murmur2 vectors, and keyed partition = (h & 0x7fffffff) % n", () => {
  for (const [k, h] of javaVectors) {
    assert.is(hash.murmur2String(k), h, k);
    assert.is(keyPartition(hash, k, 7), (h & 0x7fffffff) % 7);
    assert.is(keyPartition(hash, new TextEncoder().encode(k), 7), (h & 0x7fffffff) % 7);
  }
});

test("sticky: keyless records stay on one partition until batchSize bytes, then switch to another", () => {
  const s = newPartitionerState();
  let r = 0.1;
  const random = () => r;
  const first = stickyPartition(s, 6, [0, 1, 2, 3, 4, 5], 100, 1000, random);
  for (let i = 1; i < 10; i++) assert.is(stickyPartition(s, 6, [0, 1, 2, 3, 4, 5], 100, 1000, random), first);
  r = 0.1; // would pick the same partition again: must move on anyway
  const next = stickyPartition(s, 6, [0, 1, 2, 3, 4, 5], 100, 1000, random);
  assert.is.not(next, first);
});

test("sticky prefers partitions with a known leader", () => {
  const s = newPartitionerState();
  for (let i = 0; i < 50; i++) {
    const p = stickyPartition(s, 8, [5], 1000, 100, Math.random);
    assert.is(p, 5);
  }
});

test("round robin cycles over every partition", () => {
  const s = newPartitionerState();
  assert.equal([0, 1, 2, 3, 4].map(() => roundRobinPartition(s, 3)), [0, 1, 2, 0, 1]);
});

test("a custom partitioner's out-of-range answer is an INVALID_RECORD error", () => {
  assert.is(customPartition(() => 2, "t", null, 3, { topic: "t", value: "v" }), 2);
  try {
    customPartition(() => 3, "t", null, 3, { topic: "t", value: "v" });
    assert.unreachable();
  } catch (e) {
    assert.is((e as { code: string }).code, "INVALID_RECORD");
    assert.match((e as Error).message, /returned 3.*3 partitions/);
  }
});

test.run();
