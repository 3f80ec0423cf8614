// kafkasm's verifiable tools against the real Apache Kafka 3.6.2 (test/harness/kafka.ts) and its own
// Java tools as the other side: Kafka's kafka-verifiable-consumer.sh reads what `kafkasm
// verifiable-producer` acknowledged, and `kafkasm verifiable-consumer` reads what Kafka's
// kafka-verifiable-producer.sh acknowledged. Skipped when ../shared/kafka or java is absent; the
// Verifiable* tests also when that build lacks the kafka-tools jar (its bin/ scripts then cannot
// start), with kafka-console-consumer.sh and kcat as the other side instead.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { exitAfterSuite, spawnChild, within } from "../harness/bounded.ts";
import { kafkaAvailable, kafkaHome, kafkaUnavailableReason, startKafka, type Kafka } from "../harness/kafka.ts";
import { kcatProduce, queryOffsets } from "../harness/kcat.ts";

/** Whether a jar in libs/ holds `entry` (a zip's central directory names its entries in plain text). */
function kafkaHasClass(entry: string): boolean {
  try {
    return readdirSync(join(kafkaHome, "libs")).some((f) => f.endsWith(".jar") && readFileSync(join(kafkaHome, "libs", f)).includes(entry));
  } catch { return false; }
}
const it = kafkaAvailable() ? test : test.skip;
const javaVerifiable = kafkaAvailable() && (process.env.KAFKA_BROKERS?.trim() ? false : kafkaHasClass("org/apache/kafka/tools/VerifiableConsumer.class")
  && kafkaHasClass("org/apache/kafka/tools/VerifiableProducer.class"));
const withJavaTools = javaVerifiable ? test : test.skip;
if (!kafkaAvailable()) console.log(`real-verifiable: skipped (${kafkaUnavailableReason()})`);
else if (!javaVerifiable) console.log("real-verifiable: the Verifiable* tests are skipped: no org.apache.kafka.tools.VerifiableConsumer/VerifiableProducer in ../shared/kafka/libs (the kafka-tools jar)");
let kafka: Kafka | undefined;
const root = new URL("../..", import.meta.url).pathname;
const kafkasm = (args: string[]) => spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root });
const events = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);
const N = 2000;

test.before(async () => {
  if (kafkaAvailable()) kafka = await within(startKafka({ properties: { "group.initial.rebalance.delay.ms": 0 } }), 120_000, "Kafka to start");
});
test.after(async () => { await kafka?.stop(); });

withJavaTools("kafkasm verifiable-producer produces N; Kafka's kafka-verifiable-consumer.sh reads every acked value exactly once, at the offset kafkasm reported", async () => {
  await kafka!.tools.topics(["--create", "--topic", "from-kafkasm", "--partitions", "3"]);
  const producer = kafkasm(["verifiable-producer", "--topic", "from-kafkasm", "--bootstrap-server", kafka!.bootstrap, "--max-messages", String(N), "--repeating-keys", "7"]);
  assert.is(await producer.exited(60_000), 0, producer.stderr);
  const acked = events(producer.stdout).filter((e) => e.name === "producer_send_success");
  assert.is(acked.length, N);

  const java = await kafka!.tools.run("kafka-verifiable-consumer.sh", ["--bootstrap-server", kafka!.bootstrap, "--topic", "from-kafkasm",
    "--group-id", "java-reads-kafkasm", "--max-messages", String(N), "--verbose", "--session-timeout", "10000"], { timeoutMs: 90_000 });
  const read = events(java.stdout).filter((e) => e.name === "record_data");
  const at = new Map(read.map((r) => [`${r.partition}/${r.offset}`, r]));
  for (const a of acked) {
    const r = at.get(`${a.partition}/${a.offset}`);
    assert.ok(r, `Java read nothing at ${a.partition}/${a.offset}`);
    assert.equal([r!.key, r!.value], [a.key, a.value]);
  }
  const values = read.map((r) => r.value);
  assert.is(values.length, N);
  assert.is(new Set(values).size, N, "each value once");
});

withJavaTools("Kafka's kafka-verifiable-producer.sh produces N; kafkasm verifiable-consumer reads them all and its commits reach the end offsets", async () => {
  await kafka!.tools.topics(["--create", "--topic", "from-java", "--partitions", "3"]);
  const java = await kafka!.tools.run("kafka-verifiable-producer.sh", ["--bootstrap-server", kafka!.bootstrap, "--topic", "from-java",
    "--max-messages", String(N), "--repeating-keys", "5"], { timeoutMs: 90_000 });
  const acked = events(java.stdout).filter((e) => e.name === "producer_send_success");
  assert.is(acked.length, N);
  const ends = new Map<number, number>();
  for (const a of acked) ends.set(a.partition, Math.max(ends.get(a.partition) ?? 0, a.offset + 1));

  const consumer = kafkasm(["verifiable-consumer", "--bootstrap-server", kafka!.bootstrap, "--topic", "from-java", "--group-id", "kafkasm-reads-java",
    "--max-messages", String(N), "--verbose", "--session-timeout", "10000"]);
  assert.is(await consumer.exited(90_000), 0, consumer.stderr);
  const ev = events(consumer.stdout);
  assert.equal([ev[0]!.name, ev.at(-1)!.name], ["startup_complete", "shutdown_complete"]);
  const consumed = ev.filter((e) => e.name === "records_consumed");
  assert.is(consumed.reduce((n, e) => n + e.count, 0), N);
  assert.is(consumed.flatMap((e) => e.partitions).reduce((n: number, p: any) => n + p.count, 0), N);
  const values = ev.filter((e) => e.name === "record_data").map((e) => e.value);
  assert.equal(new Set(values), new Set(acked.map((a) => a.value)));
  assert.is(values.length, N);
  const committed = new Map<number, number>();
  for (const e of ev.filter((e) => e.name === "offsets_committed")) {
    assert.ok(e.success, JSON.stringify(e));
    for (const o of e.offsets) committed.set(o.partition, Math.max(committed.get(o.partition) ?? 0, o.offset));
  }
  assert.equal(committed, ends);
  // The broker kept those commits: the group's next member reads only a record produced after them.
  await kafka!.tools.run("kafka-verifiable-producer.sh", ["--bootstrap-server", kafka!.bootstrap, "--topic", "from-java", "--max-messages", "1", "--value-prefix", "9"]);
  const again = kafkasm(["verifiable-consumer", "--bootstrap-server", kafka!.bootstrap, "--topic", "from-java", "--group-id", "kafkasm-reads-java",
    "--max-messages", "1", "--verbose", "--session-timeout", "10000"]);
  assert.is(await again.exited(90_000), 0, again.stderr);
  assert.equal(events(again.stdout).filter((e) => e.name === "record_data").map((e) => e.value), ["9.0"]);
});

it("kafkasm verifiable-producer produces N; Kafka's kafka-console-consumer.sh reads every acked key and value exactly once", async () => {
  await kafka!.tools.topics(["--create", "--topic", "to-console", "--partitions", "3"]);
  const producer = kafkasm(["verifiable-producer", "--topic", "to-console", "--bootstrap-server", kafka!.bootstrap, "--max-messages", String(N), "--repeating-keys", "7"]);
  assert.is(await producer.exited(60_000), 0, producer.stderr);
  const acked = events(producer.stdout).filter((e) => e.name === "producer_send_success");
  assert.is(acked.length, N);
  const read = await kafka!.tools.consume("to-console", { maxMessages: N, timeoutMs: 90_000 });
  assert.is(read.length, N);
  assert.is(new Set(read.map((r) => r.value)).size, N, "each value once");
  const keyOf = new Map(read.map((r) => [r.value, r.key]));
  for (const a of acked) assert.is(keyOf.get(a.value), a.key, `value ${a.value}`);
});

it("kcat produces N; kafkasm verifiable-consumer reads them all, its records_consumed add up to N and its commits reach the end offsets", async () => {
  await kafka!.tools.topics(["--create", "--topic", "from-kcat", "--partitions", "3"]);
  const values = Array.from({ length: N }, (_, i) => `k${i % 5}:${i}`);
  const produced = await kcatProduce(kafka!.bootstrap, "from-kcat", values, { keyDelimiter: ":", config: { "enable.idempotence": true } });
  assert.is(produced.exitCode, 0);
  const consumer = kafkasm(["verifiable-consumer", "--bootstrap-server", kafka!.bootstrap, "--topic", "from-kcat", "--group-id", "kafkasm-reads-kcat",
    "--max-messages", String(N), "--verbose", "--session-timeout", "10000", "--assignment-strategy", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"]);
  assert.is(await consumer.exited(90_000), 0, consumer.stderr);
  const ev = events(consumer.stdout);
  assert.equal([ev[0]!.name, ev.at(-1)!.name], ["startup_complete", "shutdown_complete"]);
  const consumed = ev.filter((e) => e.name === "records_consumed");
  assert.is(consumed.reduce((n, e) => n + e.count, 0), N);
  const data = ev.filter((e) => e.name === "record_data");
  assert.equal(new Set(data.map((e) => `${e.key}:${e.value}`)), new Set(values));
  assert.is(data.length, N);
  // The end offsets as the broker reports them (kcat's ListOffsets), not as the consumer saw them.
  const ends = new Map((await queryOffsets(kafka!.bootstrap, "from-kcat")).map((p) => [p.partition, p.high]));
  const committed = new Map<number, number>();
  for (const e of ev.filter((e) => e.name === "offsets_committed")) {
    assert.ok(e.success, JSON.stringify(e));
    for (const o of e.offsets) committed.set(o.partition, Math.max(committed.get(o.partition) ?? 0, o.offset));
  }
  assert.equal(committed, ends);
  // The broker kept those commits: the group's next member reads only a record produced after them.
  await kcatProduce(kafka!.bootstrap, "from-kcat", ["after"]);
  const again = kafkasm(["verifiable-consumer", "--bootstrap-server", kafka!.bootstrap, "--topic", "from-kcat", "--group-id", "kafkasm-reads-kcat",
    "--max-messages", "1", "--verbose", "--session-timeout", "10000"]);
  assert.is(await again.exited(90_000), 0, again.stderr);
  assert.equal(events(again.stdout).filter((e) => e.name === "record_data").map((e) => e.value), ["after"]);
});

exitAfterSuite(test);
test.run();
