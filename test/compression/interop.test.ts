// Interop with librdkafka in the direction kafkasm → kcat: for every codec, what the kafkasm
// producer writes to the librdkafka mock cluster, kcat consumes with identical keys, values and
// headers, and the stored batches really carry that codec's attribute bits.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll } from "../harness/kcat.ts";
import { Producer } from "../../src/index.ts";
import { consume } from "../../src/cli/consume.ts";
import { nodeTransport } from "../../src/transport/node.ts";
import { telemetryEvents } from "./corpus.ts";

const codecs = ["gzip", "snappy", "lz4", "zstd"] as const;
const cluster = await startCluster({ brokers: 1, topics: codecs.map((c) => ({ name: `interop-${c}`, partitions: 2 })) });
test.after(() => cluster.stop());

const events = telemetryEvents(600, 99);

for (const [i, codec] of codecs.entries()) {
  test(`kcat (librdkafka) consumes what kafkasm produced with ${codec}: same keys, values and headers`, async () => {
    const topic = `interop-${codec}`;
    const producer = new Producer({ brokers: [cluster.bootstrap.split(",")[0]!], compression: codec, lingerMs: 20 });
    try {
      await within(Promise.all(events.map((value, n) => producer.send({
        topic, key: n % 5 === 0 ? null : `device-${n % 23}`, value, headers: { codec, seq: String(n), empty: null },
      }))), 90_000, `${events.length} sends`);
    } finally {
      await within(producer.close(), 30_000, "producer.close()");
    }
    const got = await consumeAll(cluster.bootstrap, topic, { count: events.length, timeoutMs: 30_000 });
    const bySeq = new Map(got.map((r) => [Number(Object.fromEntries(r.headers).seq), r]));
    assert.is(bySeq.size, events.length);
    events.forEach((value, n) => {
      const r = bySeq.get(n)!;
      assert.is(r.payload, value);
      assert.is(r.key, n % 5 === 0 ? null : `device-${n % 23}`);
      assert.equal(r.headers, [["codec", codec], ["seq", String(n)], ["empty", null]]);
    });
    // The batches as stored: every one compressed with this codec (attribute bits 0-2).
    const attributes = new Set<number>();
    for await (const _ of consume({ brokers: [cluster.bootstrap.split(",")[0]!], topic, transport: nodeTransport, onRawRecords: (_p, bytes) => {
      for (let p = 0; p + 61 <= bytes.length;) {
        const view = new DataView(bytes.buffer, bytes.byteOffset + p);
        attributes.add(view.getInt16(21) & 7);
        p += 12 + view.getInt32(8);
      }
    } })) { /* records checked through kcat above */ }
    assert.equal([...attributes], [i + 1]);
  });
}

exitAfterSuite(test);
test.run();
