// `kafkasm produce` end to end against the mock cluster: stdin lines in, kcat reads them back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { exitAfterSuite, spawnChild, until } from "../harness/bounded.ts";
import { startCluster, ApiKey, type Cluster } from "../harness/cluster.ts";
import { consumeAll, queryOffsets } from "../harness/kcat.ts";
import { freshTopic } from "./topics.ts";

const root = new URL("../..", import.meta.url).pathname;
let cluster: Cluster;

test.before(async () => {
  cluster = await startCluster({ brokers: 3 });
});
test.after(async () => {
  await cluster?.stop();
});

interface Run { code: number | null; stdout: string; stderr: string; summary: { records: number; failed: number; seconds: number } }

/** Runs the CLI with `input` on stdin, written in uneven chunks. */
function produce(args: string[], input: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "produce", ...args], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`produce timed out; stderr: ${stderr}`)); }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").pop() ?? "";
      let summary;
      try { summary = JSON.parse(last); } catch { summary = undefined; }
      resolve({ code, stdout, stderr, summary });
    });
    child.stdin.on("error", () => {});
    (async () => {
      const bytes = Buffer.from(input);
      for (let pos = 0, step = 7; pos < bytes.length; pos += step, step = (step * 31) % 65_521 + 1) {
        if (!child.stdin.write(bytes.subarray(pos, pos + step))) await new Promise((r) => child.stdin.once("drain", r));
      }
      child.stdin.end();
    })();
  });
}

test("stdin lines become records; --key-separator splits key and value; kcat reads them back", async () => {
  const { name: topic } = await freshTopic(cluster, "cli-keys", 3);
  const r = await produce(["--brokers", cluster.bootstrap, "--topic", topic, "--key-separator", "::", "--acks", "all"],
    "user-1::{\"a\":1}\nuser-2::second\nno separator here\nuser-1::third ::with more\n");
  assert.is(r.code, 0, r.stderr);
  assert.equal({ records: r.summary.records, failed: r.summary.failed }, { records: 4, failed: 0 });
  assert.type(r.summary.seconds, "number");
  const got = await consumeAll(cluster.bootstrap, topic, { count: 4 });
  const pairs = got.map((g) => [g.key, g.payload]).sort((a, b) => String(a[1]).localeCompare(String(b[1])));
  assert.equal(pairs, [
    [null, "no separator here"], ["user-2", "second"], ["user-1", "third ::with more"], ["user-1", "{\"a\":1}"],
  ].sort((a, b) => String(a[1]).localeCompare(String(b[1]))));
  // Same key, same partition, in line order.
  const user1 = got.filter((g) => g.key === "user-1");
  assert.is(user1[0]!.partition, user1[1]!.partition);
  assert.equal(user1.map((g) => g.payload), ["{\"a\":1}", "third ::with more"]);
});

test("20,000 lines stream through, each partition in line order, with acks 1 and no idempotence", async () => {
  const { name: topic } = await freshTopic(cluster, "cli-many", 1);
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${"x".repeat(i % 50)}`);
  const r = await produce(["--brokers", cluster.bootstrap, "--topic", topic, "--acks", "1", "--no-idempotent"], lines.join("\n") + "\n");
  assert.is(r.code, 0, r.stderr);
  assert.equal({ records: r.summary.records, failed: r.summary.failed }, { records: 20_000, failed: 0 });
  const got = await consumeAll(cluster.bootstrap, topic, { count: 20_000, timeoutMs: 30_000 });
  assert.equal(got.map((g) => g.payload).sort(), [...lines].sort(), "content");
  const last = new Map<number, number>();
  for (const g of got) {
    const i = Number(g.payload!.split(" ")[1]);
    assert.ok(i > (last.get(g.partition) ?? -1), `line ${i} after line ${last.get(g.partition)} on partition ${g.partition}`);
    last.set(g.partition, i);
  }
});

test("--compression gzip / lz4: kcat decompresses what the CLI produced", async () => {
  for (const c of ["gzip", "lz4"]) {
    const { name: topic } = await freshTopic(cluster, `cli-${c}`, 1);
    const lines = Array.from({ length: 500 }, (_, i) => `${c} record ${i} ${"abc".repeat(i % 20)}`);
    const r = await produce(["--brokers", cluster.bootstrap, "--topic", topic, "--compression", c], lines.join("\n") + "\n");
    assert.is(r.code, 0, r.stderr);
    const got = await consumeAll(cluster.bootstrap, topic, { count: 500 });
    assert.equal(got.map((g) => g.payload).sort(), [...lines].sort(), c);
  }
});

test("a producer option the producer rejects exits 2 with its INVALID_CONFIG message", async () => {
  const r = await produce(["--brokers", cluster.bootstrap, "--topic", "x", "--acks", "1", "--idempotent"], "");
  assert.is(r.code, 2);
  assert.match(r.stderr, /INVALID_CONFIG: .*idempotence requires acks "all"/);
});

test("streaming: records are delivered while stdin is still open", async () => {
  const { name: topic } = await freshTopic(cluster, "cli-stream", 1);
  const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "produce", "--brokers", cluster.bootstrap, "--topic", topic],
    { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  try {
    const stdin = child.process.stdin!;
    stdin.write(Array.from({ length: 50 }, (_, i) => `first ${i}`).join("\n") + "\n");
    let high = 0;
    await until(async () => {
      high = (await queryOffsets(cluster.bootstrap, topic)).reduce((s, o) => s + o.high, 0);
      return high >= 50;
    }, 30_000, `50 records on the broker before stdin ends (stderr: ${child.stderr})`);
    assert.is(high, 50, `50 records on the broker before stdin ends; stderr: ${child.stderr}`);
    stdin.end(Array.from({ length: 50 }, (_, i) => `second ${i}`).join("\n") + "\n");
    assert.is(await child.exited(60_000), 0, child.stderr);
    assert.equal(JSON.parse(child.stdout.trim().split("\n").pop()!).records, 100);
  } finally {
    child.kill();
  }
});

test("Ctrl-C while waiting for input: delivers what was read, prints the summary, exits 130", async () => {
  const { name: topic } = await freshTopic(cluster, "cli-sigint", 1);
  const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "produce", "--brokers", cluster.bootstrap, "--topic", topic],
    { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  try {
    child.process.stdin!.write("one\ntwo\nthree\n");
    await until(async () => (await queryOffsets(cluster.bootstrap, topic))[0]!.high >= 3, 30_000, "the 3 records on the broker");
    child.process.kill("SIGINT");
    const code = await child.exited(30_000);
    const { stdout, stderr } = child;
    assert.is(code, 130, stderr);
    assert.match(stderr, /interrupted/);
    assert.equal(JSON.parse(stdout.trim().split("\n").pop()!), { ...JSON.parse(stdout.trim().split("\n").pop()!), records: 3, failed: 0 });
  } finally {
    child.kill();
  }
});

test("empty stdin: exit 0 and {records: 0, failed: 0}", async () => {
  const { name: topic } = await freshTopic(cluster, "cli-empty", 1);
  const r = await produce(["--brokers", cluster.bootstrap, "--topic", topic], "");
  assert.is(r.code, 0, r.stderr);
  assert.equal({ records: r.summary.records, failed: r.summary.failed }, { records: 0, failed: 0 });
});

test("records the broker rejects: exit 1, the Kafka error code on stderr, failed count in the JSON", async () => {
  if (cluster.external) return;
  await cluster.createTopic("cli-reject", 1);
  // INVALID_RECORD (87) is not retriable: every record of the batch fails at once. (Not
  // MESSAGE_TOO_LARGE: the producer splits such a batch and resends the halves.)
  await cluster.pushRequestErrors(ApiKey.Produce, [87]);
  const r = await produce(["--brokers", cluster.bootstrap, "--topic", "cli-reject", "--acks", "1", "--no-idempotent", "--linger-ms", "50"], "a\nb\nc\n");
  await cluster.clearRequestErrors(ApiKey.Produce);
  assert.is(r.code, 1);
  assert.is(r.summary.records, 3);
  assert.is(r.summary.failed, 3);
  // The broker's error (Kafka's name and the Produce request), not the client's own INVALID_RECORD.
  assert.match(r.stderr, /INVALID_RECORD: Produce to "cli-reject"\/0 on broker/);
  assert.match(r.stderr, /3 of 3 records failed/);
  const offsets = await queryOffsets(cluster.bootstrap, "cli-reject");
  assert.is(offsets[0]!.high, 0);
});

test("unreachable brokers: exit 1 within --timeout-ms, every record failed with a typed code", async () => {
  const r = await produce(["--brokers", "127.0.0.1:1", "--topic", "t", "--timeout-ms", "1500"], "a\nb\n", 20_000);
  assert.is(r.code, 1);
  assert.equal({ records: r.summary.records, failed: r.summary.failed }, { records: 2, failed: 2 });
  assert.match(r.stderr, /line 1: [A-Z_]+: /);
});

exitAfterSuite(test);
test.run();
