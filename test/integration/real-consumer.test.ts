// The consumer against the real Apache Kafka 3.6.2 (test/harness/kafka.ts): kcat -G members and
// kafkasm members share one group's partitions; a kafkasm member killed mid-run (SIGKILL) hands its
// partitions over and at-least-once loses nothing; read_committed hides a transaction kafkasm aborted.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { exitAfterSuite, spawnChild, until, within } from "../harness/bounded.ts";
import { kafkaAvailable, startKafka, type Kafka } from "../harness/kafka.ts";
import { Producer } from "../../src/index.ts";
import { Consumer, type ConsumerRecord } from "../../src/consumer/consumer.ts";
import { nodeTransport } from "../../src/transport/node.ts";

const it = kafkaAvailable() ? test : test.skip;
let kafka: Kafka | undefined;
const dec = new TextDecoder();

test.before(async () => {
  if (kafkaAvailable()) kafka = await within(startKafka({ properties: { "group.initial.rebalance.delay.ms": 0 } }), 120_000, "Kafka to start");
});
test.after(async () => { await kafka?.stop(); });

function consumer(groupId: string, topic: string, o: Partial<ConstructorParameters<typeof Consumer>[0]> = {}): Consumer {
  return new Consumer({ brokers: [kafka!.bootstrap], transport: nodeTransport, groupId, topics: [topic], autoOffsetReset: "earliest",
    sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, ...o });
}
function drain(c: Consumer, seen: ConsumerRecord[]): Promise<unknown> {
  return (async () => { for await (const r of c) seen.push(r); })().then(() => undefined, (e) => e);
}
async function produce(topic: string, n: number, prefix: string): Promise<void> {
  const p = new Producer({ brokers: [kafka!.bootstrap], transport: nodeTransport });
  await Promise.all(Array.from({ length: n }, (_, i) => p.send({ topic, key: String(i), value: `${prefix}${i}` })));
  await p.close();
}

it("kcat -G members and kafkasm members in one group share the partitions, each read by one member", async () => {
  await kafka!.tools.topics(["--create", "--topic", "shared", "--partitions", "6"]);
  const a = consumer("mixed", "shared"), b = consumer("mixed", "shared");
  const seenA: ConsumerRecord[] = [], seenB: ConsumerRecord[] = [];
  const da = drain(a, seenA), db = drain(b, seenB);
  const kcat = spawnChild("kcat", ["-b", kafka!.bootstrap, "-G", "mixed", "-q", "-u", "-J", "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", "shared"]);
  try {
    await until(() => a.assignment().length > 0 && b.assignment().length > 0 && a.assignment().length + b.assignment().length < 6, 60_000,
      `the three members to share (kafkasm owns ${a.assignment().length}+${b.assignment().length}; kcat: ${kcat.stderr.slice(-500)})`);
    await until(() => a.assignment().length + b.assignment().length === 4, 30_000, "an even split (2 each)");
    await produce("shared", 300, "v");
    const kcatRecords = () => kcat.stdout.split("\n").slice(0, -1).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { partition: number; payload: string });
    await until(() => { if (process.env.DEBUG_CONSUMER) console.error(seenA.length, seenB.length, kcatRecords().length, a.assignment().length, b.assignment().length); return seenA.length + seenB.length + kcatRecords().length >= 300; }, 60_000, `300 records (kafkasm ${seenA.length + seenB.length}, kcat ${kcatRecords().length})`);
    const kParts = new Set(kcatRecords().map((r) => r.partition));
    const mine = new Set([...seenA, ...seenB].map((r) => r.partition));
    assert.is(kParts.size, 2, "kcat read two partitions");
    assert.ok([...kParts].every((p) => !mine.has(p)), "no partition read by both kcat and kafkasm");
    const all = new Set([...seenA, ...seenB].map((r) => dec.decode(r.value!)).concat(kcatRecords().map((r) => r.payload)));
    assert.is(all.size, 300);
  } finally {
    kcat.kill();
    await a.close(); await b.close(); await da; await db;
  }
});

it("a member killed mid-run (SIGKILL) hands its partitions over; at-least-once loses nothing", async () => {
  await kafka!.tools.topics(["--create", "--topic", "handover", "--partitions", "4"]);
  await produce("handover", 400, "h");
  const child = spawnChild(process.execPath, ["--import", "tsx", join(import.meta.dirname, "real-consumer-child.ts"), kafka!.bootstrap, "kill", "handover"]);
  const childValues = () => child.stdout.split("\n").filter((l) => l.startsWith("value ")).map((l) => l.slice(6));
  await until(() => childValues().length >= 50, 60_000, `the child to read 50 (stderr: ${child.stderr.slice(-800)})`);
  const b = consumer("kill", "handover", { autoCommit: false });
  const seen: ConsumerRecord[] = [];
  const db = (async () => { for await (const r of b) { seen.push(r); await b.commit([{ topic: r.topic, partition: r.partition, offset: r.offset + 1 }]); } })().catch((e) => e);
  await until(() => b.assignment().length > 0, 60_000, "b to join next to the child");
  child.process.kill("SIGKILL");
  await until(() => b.assignment().length === 4, 60_000, "b to own all four partitions after the child's session expired");
  await until(() => new Set([...childValues(), ...seen.map((r) => dec.decode(r.value!))]).size === 400, 60_000,
    `all 400 values (child ${childValues().length}, b ${seen.length})`);
  await b.close(); await db;
});

it("read_committed hides a transaction kafkasm's transactional producer aborted; read_uncommitted shows it", async () => {
  await kafka!.tools.topics(["--create", "--topic", "txn", "--partitions", "1"]);
  const p = new Producer({ brokers: [kafka!.bootstrap], transport: nodeTransport, transactionalId: "consumer-test" });
  await p.initTransactions();
  p.beginTransaction();
  await Promise.all([0, 1, 2].map((i) => p.send({ topic: "txn", value: `aborted${i}` })));
  await p.abortTransaction();
  p.beginTransaction();
  await Promise.all([0, 1].map((i) => p.send({ topic: "txn", value: `committed${i}` })));
  await p.commitTransaction();
  await p.close();
  const read = async (isolationLevel: "read_committed" | "read_uncommitted", n: number) => {
    const c = consumer(`iso-${isolationLevel}`, "txn", { isolationLevel });
    const out: string[] = [];
    for await (const r of c) { out.push(dec.decode(r.value!)); if (out.length === n) break; }
    return out;
  };
  assert.equal(await within(read("read_committed", 2), 60_000, "read_committed"), ["committed0", "committed1"]);
  assert.equal(await within(read("read_uncommitted", 5), 60_000, "read_uncommitted"), ["aborted0", "aborted1", "aborted2", "committed0", "committed1"]);
});

exitAfterSuite(test);
test.run();
