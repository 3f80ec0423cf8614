// The proxy's gate against what a real Apache Kafka 3.6.2 decides with its own StandardAuthorizer and
// ACLs: the same kafkasm Producer goes (a) straight to a broker whose ACLs grant User:ANONYMOUS one
// topic and one transactional id, and (b) through the proxy, with the equivalent allow-lists, to an
// open broker. Every outcome must match: allowed → delivered and read back; forbidden → the same
// typed, non-retriable Kafka error, and nothing written. Skipped without ../shared/kafka and java,
// and with KAFKA_BROKERS (ACLs cannot be set up on someone else's cluster).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WebSocket } from "ws";
import { Producer, KafkaError, type ProducerOptions } from "../../src/index.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { startKafka, kafkaAvailable, type Kafka } from "../harness/kafka.ts";
import { consumeAll, kcatMetadata } from "../harness/kcat.ts";
import { startProxy } from "../proxy/helpers.ts";
import { assertExactlyOnceInKeyOrder } from "./helpers.ts";

const it = kafkaAvailable() && !process.env.KAFKA_BROKERS ? test : test.skip;

const ALLOWED = "gate-allowed";
const FORBIDDEN = "gate-forbidden";
const TXN_OK = "gate-txn-ok";
const TXN_FORBIDDEN = "gate-txn-other-app";

let acl: Kafka | undefined;
let open: Kafka | undefined;
let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;

test.before(async () => {
  if (!kafkaAvailable() || process.env.KAFKA_BROKERS) return;
  [acl, open] = await within(Promise.all([startKafka({ authorizer: true }), startKafka()]), 120_000, "two Kafka brokers to start");
  // As the super user: the topics exist (a refusal must be about authorization, not existence), and
  // ANONYMOUS (any PLAINTEXT client) may write and describe one topic and one transactional id.
  for (const t of [ALLOWED, FORBIDDEN]) await acl.tools.topics(["--create", "--topic", t, "--partitions", "3"]);
  await acl.tools.acls(["--add", "--allow-principal", "User:ANONYMOUS", "--operation", "Write", "--operation", "Describe",
    "--topic", ALLOWED, "--transactional-id", TXN_OK]);
  proxy = await startProxy({ allow: [open.bootstrap], topics: [ALLOWED], log: process.env.DEBUG_GATE ? (e) => console.error("proxy", JSON.stringify(e)) : () => {}, transactionalIds: [TXN_OK] });
});

test.after(async () => {
  await proxy?.close();
  await Promise.all([acl?.stop(), open?.stop()]);
});

type Path = "broker ACLs" | "proxy gate";
const paths: Path[] = ["broker ACLs", "proxy gate"];

function producer(path: Path, extra: Omit<ProducerOptions, "brokers"> = {}): Producer {
  const options = { lingerMs: 5, retryBackoffMs: 50, ...extra };
  if (path === "broker ACLs") return new Producer({ brokers: [acl!.bootstrap], ...options });
  return new Producer({
    brokers: [open!.bootstrap],
    transport: websocketTransport({ url: `${proxy!.url}/broker/{host}:{port}`, WebSocket: WebSocket as never }),
    ...options,
  });
}

/** Everything a super user reads, to the end of each partition, from the broker behind `path`. */
const readAll = (path: Path, topic: string, config: Record<string, string> = {}) =>
  path === "broker ACLs"
    ? consumeAll(acl!.admin.bootstrap, topic, { config: { ...acl!.admin.kcat, ...config } })
    : consumeAll(open!.bootstrap, topic, { config });

const keyed = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, j) => {
  const i = from + j, key = `k${i % 5}`;
  return { key, value: `${key}:${i}`, tag: prefix };
});

async function refusal(p: Promise<unknown>, what: string): Promise<KafkaError> {
  const err = await within(p.then(() => undefined, (e: unknown) => e), 30_000, what);
  assert.ok(err instanceof KafkaError, `${what}: a KafkaError, got ${String(err)}`);
  return err as KafkaError;
}

it("an allowed topic: records are delivered and read back, straight to a Kafka with ACLs and through the proxy's gate alike", async () => {
  for (const path of paths) {
    const p = producer(path);
    try {
      const metas = await within(p.sendBatch(keyed(path, 50).map(({ key, value }) => ({ topic: ALLOWED, key, value }))), 60_000, `50 sends (${path})`);
      assert.equal(metas.length, 50);
      assert.ok(metas.every((m) => m.topic === ALLOWED && m.offset >= 0), `${path}: every record acknowledged with an offset`);
    } finally {
      await within(p.close(), 30_000, `close() (${path})`);
    }
    assertExactlyOnceInKeyOrder((await readAll(path, ALLOWED)).filter((r) => r.payload?.startsWith("k")), 50);
  }
});

it("a forbidden topic: TOPIC_AUTHORIZATION_FAILED, not retriable, at once from the broker's ACLs and from the gate alike; nothing is written and the allowed topic keeps flowing on the same producer", async () => {
  const seen: Record<string, { code: string; errorCode: number; retriable: boolean }> = {};
  for (const path of paths) {
    const p = producer(path);
    try {
      const started = Date.now();
      const err = await refusal(p.send({ topic: FORBIDDEN, key: "k", value: "must not land" }), `the send to ${FORBIDDEN} (${path}) to fail`);
      seen[path] = { code: err.code, errorCode: err.errorCode, retriable: err.retriable };
      // Not retried until the 120 s delivery timeout: a wide bound that still tells the two apart.
      assert.ok(Date.now() - started < 20_000, `${path}: failed at once, not after retries (${Date.now() - started} ms)`);
      const ok = await within(p.send({ topic: ALLOWED, key: "after", value: `after-refusal:${path}` }), 30_000, `a send to ${ALLOWED} after the refusal (${path})`);
      assert.ok(ok.offset >= 0);
    } finally {
      await within(p.close(), 30_000, `close() (${path})`);
    }
  }
  assert.equal(seen["broker ACLs"], { code: "TOPIC_AUTHORIZATION_FAILED", errorCode: 29, retriable: false });
  assert.equal(seen["proxy gate"], seen["broker ACLs"], "the gate refuses as the broker's ACLs do");

  // Nothing reached the forbidden topic: empty on the ACL'd broker, never even created behind the gate.
  assert.equal(await readAll("broker ACLs", FORBIDDEN), [], `no record in ${FORBIDDEN}`);
  const behindGate = await kcatMetadata(open!.bootstrap);
  assert.not.ok(behindGate.topics.some((t) => t.topic === FORBIDDEN), `${FORBIDDEN} was never created behind the gate`);
  for (const path of paths) {
    assert.is((await readAll(path, ALLOWED)).filter((r) => r.payload === `after-refusal:${path}`).length, 1, `${path}: the record sent after the refusal`);
  }
});

it("a transactional id: an unlisted one is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED (not retriable) by the broker's TransactionalId ACL and by the gate's transactionalIds allow-list alike; the listed one commits and reads back read_committed", async () => {
  const seen: Record<string, { code: string; retriable: boolean }> = {};
  for (const path of paths) {
    const ok = producer(path, { transactionalId: TXN_OK });
    try {
      await within(ok.initTransactions(), 60_000, `initTransactions() with ${TXN_OK} (${path})`);
      ok.beginTransaction();
      await within(Promise.all(keyed(path, 10).map(({ key, value }) => ok.send({ topic: ALLOWED, key, value: `txn-${path}-${value}` }))), 60_000, `transactional sends (${path})`);
      await within(ok.commitTransaction(), 60_000, `commitTransaction() (${path})`);
    } finally {
      await within(ok.close(), 30_000, `close() of the transactional producer (${path})`);
    }
    const other = producer(path, { transactionalId: TXN_FORBIDDEN });
    try {
      const err = await refusal(other.initTransactions(), `initTransactions() with ${TXN_FORBIDDEN} (${path}) to fail`);
      seen[path] = { code: err.code, retriable: err.retriable };
    } finally {
      await within(other.close(), 30_000, `close() of the refused transactional producer (${path})`);
    }
  }
  assert.equal(seen["broker ACLs"], { code: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", retriable: false });
  assert.equal(seen["proxy gate"], seen["broker ACLs"], "the gate refuses an unlisted transactional id as the broker's ACLs do");
  for (const path of paths) {
    const ours = (await readAll(path, ALLOWED, { "isolation.level": "read_committed" })).filter((r) => r.payload?.startsWith(`txn-${path}-`));
    assert.is(ours.length, 10, `${path}: the committed transaction's 10 records, read_committed`);
  }
});

exitAfterSuite(test);
test.run();
