/**
 * Regenerates test/fixtures/compression/kcat-<codec>.bin: RecordBatches exactly as librdkafka
 * (kcat 1.7.1, librdkafka 2.0.2) compressed them. kcat produces `kcatFixtureLines()` with
 * `-z <codec> -K '\t' -H source=kcat -H codec=<codec>` into the librdkafka mock cluster
 * (test/harness/cluster.ts), which stores batches as produced; a Fetch (src/cli/consume.ts)
 * captures the raw records bytes. Run: node --import tsx test/compression/capture-fixtures.ts
 */
import { writeFileSync } from "node:fs";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";
import { consume } from "../../src/cli/consume.ts";
import { nodeTransport } from "../../src/transport/node.ts";
import { kcatFixtureLines } from "./kcat-fixture-lines.ts";

const codecs = ["gzip", "snappy", "lz4", "zstd"] as const;
const cluster = await startCluster({ brokers: 1, topics: codecs.map((c) => ({ name: `fixture-${c}`, partitions: 1 })) });
try {
  for (const codec of codecs) {
    const topic = `fixture-${codec}`;
    await kcatProduce(cluster.bootstrap, topic, kcatFixtureLines(), {
      compression: codec, keyDelimiter: "\t", headers: [["source", "kcat"], ["codec", codec]],
      config: { "linger.ms": 100, "batch.num.messages": 10000 },
    });
    const raws: Uint8Array[] = [];
    let n = 0;
    for await (const _ of consume({ brokers: [cluster.bootstrap.split(",")[0]!], topic, transport: nodeTransport, onRawRecords: (_p, b) => raws.push(b.slice()) })) n++;
    const bytes = Buffer.concat(raws);
    writeFileSync(new URL(`../fixtures/compression/kcat-${codec}.bin`, import.meta.url), bytes);
    console.log(`${codec}: ${n} records, ${bytes.length} bytes of RecordBatches, attributes ${bytes[22]! & 7}`);
  }
} finally {
  await cluster.stop();
}
