// The demo's verifier must catch what it claims to check: feed it correct and deliberately broken
// read-backs. Java murmur2 is checked against Kafka's own UtilsTest vectors and KafkaJS's port.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import {
  TelemetryWorkload, javaMurmur2, javaPartition, verifyOffsets, verifyTelemetry, deviceKey, type ReadRecord, type Expected,
} from "../../src/cli/telemetry.ts";

const kafkajsMurmur2 = createRequire(import.meta.url)("kafkajs/src/producer/partitioners/default/murmur2.js") as (k: Buffer) => number;
const enc = new TextEncoder();

test("javaMurmur2 matches Kafka's UtilsTest vectors", () => {
  const cases: [string | number[], number][] = [
    ["21", -973932308], ["foobar", -790332482], ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829], ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    [[97, 98, 99], 479470107],
  ];
  for (const [input, want] of cases) {
    const bytes = typeof input === "string" ? enc.encode(input) : Uint8Array.from(input);
    assert.is(javaMurmur2(bytes), want, String(input));
  }
});

test("javaMurmur2 agrees with KafkaJS's Java-compatible port on random keys of every tail length", () => {
  let seed = 1;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
  for (let n = 0; n < 500; n++) {
    const bytes = Uint8Array.from({ length: n % 37 }, rnd);
    assert.is(javaMurmur2(bytes), kafkajsMurmur2(Buffer.from(bytes)), `length ${bytes.length}`);
  }
});

/** Produces the workload and "reads it back" the way a correct cluster would. */
function perfectRun(count = 3000, partitions = 6) {
  const w = new TelemetryWorkload({ count, devices: 40 });
  const next = new Array<number>(partitions).fill(0);
  const records: ReadRecord[] = [];
  for (let ev = w.next(); ev; ev = w.next()) {
    const partition = javaPartition(ev.key, partitions);
    const h = ev.headers;
    records.push({ partition, offset: next[partition]!++, key: ev.key, payload: ev.value,
      headers: [["event-type", h["event-type"]!], ["trace-id", h["trace-id"]!], ["content-type", h["content-type"]!]] });
  }
  const expected: Expected = { perDevice: w.perDevice, partitions, count };
  return { records, expected };
}

const failing = (v: ReturnType<typeof verifyTelemetry>) => v.checks.filter((c) => !c.ok).map((c) => c.name).sort();

test("the workload is deterministic, keyed, with JSON values and headers", () => {
  const a = new TelemetryWorkload({ count: 100, devices: 5 }), b = new TelemetryWorkload({ count: 100, devices: 5 });
  const ea = a.next()!, eb = b.next()!;
  assert.equal(ea, eb);
  const v = JSON.parse(ea.value);
  assert.is(v.device, ea.key);
  assert.is(v.seq, 0);
  assert.is(ea.headers["event-type"], v.type);
  let n = 1;
  while (a.next()) n++;
  assert.is(n, 100);
  assert.is(a.next(), undefined);
  assert.is([...a.perDevice].reduce((s, x) => s + x, 0), 100);
});

test("a correct read-back passes every check", () => {
  const { records, expected } = perfectRun();
  const v = verifyTelemetry(records, expected);
  assert.ok(v.ok, JSON.stringify(v.problems));
  assert.equal(v.problems, []);
});

test("a duplicated record is caught (count and no duplicates)", () => {
  const { records, expected } = perfectRun();
  const dup = records[1234]!;
  const p = dup.partition;
  const last = Math.max(...records.filter((r) => r.partition === p).map((r) => r.offset));
  records.push({ ...dup, offset: last + 1 });
  const v = verifyTelemetry(records, expected);
  assert.not.ok(v.ok);
  assert.equal(failing(v), ["count", "no duplicates"]);
  assert.match(v.problems.join("\n"), new RegExp(`duplicate: ${dup.key} seq`));
});

test("a missing record is caught (count and nothing missing)", () => {
  const { records, expected } = perfectRun();
  const [gone] = records.splice(777, 1);
  const v = verifyTelemetry(records, expected);
  assert.equal(failing(v), ["count", "nothing missing"]);
  assert.match(v.problems.join("\n"), new RegExp(`missing: ${gone!.key} seq ${JSON.parse(gone!.payload!).seq}`));
});

test("two records of one key swapped in offset order are caught (per-key order)", () => {
  const { records, expected } = perfectRun();
  const key = records[10]!.key;
  const same = records.filter((r) => r.key === key);
  const [a, b] = [same[3]!, same[4]!];
  const ia = records.indexOf(a), ib = records.indexOf(b);
  records[ia] = { ...a, offset: b.offset };
  records[ib] = { ...b, offset: a.offset };
  const v = verifyTelemetry(records, expected);
  assert.equal(failing(v), ["per-key order"]);
  assert.match(v.problems[0]!, /out of order/);
});

test("a key on another partition than Java's murmur2 picks is caught", () => {
  const { records, expected } = perfectRun();
  const r = records[50]!;
  records[50] = { ...r, partition: (r.partition + 1) % 6, offset: 1_000_000 };
  const v = verifyTelemetry(records, expected);
  assert.ok(failing(v).includes("Java partitioning"));
});

test("damaged headers and foreign records are caught", () => {
  const { records, expected } = perfectRun();
  records[5] = { ...records[5]!, headers: [["event-type", "nope"]] };
  records[6] = { ...records[6]!, headers: ["event-type", "x", "trace-id", "y"] }; // kcat -J's flat form
  records.push({ partition: 0, offset: 999_999, key: "x", payload: "hello" });
  const v = verifyTelemetry(records, expected);
  assert.equal(failing(v), ["count", "headers", "no foreign records"]);
});

test("verifyOffsets checks each partition's growth against Java partitioning", () => {
  const w = new TelemetryWorkload({ count: 5000, devices: 50 });
  while (w.next());
  const expected: Expected = { perDevice: w.perDevice, partitions: 6, count: 5000 };
  const grow = new Array<number>(6).fill(0);
  for (let d = 0; d < 50; d++) grow[javaPartition(deviceKey(d), 6)]! += w.perDevice[d]!;
  const before = grow.map((_, partition) => ({ partition, high: 100 }));
  const after = grow.map((g, partition) => ({ partition, high: 100 + g }));
  assert.ok(verifyOffsets(before, after, expected).ok);
  after[2] = { partition: 2, high: after[2]!.high + 1 }; // one duplicate
  const v = verifyOffsets(before, after, expected);
  assert.not.ok(v.ok);
  assert.match(v.problems[0]!, /partition 2/);
});

test.run();
