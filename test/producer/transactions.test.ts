import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, ERR } from "../fake/cluster.ts";
import { ClientError, Producer, KafkaError, type ProducerOptions } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { decodeRecordBatches } from "../../src/protocol/record-batch.ts";

function setup(opts: Partial<ProducerOptions> = {}) {
  const cluster = new FakeCluster({ brokers: 2, topics: [{ name: "t", partitions: 2 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, transactionalId: "tx-1", retryBackoffMs: 5, ...opts });
  return { cluster, producer };
}
const txnOf = (c: FakeCluster) => (c as unknown as { transactions: Map<string, { producerId: number; ended: string[] }> }).transactions.get("tx-1")!;

test("a committed transaction: InitProducerId with the id, AddPartitionsToTxn before Produce, transactional batches, EndTxn commit", async () => {
  const { cluster, producer } = setup();
  await producer.initTransactions();
  producer.beginTransaction();
  const metas = await Promise.all([0, 1, 0].map((p, i) => producer.send({ topic: "t", value: `v${i}`, partition: p })));
  await producer.commitTransaction();
  assert.equal(metas.map((m) => m.offset), [0, 0, 1]);
  assert.equal(txnOf(cluster).ended, ["commit"]);
  const init = cluster.requestsOf(ApiKey.InitProducerId);
  assert.is(init.length, 1);
  assert.is(init[0].request.transactionalId, "tx-1");
  const order = cluster.requests.map((r) => r.apiKey).filter((k) => k === ApiKey.AddPartitionsToTxn || k === ApiKey.Produce || k === ApiKey.EndTxn);
  assert.is(order[0], ApiKey.AddPartitionsToTxn);
  assert.is(order.at(-1), ApiKey.EndTxn);
  for (const r of cluster.requestsOf(ApiKey.Produce)) {
    assert.is(r.request.transactionalId, "tx-1");
    for (const t of r.request.topics) for (const p of t.partitions) {
      const b = decodeRecordBatches(p.records)[0];
      assert.is((b.attributes & 0x10) !== 0, true, "transactional attribute");
      assert.is(b.producerId, txnOf(cluster).producerId);
    }
  }
  // A second transaction continues the sequences.
  producer.beginTransaction();
  await producer.send({ topic: "t", value: "next", partition: 0 });
  await producer.commitTransaction();
  assert.equal(txnOf(cluster).ended, ["commit", "commit"]);
  assert.equal(cluster.values("t", 0), ["v0", "v2", "next"]);
  await producer.close();
});

test("sends outside a transaction, and calls out of order, fail with ClientError INVALID_TXN_STATE (local, not a broker's answer)", async () => {
  const { producer } = setup();
  const e1 = await producer.send({ topic: "t", value: "x" }).catch((e) => e);
  assert.instance(e1, ClientError);
  assert.is(e1.code, "INVALID_TXN_STATE");
  assert.throws(() => producer.beginTransaction(), (e: unknown) => e instanceof ClientError && e.code === "INVALID_TXN_STATE" && /uninitialized/.test(e.message));
  await producer.initTransactions();
  await producer.commitTransaction().then(() => assert.unreachable(), (e) => assert.ok(e instanceof ClientError && e.code === "INVALID_TXN_STATE"));
  producer.beginTransaction();
  assert.throws(() => producer.beginTransaction(), (e: unknown) => e instanceof ClientError && e.code === "INVALID_TXN_STATE", "beginTransaction twice");
  await producer.abortTransaction();
  const e2 = await producer.send({ topic: "t", value: "x" }).catch((e) => e);
  assert.match(e2.message, /beginTransaction/);
  await producer.close();
});

test("abortTransaction: unsent records fail with TRANSACTION_ABORTED, sent ones are awaited, EndTxn aborts", async () => {
  const { cluster, producer } = setup({ lingerMs: 10_000 });
  await producer.initTransactions();
  producer.beginTransaction();
  const pending = producer.send({ topic: "t", value: "lingering", partition: 1 }).catch((e) => e);
  const e = await (async () => { await producer.abortTransaction(); return pending; })();
  assert.ok(e instanceof ClientError && e.code === "TRANSACTION_ABORTED");
  assert.equal(txnOf(cluster).ended, [], "nothing was added, so no EndTxn");
  producer.beginTransaction();
  const sending = producer.send({ topic: "t", value: "sent", partition: 0 });
  await producer.flush(); // no lingering
  assert.is((await sending).offset, 0);
  await producer.abortTransaction();
  assert.equal(txnOf(cluster).ended, ["abort"]);
  await producer.close();
});

test("a record failing inside a transaction makes commit reject; abort bumps the epoch; the next transaction works", async () => {
  const { cluster, producer } = setup({ retries: 0 });
  await producer.initTransactions();
  producer.beginTransaction();
  await producer.send({ topic: "t", value: "ok", partition: 0 });
  cluster.pushErrors(ApiKey.Produce, [ERR.MESSAGE_TOO_LARGE]);
  const failed = await producer.send({ topic: "t", value: "big", partition: 0 }).catch((e) => e);
  assert.is(failed.code, "MESSAGE_TOO_LARGE");
  const ce = await producer.commitTransaction().catch((e) => e);
  assert.is(ce.code, "MESSAGE_TOO_LARGE");
  await producer.abortTransaction();
  const inits = cluster.requestsOf(ApiKey.InitProducerId);
  assert.is(inits.length, 2, "epoch bumped after a sequenced batch failed");
  producer.beginTransaction();
  const m = await producer.send({ topic: "t", value: "again", partition: 0 });
  await producer.commitTransaction();
  assert.is(m.offset, 1);
  const last = decodeRecordBatches(cluster.requestsOf(ApiKey.Produce).at(-1)!.request.topics[0].partitions[0].records)[0];
  assert.is(last.baseSequence, 0);
  assert.is(last.producerEpoch, 1);
  await producer.close();
});

test("a Produce answered INVALID_TXN_STATE (Kafka 3.6: the partition's transaction not verified) fails its records without a retry, as Java's producer: commit rejects, abort bumps the epoch, the transaction run again lands each record once", async () => {
  const { cluster, producer } = setup(); // default retries: a retriable answer would be sent again
  await producer.initTransactions();
  producer.beginTransaction();
  cluster.pushErrors(ApiKey.Produce, [48]);
  const failed = await producer.send({ topic: "t", value: "v", partition: 0 }).catch((e) => e);
  assert.instance(failed, KafkaError);
  assert.is(failed.code, "INVALID_TXN_STATE");
  assert.is(cluster.requestsOf(ApiKey.Produce).length, 1, "not retried");
  assert.is((await producer.commitTransaction().catch((e) => e)).code, "INVALID_TXN_STATE", "the transaction is abortable");
  await producer.abortTransaction();
  assert.is(cluster.requestsOf(ApiKey.InitProducerId).length, 2, "epoch bumped: the failed batch had used sequence 0");
  producer.beginTransaction();
  await producer.send({ topic: "t", value: "v", partition: 0 });
  await producer.commitTransaction();
  assert.equal(txnOf(cluster).ended, ["abort", "commit"]);
  assert.equal(cluster.values("t", 0), ["v"]);
  await producer.close();
});

test("a second producer with the same transactionalId fences the first: its next commit fails fatally", async () => {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const a = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, transactionalId: "tx-1", retries: 0 });
  await a.initTransactions();
  a.beginTransaction();
  await a.send({ topic: "t", value: "a1" });
  const b = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, transactionalId: "tx-1" });
  await b.initTransactions();
  const e = await a.commitTransaction().catch((e) => e);
  assert.instance(e, KafkaError);
  assert.ok(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED"].includes(e.code), e.code);
  const e2 = await a.send({ topic: "t", value: "a2" }).catch((e) => e);
  assert.ok(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED"].includes(e2.code), e2.code);
  b.beginTransaction();
  await b.send({ topic: "t", value: "b1" });
  await b.commitTransaction();
  await a.close();
  await b.close();
});

test("transactions require idempotence and acks all", async () => {
  assert.throws(() => new Producer({ brokers: ["h:1"], transport: (() => {}) as never, transactionalId: "x", idempotent: false }), /require idempotence/);
  assert.throws(() => new Producer({ brokers: ["h:1"], transport: (() => {}) as never, transactionalId: "x", acks: 1 }), /require acks "all"/);
});

test.run();
