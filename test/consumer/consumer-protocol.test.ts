// ConsumerProtocolSubscription / ConsumerProtocolAssignment (the bytes inside JoinGroup and SyncGroup):
// golden bytes from Kafka's schema (ConsumerProtocolSubscription.json, ConsumerProtocolAssignment.json,
// hand-checked field by field), differential against KafkaJS's assignerProtocol, forward compatibility
// with newer versions, and malformed input only ever a PROTOCOL_ERROR.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { ClientError } from "../../src/errors.ts";
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type Subscription } from "../../src/protocol/consumer-protocol.ts";

const require = createRequire(import.meta.url);
const { MemberMetadata, MemberAssignment } = require("kafkajs/src/consumer/assignerProtocol");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/[\s|]/g, ""), "hex"));

const sub: Subscription = { topics: ["events", "ü"], userData: Uint8Array.from([0, 0, 0, 7]),
  ownedPartitions: [{ topic: "events", partitions: [0, 2] }], generationId: 7, rackId: "rack-a" };

test("Subscription v3 golden bytes: version, topics, user_data, owned_partitions, generation_id, rack_id in the schema's order", () => {
  const golden =
    "0003" +                                        // version 3
    "00000002 0006 6576656e7473 0002 c3bc" +        // topics ["events", "ü"]
    "00000004 00000007" +                           // user_data (4 bytes)
    "00000001 0006 6576656e7473 00000002 00000000 00000002" + // owned_partitions [events: 0, 2]
    "00000007" +                                    // generation_id 7
    "0006 7261636b2d61";                            // rack_id "rack-a"
  assert.is(hex(encodeSubscription(sub)), hex(bytes(golden)));
  const d = decodeSubscription(bytes(golden));
  assert.equal({ ...d, userData: hex(d.userData!) }, { ...sub, userData: "00000007", version: 3 });
});

test("Subscription v0-v2 carry only their version's fields; decoding fills the rest with Java's defaults", () => {
  assert.is(hex(encodeSubscription({ ...sub, userData: null }, 0)), "0000" + "00000002" + "00066576656e7473" + "0002c3bc" + "ffffffff");
  for (let v = 0; v <= 3; v++) {
    const d = decodeSubscription(encodeSubscription(sub, v));
    assert.is(d.version, v);
    assert.equal(d.ownedPartitions, v >= 1 ? sub.ownedPartitions : [], `v${v}`);
    assert.is(d.generationId, v >= 2 ? 7 : -1);
    assert.is(d.rackId, v >= 3 ? "rack-a" : null);
  }
});

test("Assignment golden bytes (same layout v0-v3) and empty SyncGroup bytes read as an empty assignment", () => {
  const a = { assignedPartitions: [{ topic: "events", partitions: [1, 3] }, { topic: "ü", partitions: [] }], userData: null };
  const golden = "0003" + "00000002" + "0006 6576656e7473 00000002 00000001 00000003" + "0002 c3bc 00000000" + "ffffffff";
  assert.is(hex(encodeAssignment(a)), hex(bytes(golden)));
  for (let v = 0; v <= 3; v++) assert.equal(decodeAssignment(encodeAssignment(a, v)), { ...a, version: v });
  assert.equal(decodeAssignment(new Uint8Array(0)), { version: 0, assignedPartitions: [], userData: null });
});

test("Subscription and assignment v0 bytes are identical to KafkaJS's MemberMetadata / MemberAssignment", () => {
  const ud = Buffer.from("hello");
  assert.is(hex(encodeSubscription({ topics: ["a", "events"], userData: ud, ownedPartitions: [], generationId: -1, rackId: null }, 0)),
    hex(MemberMetadata.encode({ version: 0, topics: ["a", "events"], userData: ud })));
  assert.is(hex(encodeAssignment({ assignedPartitions: [{ topic: "a", partitions: [0, 1] }, { topic: "events", partitions: [4] }], userData: ud }, 1)),
    hex(MemberAssignment.encode({ version: 1, assignment: { a: [0, 1], events: [4] }, userData: ud })));
});

test("KafkaJS reads our v3 subscription's topics and user data (its v0 reader ignores the newer fields), and we read KafkaJS's v1 subscription", () => {
  const d = MemberMetadata.decode(Buffer.from(encodeSubscription(sub)));
  assert.equal([d.version, d.topics, hex(d.userData)], [3, sub.topics, "00000007"]);
  // MemberMetadata.encode given version 1 writes v0's fields only (KafkaJS's assigners use v0): a v1 reader finds no owned_partitions
  const theirs = MemberMetadata.encode({ version: 1, topics: ["x"], userData: Buffer.alloc(0) });
  assert.throws(() => decodeSubscription(theirs), (e: ClientError) => e.code === "PROTOCOL_ERROR" && /owned_partitions/.test(e.message));
  assert.equal(decodeSubscription(MemberMetadata.encode({ version: 0, topics: ["x"], userData: Buffer.alloc(0) })).topics, ["x"]);
});

test("A newer version (v4 with an extra trailing field) is read as v3 and its extra bytes ignored, as Java's ConsumerProtocol does", () => {
  const v4 = Uint8Array.from([...encodeSubscription(sub)].map((b, i) => (i === 1 ? 4 : b)).concat([0, 0, 0, 9]));
  const d = decodeSubscription(v4);
  assert.equal([d.version, d.topics, d.generationId, d.rackId], [3, sub.topics, 7, "rack-a"]);
  const a = encodeAssignment({ assignedPartitions: [{ topic: "t", partitions: [0] }], userData: null });
  a[1] = 9;
  assert.equal(decodeAssignment(Uint8Array.from([...a, 1, 2])).assignedPartitions, [{ topic: "t", partitions: [0] }]);
});

test("Every truncation, a negative version and hostile counts are PROTOCOL_ERRORs, never another kind of throw", () => {
  const isProtocolError = (e: unknown) => e instanceof ClientError && e.code === "PROTOCOL_ERROR";
  const full = encodeSubscription(sub);
  for (let cut = 0; cut < full.length; cut++) assert.throws(() => decodeSubscription(full.subarray(0, cut)), isProtocolError, `subscription cut ${cut}`);
  const asg = encodeAssignment({ assignedPartitions: [{ topic: "events", partitions: [1, 3] }], userData: Uint8Array.of(1) });
  for (let cut = 1; cut < asg.length; cut++) assert.throws(() => decodeAssignment(asg.subarray(0, cut)), isProtocolError, `assignment cut ${cut}`);
  assert.throws(() => decodeSubscription(bytes("ffff 00000000 ffffffff")), isProtocolError);
  assert.throws(() => decodeSubscription(bytes("0000 7fffffff 0001 61")), (e: ClientError) => isProtocolError(e) && /cannot fit/.test(e.message));
  assert.throws(() => decodeAssignment(bytes("0000 00000001 0001 61 7fffffff 00000000")), (e: ClientError) => isProtocolError(e) && /cannot fit/.test(e.message));
});

test("Decoded user data is a copy: changing the JoinGroup frame afterwards does not change it", () => {
  const frame = encodeSubscription(sub);
  const d = decodeSubscription(frame);
  frame.fill(0);
  assert.is(hex(d.userData!), "00000007");
});

test.run();
