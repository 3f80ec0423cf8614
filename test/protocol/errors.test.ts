import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientError, KAFKA_ERRORS, KafkaError, KafkasmError, kafkaErrorFor, kafkaErrorInfo } from "../../src/errors.ts";
import { createRequire } from "node:module";

test("the table covers every code from -1 to 133 exactly once", () => {
  const codes = [...KAFKA_ERRORS.keys()].sort((a, b) => a - b);
  assert.equal(codes, Array.from({ length: 135 }, (_, i) => i - 1));
  const names = new Set([...KAFKA_ERRORS.values()].map((e) => e.name));
  assert.is(names.size, 135);
});

test("names, codes and retriable flags agree with KafkaJS's independent table wherever KafkaJS has the code", () => {
  const { errorCodes } = createRequire(import.meta.url)("kafkajs/src/protocol/error.js");
  let compared = 0;
  for (const e of errorCodes as { type: string; code: number; retriable: boolean }[]) {
    const ours = KAFKA_ERRORS.get(e.code);
    assert.ok(ours, `code ${e.code}`);
    // KafkaJS keeps pre-rename names for these (KIP-392, the group → coordinator renames).
    const renamed: Record<string, string> = { UNKNOWN: "UNKNOWN_SERVER_ERROR", NOT_LEADER_FOR_PARTITION: "NOT_LEADER_OR_FOLLOWER",
      GROUP_LOAD_IN_PROGRESS: "COORDINATOR_LOAD_IN_PROGRESS", GROUP_COORDINATOR_NOT_AVAILABLE: "COORDINATOR_NOT_AVAILABLE",
      NOT_COORDINATOR_FOR_GROUP: "NOT_COORDINATOR" };
    assert.is(ours.name, renamed[e.type] ?? e.type, `code ${e.code}`);
    assert.is(ours.retriable, e.retriable, `retriable of ${e.type}`);
    compared++;
  }
  assert.ok(compared > 80, `compared ${compared}`);
});

test("retriable flags follow Java's RetriableException hierarchy for the producer-relevant codes", () => {
  const retriable = ["NOT_LEADER_OR_FOLLOWER", "LEADER_NOT_AVAILABLE", "REQUEST_TIMED_OUT", "NETWORK_EXCEPTION", "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "UNKNOWN_TOPIC_OR_PARTITION", "KAFKA_STORAGE_ERROR", "CORRUPT_MESSAGE", "COORDINATOR_NOT_AVAILABLE",
    "NOT_COORDINATOR", "CONCURRENT_TRANSACTIONS", "FENCED_LEADER_EPOCH", "THROTTLING_QUOTA_EXCEEDED"];
  const fatal = ["NONE", "UNKNOWN_SERVER_ERROR", "MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "DUPLICATE_SEQUENCE_NUMBER", "INVALID_PRODUCER_EPOCH", "UNKNOWN_PRODUCER_ID", "TOPIC_AUTHORIZATION_FAILED", "INVALID_RECORD",
    "PRODUCER_FENCED", "TRANSACTION_ABORTABLE", "UNSUPPORTED_VERSION", "INVALID_REQUIRED_ACKS"];
  const byName = new Map([...KAFKA_ERRORS.values()].map((e) => [e.name, e]));
  for (const n of retriable) assert.is(byName.get(n)?.retriable, true, n);
  for (const n of fatal) assert.is(byName.get(n)?.retriable, false, n);
});

test("kafkaErrorFor builds a KafkaError with the name as code, the number, retriable and context", () => {
  const e = kafkaErrorFor(6, 'Produce to "events"/3 on broker 1');
  assert.instance(e, KafkaError);
  assert.instance(e, KafkasmError);
  assert.is(e.code, "NOT_LEADER_OR_FOLLOWER");
  assert.is(e.errorCode, 6);
  assert.is(e.retriable, true);
  assert.is(e.message, 'Produce to "events"/3 on broker 1: broker returned NOT_LEADER_OR_FOLLOWER (6)');
});

test("unknown codes are named UNKNOWN_ERROR_<n> and are not retriable", () => {
  const e = kafkaErrorFor(9999);
  assert.is(e.code, "UNKNOWN_ERROR_9999");
  assert.is(e.retriable, false);
  assert.is(kafkaErrorInfo(-2).retriable, false);
  assert.not.instance(e, ClientError);
});

test.run();
