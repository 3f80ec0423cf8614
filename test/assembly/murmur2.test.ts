import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { createRequire } from "node:module";
import { getCodec, partitionForKey } from "../../bindings/codec.ts";

const codec = await getCodec();
// KafkaJS's port of Kafka's Java murmur2 (Long arithmetic): an independent oracle, dev-only.
const kafkajsMurmur2: (key: Buffer | string) => number =
  createRequire(import.meta.url)("kafkajs/src/producer/partitioners/default/murmur2.js");

test("murmur2 matches Kafka's Java vectors: \"0\"→971027396, \"1\"→-1993445489, \"\"→275646681", () => {
  const te = new TextEncoder();
  assert.is(codec.murmur2(te.encode("0")), 971027396);
  assert.is(codec.murmur2(te.encode("1")), -1993445489);
  assert.is(codec.murmur2(te.encode("")), 275646681);
});

test("partition of key \"100:48069\" among 12 partitions is 9", () => {
  assert.is(partitionForKey(codec.murmur2String("100:48069"), 12), 9);
});

test("partitionForKey masks the sign bit like Java (negative hashes map to valid partitions)", () => {
  assert.is(partitionForKey(-1993445489, 7), (-1993445489 & 0x7fffffff) % 7);
  assert.is(partitionForKey(-2147483648, 5), 0);
});

test("murmur2 equals KafkaJS's murmur2 on random byte keys of every tail length (property)", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) =>
    codec.murmur2(bytes) === kafkajsMurmur2(Buffer.from(bytes))), { numRuns: 1000 });
});

test("murmur2String equals KafkaJS's murmur2 of the UTF-8 string (property, full Unicode)", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 80 }), (s) =>
    codec.murmur2String(s) === kafkajsMurmur2(Buffer.from(s, "utf8"))), { numRuns: 1000 });
});

test.run();
