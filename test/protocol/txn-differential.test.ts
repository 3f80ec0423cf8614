// The transaction APIs against both oracles: KafkaJS (FindCoordinator v0-2, AddPartitionsToTxn v0-1,
// EndTxn v0-1) and @platformatic/kafka (FindCoordinator v0-6, AddPartitionsToTxn v0-3, EndTxn v0-4).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { encodeRequestFrame, encodeResponseFrame } from "../../src/protocol/frame.ts";
import { FindCoordinator, FindCoordinatorServer } from "../../src/protocol/find-coordinator.ts";
import { AddPartitionsToTxn, AddPartitionsToTxnServer } from "../../src/protocol/add-partitions-to-txn.ts";
import { EndTxn, EndTxnServer } from "../../src/protocol/end-txn.ts";
import { hex, ourBody, plt, theirParse } from "./platformatic-oracle.ts";

const require = createRequire(import.meta.url);
const kjs = (p: string) => require(`kafkajs/src/protocol/${p}`);

async function kjsFrame(request: unknown): Promise<string> {
  return hex((await kjs("request")({ correlationId: 5, clientId: "c", request })).buffer);
}

const coordinator = { key: "txn-1", nodeId: 2, host: "127.0.0.1", port: 9093, errorCode: 0, errorMessage: null };

test("FindCoordinator: requests match KafkaJS (v0-v2) and platformatic (v0-v6); responses decode to the same node", async () => {
  for (let v = 0; v <= 2; v++) {
    const theirs = kjs(`requests/findCoordinator/v${v}/request`)({ groupId: "txn-1", coordinatorKey: "txn-1", coordinatorType: 1 });
    assert.is(hex(encodeRequestFrame(FindCoordinator, v, 5, "c", { keyType: 1, keys: ["txn-1"] })), await kjsFrame(theirs), `kafkajs v${v}`);
    const d = await kjs(`requests/findCoordinator/v${v}/response`).decode(Buffer.from(encodeResponseFrame(FindCoordinatorServer, v, 1, { throttleTimeMs: 0, coordinators: [coordinator] }).subarray(8)));
    assert.equal(d.coordinator, { nodeId: 2, host: "127.0.0.1", port: 9093 });
  }
  for (let v = 0; v <= 6; v++) {
    const m = await plt(`apis/metadata/find-coordinator-v${v}.js`);
    assert.is(ourBody(FindCoordinator, v, { keyType: 1, keys: ["txn-1"] }), hex(m.createRequest(1, ["txn-1"]).buffer), `platformatic v${v}`);
    const d = theirParse(m, FindCoordinatorServer, v, { throttleTimeMs: 0, coordinators: [coordinator] });
    const c = d.coordinators ? d.coordinators[0] : d;
    assert.equal([c.nodeId, c.host, c.port, c.errorCode ?? 0], [2, "127.0.0.1", 9093, 0], `platformatic v${v}`);
    if (v >= 4) assert.is(c.key, "txn-1");
    else assert.is(c.key ?? "", "");
  }
});

test("AddPartitionsToTxn: requests match KafkaJS (v0-v1) and platformatic (v0-v3); responses decode to the same partition errors", async () => {
  const req = { transactionalId: "txn-1", producerId: 8589934593, producerEpoch: 3, topics: [{ name: "events", partitions: [0, 2] }] };
  const res = { throttleTimeMs: 0, results: [{ name: "events", results: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 2, errorCode: 0 }] }] };
  for (let v = 0; v <= 1; v++) {
    const theirs = kjs(`requests/addPartitionsToTxn/v${v}/request`)({ ...req, producerId: "8589934593", topics: [{ topic: "events", partitions: [0, 2] }] });
    assert.is(hex(encodeRequestFrame(AddPartitionsToTxn, v, 5, "c", req)), await kjsFrame(theirs), `kafkajs v${v}`);
    const d = await kjs(`requests/addPartitionsToTxn/v${v}/response`).decode(Buffer.from(encodeResponseFrame(AddPartitionsToTxnServer, v, 1, res).subarray(8)));
    assert.equal(d.errors, [{ topic: "events", partitionErrors: [{ partition: 0, errorCode: 0 }, { partition: 2, errorCode: 0 }] }]);
  }
  for (let v = 0; v <= 3; v++) {
    const m = await plt(`apis/producer/add-partitions-to-txn-v${v}.js`);
    const theirs = m.createRequest([{ ...req, producerId: 8589934593n }]);
    assert.is(ourBody(AddPartitionsToTxn, v, req), hex(theirs.buffer), `platformatic v${v}`);
    const d = theirParse(m, AddPartitionsToTxnServer, v, res);
    assert.equal(d.resultsByTransaction[0].topicResults.map((t: any) => [t.name, t.resultsByPartition.map((p: any) => [p.partitionIndex, p.partitionErrorCode])]),
      [["events", [[0, 0], [2, 0]]]], `platformatic v${v}`);
  }
});

test("EndTxn: requests match KafkaJS (v0-v1) and platformatic (v0-v4); responses decode to the same error code", async () => {
  const req = { transactionalId: "txn-1", producerId: 4000, producerEpoch: 3, committed: true };
  for (let v = 0; v <= 1; v++) {
    const theirs = kjs(`requests/endTxn/v${v}/request`)({ ...req, transactionResult: true });
    assert.is(hex(encodeRequestFrame(EndTxn, v, 5, "c", req)), await kjsFrame(theirs), `kafkajs v${v}`);
    const d = await kjs(`requests/endTxn/v${v}/response`).decode(Buffer.from(encodeResponseFrame(EndTxnServer, v, 1, { throttleTimeMs: 0, errorCode: 0, producerId: -1, producerEpoch: -1 }).subarray(8)));
    assert.is(d.errorCode, 0);
  }
  for (let v = 0; v <= 4; v++) {
    const m = await plt(`apis/producer/end-txn-v${v}.js`);
    assert.is(ourBody(EndTxn, v, req), hex(m.createRequest("txn-1", 4000n, 3, true).buffer), `platformatic v${v}`);
    const d = theirParse(m, EndTxnServer, v, { throttleTimeMs: 7, errorCode: 0, producerId: -1, producerEpoch: -1 });
    assert.equal([d.throttleTimeMs, d.errorCode], [7, 0]);
  }
});

test.run();
