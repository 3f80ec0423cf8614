import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster } from "../fake/cluster.ts";
import { Brokers } from "../../src/client/brokers.ts";
import type { Connection } from "../../src/client/connection.ts";
import { ClientError, KafkaError, ErrorCode } from "../../src/errors.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { ManualClock, flush } from "../producer/helpers.ts";

function setup(authenticate: (conn: Connection) => Promise<void>) {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  const clock = new ManualClock();
  const [host, port] = cluster.bootstrap[0].split(":");
  const address = { host, port: Number(port), nodeId: -1 };
  const brokers = new Brokers({ brokers: [address], clientId: "test", requestTimeoutMs: 30_000, maxInFlight: 5, authenticate }, cluster.transport, clock);
  brokers.setBrokers([{ nodeId: 1, host, port: Number(port) }]);
  return { cluster, clock, brokers };
}

test("authenticate runs after ApiVersions (versions already negotiated) and the connection is ready only once it resolves", async () => {
  let release!: () => void;
  const seen: { apiVersionsRequests: number; versions: boolean }[] = [];
  const { cluster, brokers } = setup((conn) => {
    seen.push({ apiVersionsRequests: cluster.requestsOf(ApiKey.ApiVersions).length, versions: conn.versions !== undefined });
    return new Promise<void>((r) => { release = r; });
  });
  let ready = false;
  const connecting = brokers.connect(1).then((c) => { ready = true; return c; });
  for (let i = 0; i < 20 && seen.length === 0; i++) await flush();
  assert.equal(seen, [{ apiVersionsRequests: 1, versions: true }]);
  await flush();
  assert.is(ready, false, "not ready while authenticating");
  assert.is(brokers.ready(1), undefined, "ready() does not hand out a connection that is still authenticating");
  assert.is(seen.length, 1, "ready() while authenticating does not start a second attempt");
  release();
  const conn = await connecting;
  assert.is(brokers.ready(1), conn);
  brokers.close();
});

test("a failing authenticate fails the attempt with the hook's own error and closes the connection", async () => {
  const failure = new KafkaError(ErrorCode.SASL_AUTHENTICATION_FAILED, "Authentication failed: invalid credentials");
  let opened: Connection | undefined;
  const { brokers } = setup(async (conn) => { opened = conn; throw failure; });
  const e = await brokers.connect(1).catch((e) => e);
  assert.is(e, failure);
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.ok(opened?.isClosed, "the connection is closed");
  assert.is(brokers.ready(1), undefined);
  brokers.close();
});

test("a non-retriable authentication failure is not retried in a loop: the next attempt waits reconnect.backoff.ms, doubling per failure up to 1 s", async () => {
  let calls = 0;
  const { clock, brokers } = setup(async () => { calls++; throw new KafkaError(ErrorCode.SASL_AUTHENTICATION_FAILED, "Authentication failed"); });
  clock.randomValue = 0.5; // jitter factor 1
  await brokers.connect(1).catch(() => {});
  assert.is(calls, 1);
  const gaps: number[] = [];
  let last = clock.now();
  for (let round = 0; round < 6; round++) {
    // Asked again and again (as a sender's drain would), it opens no new connection before its retry time.
    for (let i = 0; i < 50; i++) { brokers.ready(1); await flush(1); }
    assert.is(calls, round + 1, `round ${round}: no attempt before the backoff passed`);
    const at = brokers.retryAt(1);
    gaps.push(at - last);
    await clock.advance(at - clock.now());
    brokers.ready(1);
    for (let i = 0; i < 20 && calls === round + 1; i++) await flush();
    last = clock.now();
  }
  assert.equal(gaps, [50, 100, 200, 400, 800, 1000]);
  brokers.close();
});

test("a ClientError thrown by the hook reaches the caller unchanged too", async () => {
  const failure = new ClientError("CONNECTION_ERROR", "hook gave up", { retriable: true });
  const { brokers } = setup(async () => { throw failure; });
  assert.is(await brokers.connect(1).catch((e) => e), failure);
  brokers.close();
});

test.run();
