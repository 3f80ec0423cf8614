import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientError } from "../../src/errors.ts";
import { decodeResponseFrame, encodeRequestFrame, negotiateVersion, readResponseCorrelationId } from "../../src/protocol/frame.ts";
import { Produce } from "../../src/protocol/produce.ts";
import { Metadata } from "../../src/protocol/metadata.ts";
import { ApiVersions } from "../../src/protocol/api-versions.ts";

function unsupported(fn: () => unknown, ...patterns: RegExp[]): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, "UNSUPPORTED_VERSION");
    for (const p of patterns) assert.match((e as Error).message, p);
    return;
  }
  assert.unreachable("expected UNSUPPORTED_VERSION");
}

test("negotiateVersion spans the librdkafka mock (Produce ≤ 7, Metadata ≤ 2) and Kafka 4.x (Produce 3-12, Metadata 4-13)", () => {
  assert.is(negotiateVersion(Produce, { minVersion: 0, maxVersion: 7 }), 7);
  assert.is(negotiateVersion(Metadata, { minVersion: 0, maxVersion: 2 }), 2);
  assert.is(negotiateVersion(Produce, { minVersion: 3, maxVersion: 12 }), 12);
  assert.is(negotiateVersion(Produce, { minVersion: 3, maxVersion: 13 }), 12);
  assert.is(negotiateVersion(Metadata, { minVersion: 4, maxVersion: 13 }), 12);
});

test("negotiateVersion fails with UNSUPPORTED_VERSION naming the API and both ranges", () => {
  unsupported(() => negotiateVersion(Produce, { minVersion: 0, maxVersion: 2 }), /Produce/, /v3-v12/, /v0-v2/);
  unsupported(() => negotiateVersion(Metadata, { minVersion: 13, maxVersion: 14 }), /Metadata/, /v0-v12/, /v13-v14/);
  unsupported(() => negotiateVersion(Produce, undefined), /does not list/);
});

test("encodeRequestFrame refuses a version outside what kafkasm implements", () => {
  unsupported(() => encodeRequestFrame(Produce, 2, 1, null, { transactionalId: null, acks: 1, timeoutMs: 1, topics: [] }), /Produce v2/);
});

test("a null client id is written as int16 -1 in the request header", () => {
  const f = encodeRequestFrame(ApiVersions, 0, 7, null, {});
  assert.equal([...f], [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff]);
});

test("decodeResponseFrame rejects trailing bytes (a version mix-up) and reads the correlation id", () => {
  const frame = Uint8Array.of(0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  assert.is(readResponseCorrelationId(frame), 42);
  assert.throws(() => decodeResponseFrame(ApiVersions, 1, frame), (e: any) => e.code === "PROTOCOL_ERROR" && /trailing/.test(e.message));
});

test.run();
