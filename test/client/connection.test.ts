import { test } from "uvu";
import * as assert from "uvu/assert";
import { Connection } from "../../src/client/connection.ts";
import { ApiVersions, ApiVersionsServer, type ApiVersionsResponse } from "../../src/protocol/api-versions.ts";
import { encodeResponseFrame, readRequestHeader } from "../../src/protocol/frame.ts";
import type { Transport, TransportHandlers } from "../../src/transport/transport.ts";
import { ClientError } from "../../src/errors.ts";
import { ManualClock, flush } from "../producer/helpers.ts";

/** A transport whose "broker" is the test: it records written frames and lets the test push bytes. */
function scripted() {
  const s = {
    handlers: undefined as TransportHandlers | undefined,
    written: [] as Uint8Array[],
    closed: false,
    transport: (async (_addr, handlers) => {
      s.handlers = handlers;
      return {
        write: async (data: Uint8Array) => { s.written.push(data.slice()); },
        close: () => { s.closed = true; },
      };
    }) as Transport,
  };
  return s;
}

const response = (n: number): ApiVersionsResponse => ({
  errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: n }], throttleTimeMs: 0,
  supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false,
});

function correlationIdOf(frame: Uint8Array): number {
  return readRequestHeader(frame.subarray(4), () => ApiVersions as never).header.correlationId;
}

const addr = { host: "127.0.0.1", port: 9092, nodeId: 1 };

test("responses split at every byte boundary and coalesced in one chunk are reassembled and matched by correlation id", async () => {
  for (let split = 0; split < 40; split++) {
    const s = scripted();
    const clock = new ManualClock();
    const conn = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock });
    await conn.connect();
    const p1 = conn.request(ApiVersions, 1, {});
    const p2 = conn.request(ApiVersions, 1, {});
    await flush(1);
    assert.is(s.written.length, 2);
    const ids = s.written.map(correlationIdOf);
    // Answer out of order, both frames in one byte stream, cut at `split`.
    const bytes = new Uint8Array([...encodeResponseFrame(ApiVersionsServer, 1, ids[1], response(2)), ...encodeResponseFrame(ApiVersionsServer, 1, ids[0], response(1))]);
    const cut = Math.min(split, bytes.length);
    s.handlers!.onData(bytes.subarray(0, cut));
    for (let i = cut; i < bytes.length; i += 7) s.handlers!.onData(bytes.subarray(i, Math.min(bytes.length, i + 7)));
    const [r1, r2] = await Promise.all([p1, p2]);
    assert.is(r1.apiKeys[0].maxVersion, 1);
    assert.is(r2.apiKeys[0].maxVersion, 2);
    assert.is(conn.inFlight, 0);
  }
});

test("at most maxInFlight requests are written before responses arrive; the rest wait in order", async () => {
  const s = scripted();
  const clock = new ManualClock();
  const conn = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 2, clock });
  await conn.connect();
  const ps = [1, 2, 3, 4].map(() => conn.request(ApiVersions, 0, {}));
  await flush(1);
  assert.is(s.written.length, 2);
  assert.is(conn.hasCapacity, false);
  s.handlers!.onData(encodeResponseFrame(ApiVersionsServer, 0, correlationIdOf(s.written[0]), response(0)));
  await flush(1);
  assert.is(s.written.length, 3);
  for (const w of s.written.slice(1)) s.handlers!.onData(encodeResponseFrame(ApiVersionsServer, 0, correlationIdOf(w), response(0)));
  await flush(1);
  s.handlers!.onData(encodeResponseFrame(ApiVersionsServer, 0, correlationIdOf(s.written[3]), response(0)));
  await Promise.all(ps);
  assert.equal(s.written.map(correlationIdOf), [1, 2, 3, 4]);
});

test("a request without a response within requestTimeoutMs fails with retriable REQUEST_TIMEOUT and closes the connection, failing the others with CONNECTION_ERROR", async () => {
  const s = scripted();
  const clock = new ManualClock();
  const conn = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock });
  await conn.connect();
  const p1 = conn.request(ApiVersions, 0, {}).catch((e) => e);
  await clock.advance(500);
  const p2 = conn.request(ApiVersions, 0, {}).catch((e) => e);
  await clock.advance(499);
  assert.is(conn.isClosed, false);
  await clock.advance(1);
  const [e1, e2] = await Promise.all([p1, p2]);
  assert.instance(e1, ClientError);
  assert.is(e1.code, "REQUEST_TIMEOUT");
  assert.is(e1.retriable, true);
  assert.is(e2.code, "CONNECTION_ERROR");
  assert.is(e2.retriable, true);
  assert.is(s.closed, true);
});

test("each request gets its own requestTimeoutMs: a later request answered in time is not failed by an earlier one's deadline, and times out at its own", async () => {
  const s = scripted();
  const clock = new ManualClock();
  const conn = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock });
  await conn.connect();
  const p1 = conn.request(ApiVersions, 0, {});
  await clock.advance(600);
  const p2 = conn.request(ApiVersions, 0, {}).catch((e) => e);
  await flush();
  s.handlers!.onData(encodeResponseFrame(ApiVersionsServer, 0, correlationIdOf(s.written[0]!), response(3)));
  assert.is((await p1).errorCode, 0);
  await clock.advance(500); // past the first request's deadline: the second still has 500 ms
  assert.is(conn.isClosed, false, "the second request is not timed out at the first one's deadline");
  await clock.advance(499);
  assert.is(conn.isClosed, false);
  await clock.advance(1);
  const e2 = await p2;
  assert.is(e2.code, "REQUEST_TIMEOUT");
  assert.is(conn.isClosed, true);
  // One timer per connection, not one per request (each costs allocations and a timer-heap insert).
  const conn2 = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock });
  await conn2.connect();
  let armed = 0;
  const setTimeout = clock.setTimeout;
  clock.setTimeout = (fn, ms) => (armed++, setTimeout(fn, ms));
  for (let i = 0; i < 20; i++) {
    const p = conn2.request(ApiVersions, 0, {});
    await flush();
    s.handlers!.onData(encodeResponseFrame(ApiVersionsServer, 0, correlationIdOf(s.written.at(-1)!), response(3)));
    await p;
  }
  assert.ok(armed <= 1, `${armed} timers armed for 20 requests answered in time`);
  conn2.close();
});

test("connection loss fails in-flight requests with a retriable CONNECTION_ERROR; a request without a response resolves once written", async () => {
  const s = scripted();
  const clock = new ManualClock();
  let closedWith: unknown = "not called";
  const conn = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock }, (_c, e) => { closedWith = e; });
  await conn.connect();
  const fireAndForget = await conn.request(ApiVersions, 0, {}, false);
  assert.is(fireAndForget, undefined);
  assert.is(conn.inFlight, 0);
  const p = conn.request(ApiVersions, 0, {}).catch((e) => e);
  await flush(1);
  s.handlers!.onClose(new Error("ECONNRESET"));
  const e = await p;
  assert.is(e.code, "CONNECTION_ERROR");
  assert.is(e.retriable, true);
  assert.match(e.message, /ECONNRESET/);
  assert.is((closedWith as ClientError).code, "CONNECTION_ERROR");
  const after = await conn.request(ApiVersions, 0, {}).catch((e) => e);
  assert.is(after.code, "CONNECTION_ERROR");
});

test("a frame with an absurd size or an unknown correlation id is a PROTOCOL_ERROR, not a hang", async () => {
  for (const bytes of [new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0]), new Uint8Array([0, 0, 0, 4, 0, 0, 0x30, 0x39])]) {
    const s = scripted();
    const conn = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock: new ManualClock() });
    await conn.connect();
    const p = conn.request(ApiVersions, 0, {}).catch((e) => e);
    s.handlers!.onData(bytes);
    const e = await p;
    assert.is(e.code, "PROTOCOL_ERROR");
  }
});

test("a connect failure is a retriable CONNECTION_ERROR naming the address", async () => {
  const failing: Transport = async () => { throw new Error("ECONNREFUSED"); };
  const conn = new Connection(addr, failing, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock: new ManualClock() });
  const e = await conn.connect().catch((e) => e);
  assert.is(e.code, "CONNECTION_ERROR");
  assert.is(e.retriable, true);
  assert.match(e.message, /127\.0\.0\.1:9092/);
});

test("an answer to a request sent without expecting one (acks 0 on librdkafka's mock) is ignored; an undecodable body fails only its request", async () => {
  const s = scripted();
  const conn = new Connection(addr, s.transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 5, clock: new ManualClock() });
  await conn.connect();
  await conn.request(ApiVersions, 0, {}, false);
  const p1 = conn.request(ApiVersions, 0, {}).catch((e) => e);
  const p2 = conn.request(ApiVersions, 0, {});
  await flush(1);
  const ids = s.written.map(correlationIdOf);
  s.handlers!.onData(encodeResponseFrame(ApiVersionsServer, 0, ids[0], response(0)));
  // A body that does not parse as ApiVersions v0 (trailing garbage), then a good answer.
  const bad = encodeResponseFrame(ApiVersionsServer, 0, ids[1], response(0));
  const badPadded = new Uint8Array(bad.length + 3);
  badPadded.set(bad);
  new DataView(badPadded.buffer).setInt32(0, bad.length - 4 + 3);
  s.handlers!.onData(badPadded);
  s.handlers!.onData(encodeResponseFrame(ApiVersionsServer, 0, ids[2], response(3)));
  const e1 = await p1;
  assert.is(e1.code, "PROTOCOL_ERROR");
  assert.is((await p2).apiKeys[0].maxVersion, 3);
  assert.is(conn.isClosed, false);
});

test.run();
