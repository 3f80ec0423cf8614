import { test } from "uvu";
import * as assert from "uvu/assert";
import { runVerifiableProducer, type VerifiableSink } from "../../src/cli/verifiable-producer.ts";
import { startCluster, type Cluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { exitAfterSuite, spawnChild, until, within } from "../harness/bounded.ts";
import { freshTopic } from "./topics.ts";

const root = new URL("../..", import.meta.url).pathname;
const cli = (args: string[]) => spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "verifiable-producer", ...args], { cwd: root });
const events = (stdout: string) => stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);

/** A sink acknowledging asynchronously at offsets 0, 1, …; the records listed in `fail` fail. */
function fakeSink(fail = new Set<number>()) {
  const records: { key: string | null; value: string; timestamp?: number }[] = [];
  let closed = false;
  const sink: VerifiableSink = {
    send(record, cb) {
      const n = records.push(record) - 1;
      queueMicrotask(() => fail.has(n)
        ? cb(Object.assign(new Error(`Record ${n} refused`), { name: "KafkaError", code: "INVALID_RECORD" }))
        : cb(null, { topic: record.topic, partition: 0, offset: n }));
    },
    close: async () => { closed = true; },
  };
  return { sink, records, closed: () => closed };
}

test("runVerifiableProducer: startup_complete, one success/error per record with key and value, shutdown_complete then tool_data", async () => {
  const { sink, records, closed } = fakeSink(new Set([2]));
  const lines: string[] = [];
  const summary = await runVerifiableProducer(sink, { topic: "t", maxMessages: 5, throughput: -1, valuePrefix: 7, repeatingKeys: 2, print: (l) => lines.push(l) });
  const ev = lines.map((l) => JSON.parse(l));
  assert.equal(ev.map((e) => e.name), ["startup_complete", "producer_send_success", "producer_send_success", "producer_send_error",
    "producer_send_success", "producer_send_success", "shutdown_complete", "tool_data"]);
  for (const e of ev) assert.type(e.timestamp, "number");
  assert.equal(records.map((r) => [r.key, r.value]), [["0", "7.0"], ["1", "7.1"], ["0", "7.2"], ["1", "7.3"], ["0", "7.4"]]);
  assert.equal(ev[1], { timestamp: ev[1].timestamp, name: "producer_send_success", key: "0", value: "7.0", topic: "t", partition: 0, offset: 0 });
  assert.equal(ev[3], { timestamp: ev[3].timestamp, name: "producer_send_error", exception: "KafkaError: INVALID_RECORD", message: "Record 2 refused", topic: "t", key: "0", value: "7.2" });
  assert.ok(closed(), "closed before shutdown_complete");
  assert.equal({ ...ev[7], timestamp: 0, avg_throughput: 0 }, { timestamp: 0, name: "tool_data", sent: 5, acked: 4, target_throughput: -1, avg_throughput: 0 });
  assert.equal(summary, { sent: 5, acked: 4 });
});

test("runVerifiableProducer: null keys and plain integer values by default; --message-create-time sets the first CreateTime", async () => {
  const { sink, records } = fakeSink();
  await runVerifiableProducer(sink, { topic: "t", maxMessages: 3, throughput: -1, createTime: 1_000_000, print: () => {} });
  assert.equal(records.map((r) => [r.key, r.value]), [[null, "0"], [null, "1"], [null, "2"]]);
  assert.is(records[0]!.timestamp, 1_000_000);
  assert.ok(records[2]!.timestamp! >= 1_000_000);
});

test("runVerifiableProducer: -1 max messages runs until aborted, then closes and reports", async () => {
  const { sink, records } = fakeSink();
  const stop = new AbortController();
  const lines: string[] = [];
  const running = runVerifiableProducer(sink, { topic: "t", maxMessages: -1, throughput: 2000, print: (l) => lines.push(l), signal: stop.signal });
  await until(() => records.length >= 50, 10_000, "50 records");
  stop.abort();
  const summary = await within(running, 10_000, "shutdown");
  const ev = lines.map((l) => JSON.parse(l));
  assert.equal(ev.slice(-2).map((e) => e.name), ["shutdown_complete", "tool_data"]);
  assert.is(summary.sent, records.length);
  assert.is(ev.at(-1).sent, records.length);
  assert.is(ev.filter((e) => e.name === "producer_send_success").length, summary.acked);
});

let cluster: Cluster;
test.before(async () => { cluster = await startCluster({ brokers: 3 }); });
test.after(async () => { await cluster?.stop(); });

test("kafkasm verifiable-producer on the mock cluster: every acked value is in the topic at the offset it reported, exactly once", async () => {
  const { name: topic } = await freshTopic(cluster, "verifiable", 3);
  const child = cli(["--topic", topic, "--bootstrap-server", cluster.bootstrap, "--max-messages", "2000", "--repeating-keys", "10", "--value-prefix", "3"]);
  assert.is(await child.exited(60_000), 0, child.stderr);
  const ev = events(child.stdout);
  assert.is(ev[0]!.name, "startup_complete");
  assert.equal(ev.slice(-2).map((e) => e.name), ["shutdown_complete", "tool_data"]);
  const ok = ev.filter((e) => e.name === "producer_send_success");
  assert.is(ok.length, 2000, `errors: ${JSON.stringify(ev.filter((e) => e.name === "producer_send_error").slice(0, 3))}`);
  assert.equal(ev.at(-1)!.sent, 2000);
  assert.equal(ev.at(-1)!.acked, 2000);
  const stored = await consumeAll(cluster.bootstrap, topic, { count: 2000 });
  const at = new Map(stored.map((r) => [`${r.partition}/${r.offset}`, r]));
  for (const e of ok) {
    const r = at.get(`${e.partition}/${e.offset}`);
    assert.ok(r, `no record at ${e.partition}/${e.offset}`);
    assert.is(r!.payload, e.value);
    assert.is(r!.key, e.key);
  }
  assert.is(new Set(stored.map((r) => r.payload)).size, 2000, "each value once");
  // Same key, same partition (the Java partitioner): key "0" always lands on one partition.
  assert.is(new Set(ok.filter((e) => e.key === "0").map((e) => e.partition)).size, 1);
});

test("kafkasm verifiable-producer: SIGTERM stops an endless run cleanly (shutdown_complete, tool_data, exit 0); --broker-list works", async () => {
  const { name: topic } = await freshTopic(cluster, "verifiable-term", 1);
  const child = cli(["--topic", topic, "--broker-list", cluster.bootstrap, "--throughput", "500"]);
  try {
    await until(() => (child.stdout.match(/producer_send_success/g) ?? []).length >= 20, 30_000, "20 acks");
    child.process.kill("SIGTERM");
    assert.is(await child.exited(30_000), 0, child.stderr);
    const ev = events(child.stdout);
    assert.equal(ev.slice(-2).map((e) => e.name), ["shutdown_complete", "tool_data"]);
    const data = ev.at(-1)!;
    assert.is(data.target_throughput, 500);
    assert.is(data.acked, ev.filter((e) => e.name === "producer_send_success").length);
    assert.is(data.sent, data.acked, "every record sent before the signal was flushed and acknowledged");
  } finally {
    child.kill();
  }
});

test("kafkasm verifiable-producer: without --bootstrap-server or --broker-list, exit 2", async () => {
  const child = cli(["--topic", "t"]);
  assert.is(await child.exited(30_000), 2);
  assert.match(child.stderr, /--bootstrap-server/);
});

exitAfterSuite(test);
test.run();
