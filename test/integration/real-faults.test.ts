// Exactly-once under broker faults, judged where it can be: the real Apache Kafka 3.6.2, which checks
// idempotent sequences (librdkafka's mock does not, so faults.test.ts only judges delivery there). An
// idempotent producer (acks all) sends 3,000 keyed records while the broker first stops answering
// (SIGSTOP for longer than requestTimeoutMs: requests time out and are resent while the broker still
// holds the first copies, which it appends once resumed) and later dies (SIGKILL) and restarts on the
// same data and ports (its producer state recovered from the log). kcat reads back: every record
// exactly once, in per-key order. Skipped without ../shared/kafka and java, and with KAFKA_BROKERS
// (a cluster this test cannot stop).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createConnection } from "node:net";
import { join } from "node:path";
import { exitAfterSuite, spawnChild, within, type Child } from "../harness/bounded.ts";
import { kafkaAvailable, kafkaHome, startKafka, type Kafka } from "../harness/kafka.ts";
import { consumeAll } from "../harness/kcat.ts";
import { Producer, type RecordMetadata } from "../../src/index.ts";
import { assertExactlyOnceInKeyOrder, sleep, tick } from "./helpers.ts";

const it = kafkaAvailable() && !process.env.KAFKA_BROKERS ? test : test.skip;
const REQUEST_TIMEOUT_MS = 2000;

let kafka: Kafka | undefined;
/** The broker started again after the SIGKILL (startKafka's own JVM is gone then). */
let restarted: Child | undefined;

test.before(async () => {
  if (!kafkaAvailable() || process.env.KAFKA_BROKERS) return;
  kafka = await within(startKafka(), 120_000, "Kafka to start");
});

test.after(async () => {
  restarted?.kill();
  await restarted?.exited(30_000).catch(() => {});
  await kafka?.stop();
});

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const c = createConnection({ host: "127.0.0.1", port });
  c.once("connect", () => { c.destroy(); resolve(true); });
  c.once("error", () => resolve(false));
});

/** SIGKILLs the broker, waits until its port refuses, and starts it again on the same data dir and ports. */
async function killAndRestart(k: Kafka): Promise<void> {
  process.kill(k.pid!, "SIGKILL");
  const port = Number(k.bootstrap.split(":")[1]);
  await within((async () => { while (await accepts(port)) await sleep(50); })(), 30_000, "the killed broker's port to refuse connections");
  // As test/harness/kafka.ts starts it; not detached, so the test runner's process-group kill reaches it.
  restarted = spawnChild("bash", [join(kafkaHome, "bin", "kafka-server-start.sh"), join(k.dir!, "server.properties")], {
    env: {
      ...process.env, LOG_DIR: join(k.dir!, "logs"), KAFKA_HEAP_OPTS: "-Xmx512m -Xms256m",
      KAFKA_LOG4J_OPTS: `-Dlog4j.configuration=file:${join(kafkaHome, "config", "log4j.properties")}`,
    },
  });
}

it("idempotent + acks all on Kafka 3.6.2 while the broker stops answering (requests time out and are resent) and later dies and restarts: every record exactly once, in per-key order", async () => {
  const k = kafka!;
  const topic = "real-faults";
  await k.tools.topics(["--create", "--topic", topic, "--partitions", "6"]);
  const producer = new Producer({
    brokers: [k.bootstrap], acks: "all", idempotent: true, retryBackoffMs: 20, retryBackoffMaxMs: 200,
    requestTimeoutMs: REQUEST_TIMEOUT_MS, batchSize: 2048, lingerMs: 5,
  });
  const total = 3000;
  const sends: Promise<RecordMetadata>[] = [];
  let paused = false;
  try {
    for (let i = 0; i < total; i++) {
      const key = `k${i % 16}`;
      sends.push(producer.send({ topic, key, value: `${key}:${i}` }));
      if (i % 50 !== 49) continue;
      await tick();
      await sleep(5);
      if (i === 999) {
        process.kill(k.pid!, "SIGSTOP");
        paused = true;
        await sleep(REQUEST_TIMEOUT_MS * 2); // the requests in flight time out; their resends wait on the stopped broker too
        process.kill(k.pid!, "SIGCONT");
        paused = false;
      }
      if (i === 1999) await killAndRestart(k);
    }
    const metas = await within(Promise.all(sends), 120_000, "every send to settle");
    assert.is(new Set(metas.map((m) => `${m.partition}/${m.offset}`)).size, total, "distinct offsets acknowledged");
  } finally {
    if (paused) process.kill(k.pid!, "SIGCONT");
    await producer.close({ timeoutMs: 5000 }).catch(() => {});
  }
  assertExactlyOnceInKeyOrder(await consumeAll(k.bootstrap, topic, { count: total, timeoutMs: 60_000 }), total);
});

exitAfterSuite(test);
test.run();
