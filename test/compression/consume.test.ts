// `kafkasm consume` (src/cli/consume.ts) against the librdkafka mock cluster, reading what kcat
// produced (compressed), as an iterator and as the CLI process.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exitAfterSuite, spawnChild, until, within } from "../harness/bounded.ts";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { consume, formatRecord, type ConsumedRecord } from "../../src/cli/consume.ts";
import { nodeTransport } from "../../src/transport/node.ts";
import type { Transport } from "../../src/transport/transport.ts";

const cluster = await startCluster({ brokers: 2, topics: [{ name: "c-lz4", partitions: 3 }, { name: "c-live", partitions: 1 }] });
test.after(() => cluster.stop());
const brokers = [cluster.bootstrap.split(",")[0]!];
const dec = new TextDecoder();
const lines = Array.from({ length: 90 }, (_, i) => `k${i % 7}|{"n":${i},"msg":"événement ${i}"}`);
await kcatProduce(cluster.bootstrap, "c-lz4", lines, { compression: "lz4", keyDelimiter: "|", headers: [["h", "v"]], config: { "linger.ms": 50 } });

async function all(opts: Partial<Parameters<typeof consume>[0]>): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  for await (const r of consume({ brokers, topic: "c-lz4", transport: nodeTransport, ...opts })) out.push(r);
  return out;
}

async function cli(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "consume", ...args]);
  try {
    const code = await child.exited(timeoutMs);
    return { code, stdout: child.stdout, stderr: child.stderr };
  } finally {
    child.kill();
  }
}

/** nodeTransport that notes when a Fetch request (API key 1) has been written: by then the consumer has its start offsets. */
function fetchWatchingTransport(): { transport: Transport; fetched(): boolean } {
  let fetched = false;
  const transport: Transport = async (address, handlers) => {
    const socket = await nodeTransport(address, handlers);
    return {
      write(data) {
        if (data.length >= 6 && new DataView(data.buffer, data.byteOffset, data.length).getInt16(4) === 1) fetched = true;
        return socket.write(data);
      },
      close: () => socket.close(),
    };
  };
  return { transport, fetched: () => fetched };
}

test("consume reads every partition from the beginning to the end offsets seen at start, decoding lz4 batches", async () => {
  const records = await all({});
  assert.is(records.length, 90);
  const values = records.map((r) => dec.decode(r.value!)).sort();
  assert.equal(values, lines.map((l) => l.slice(l.indexOf("|") + 1)).sort());
  for (const r of records) {
    assert.is(dec.decode(r.key!), `k${JSON.parse(dec.decode(r.value!)).n % 7}`);
    assert.equal(r.headers.map((h) => [h.key, dec.decode(h.value!)]), [["h", "v"]]);
  }
  // Offsets are dense per partition.
  for (const p of [0, 1, 2]) {
    const offs = records.filter((r) => r.partition === p).map((r) => r.offset);
    assert.equal(offs, offs.map((_, i) => i));
  }
});

test("consume --partition P --offset N starts inside a compressed batch at exactly N; --count stops there", async () => {
  const p0 = (await all({ partition: 0 }));
  assert.ok(p0.length > 6);
  const from = await all({ partition: 0, offset: 3, count: 2 });
  assert.equal(from.map((r) => r.offset), [3, 4]);
  assert.equal(from.map((r) => dec.decode(r.value!)), p0.slice(3, 5).map((r) => dec.decode(r.value!)));
});

test("consume --offset end --count N waits for records produced after it started", async () => {
  const watch = fetchWatchingTransport();
  const got = (async () => {
    const out: string[] = [];
    for await (const r of consume({ brokers, topic: "c-live", offset: "end", count: 2, transport: watch.transport, idleTimeoutMs: 30_000 })) out.push(dec.decode(r.value!));
    return out;
  })();
  got.catch(() => {});
  // Produce only once the consumer is fetching from the end offsets (a fixed pause is too short on a loaded machine).
  await until(watch.fetched, 30_000, "the consumer's first Fetch request");
  await kcatProduce(cluster.bootstrap, "c-live", ["late-1", "late-2"], { compression: "zstd" });
  assert.equal(await within(got, 60_000, "the 2 late records"), ["late-1", "late-2"]);
});

test("formatRecord prints UTF-8 strings, null for null, headers as [key, value] pairs, or base64 with --binary", () => {
  const r: ConsumedRecord = { topic: "t", partition: 1, offset: 5, timestamp: 1700000000000, key: null, value: new TextEncoder().encode("héllo"), headers: [{ key: "a", value: null }, { key: "a", value: new Uint8Array([0xff]) }] };
  assert.is(formatRecord(r), '{"topic":"t","partition":1,"offset":5,"timestamp":1700000000000,"key":null,"value":"héllo","headers":[["a",null],["a","\uFFFD"]]}');
  assert.is(formatRecord(r, true), '{"topic":"t","partition":1,"offset":5,"timestamp":1700000000000,"key":null,"value":"aMOpbGxv","headers":[["a",null],["a","/w=="]]}');
});

test("the kafkasm consume CLI prints one JSON line per record and exits 0", async () => {
  const { code, stdout, stderr } = await cli(["--brokers", cluster.bootstrap, "--topic", "c-lz4", "--partition", "1"]);
  assert.is(code, 0, stderr);
  const out = stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(out.length > 0);
  for (const [i, j] of out.entries()) {
    assert.equal(Object.keys(j), ["topic", "partition", "offset", "timestamp", "key", "value", "headers"]);
    assert.is(j.partition, 1); assert.is(j.offset, i);
    assert.is(j.key, `k${JSON.parse(j.value).n % 7}`);
    assert.equal(j.headers, [["h", "v"]]);
  }
});

test("the consume CLI exits 1 naming Kafka's error for an unknown topic, and 2 for a bad --offset", async () => {
  // The mock only speaks Metadata v0-2, which auto-creates topics: make it answer as a broker does
  // for a missing topic with allowAutoTopicCreation false.
  await cluster.setTopicError("no-such-topic", 3);
  const unknown = await cli(["--brokers", cluster.bootstrap, "--topic", "no-such-topic"]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
  const bad = await cli(["--brokers", cluster.bootstrap, "--topic", "c-lz4", "--offset", "soon"]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--offset/);
});

exitAfterSuite(test);
test.run();
