// A producer across a KIP-368 re-authentication, on the fake cluster and a manual clock: records sent
// while the connection is exclusive go out as soon as it ends, not when some later timer (the delivery
// timeout) happens to wake the sender. The real-Kafka hang of real-sasl.test.ts "OAUTHBEARER with 4 s
// tokens" was this: a send landing during the re-authentication waited for deliveryTimeoutMs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, type RequestContext } from "../fake/cluster.ts";
import { ClientError, type KafkasmError, Producer } from "../../src/public.ts";
import { Brokers } from "../../src/client/brokers.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { ManualClock, flush } from "../producer/helpers.ts";
import { until } from "../harness/bounded.ts";
import "../../src/client/sasl/session.ts"; // loaded now, as a Producer's first connection would

const LIFETIME_MS = 10_000;

function saslCluster(clock: ManualClock, mechanisms = ["PLAIN"]) {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }], setTimeout: (fn, ms) => clock.setTimeout(fn, ms), now: clock.now });
  cluster.handle(ApiKey.SaslHandshake, () => ({ errorCode: 0, mechanisms }));
  let gate: Promise<void> | undefined;
  cluster.handle(ApiKey.SaslAuthenticate, async (_ctx: RequestContext) => {
    await gate;
    return { errorCode: 0, errorMessage: null, authBytes: new Uint8Array(0), sessionLifetimeMs: LIFETIME_MS };
  });
  /** Holds the answers to SaslAuthenticate until the returned function is called. */
  const holdAuthenticate = () => {
    let release!: () => void;
    gate = new Promise<void>((r) => { release = r; });
    return () => { gate = undefined; release(); };
  };
  return { cluster, holdAuthenticate };
}

/** Sends "before" and waits until it is acknowledged; `send` records each acknowledged value in `acked`. */
async function firstAcked(producer: Producer, clock: ManualClock) {
  const acked: string[] = [];
  const send = (value: string) => producer.send({ topic: "t", value }).then((m) => { acked.push(value); return m; });
  const first = send("before");
  // The codec compiles in real time; fake time moves 1 ms per step.
  for (let i = 0; i < 500 && acked.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 2));
    await clock.advance(1);
  }
  await first;
  return { acked, send };
}

test("a record sent while the connection re-authenticates is produced as soon as the re-authentication ends (not at deliveryTimeoutMs)", async () => {
  const clock = new ManualClock();
  const { cluster, holdAuthenticate } = saslCluster(clock);
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, clock, lingerMs: 5, deliveryTimeoutMs: 120_000,
    sasl: { mechanism: "plain", username: "alice", password: "alice-secret" } });
  const { acked, send } = await firstAcked(producer, clock);
  const handshakes = () => cluster.requestsOf(ApiKey.SaslHandshake).length;
  const produces = () => cluster.requestsOf(ApiKey.Produce).length;
  assert.is(handshakes(), 1);

  // Re-authentication starts at 85-95% of the session lifetime; its SaslAuthenticate is held.
  const release = holdAuthenticate();
  for (let i = 0; i < LIFETIME_MS / 100 && handshakes() === 1; i++) await clock.advance(100);
  assert.is(handshakes(), 2, "re-authenticating");
  const during = send("during");
  await clock.advance(50); // past lingerMs: the sender drains, finds the connection exclusive
  assert.is(produces(), 1, "nothing goes out while the connection re-authenticates");
  assert.equal(acked, ["before"]);

  release();
  await flush();
  await clock.advance(10); // far less than deliveryTimeoutMs (the only timer the sender had before the fix)
  assert.is(produces(), 2, "the held record went out once the re-authentication ended");
  await during;
  assert.equal(acked, ["before", "during"]);
  assert.equal(cluster.values("t", 0), ["before", "during"]);
  await producer.close();
});

test("a token provider that never answers a re-authentication: after 30 s the connection closes and the held record goes out on a new one once the provider answers", async () => {
  const clock = new ManualClock();
  const { cluster } = saslCluster(clock, ["OAUTHBEARER"]);
  let calls = 0;
  let answer: (() => void) | undefined;
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, clock, lingerMs: 5, deliveryTimeoutMs: 120_000,
    sasl: {
      mechanism: "oauthbearer", now: () => clock.now(),
      token: async () => {
        if (++calls === 2) await new Promise<void>((r) => { answer = r; });
        return { value: `token-${calls}`, expiresAt: clock.now() + LIFETIME_MS };
      },
    } });
  const { acked, send } = await firstAcked(producer, clock);
  for (let i = 0; i < LIFETIME_MS / 100 && calls < 2; i++) await clock.advance(100);
  assert.ok(answer, "re-authenticating, the provider asked again and not answering");
  const during = send("during");
  await clock.advance(50);
  const connections = () => cluster.requestsOf(ApiKey.ApiVersions).length;
  assert.is(connections(), 1);
  assert.is(cluster.requestsOf(ApiKey.Produce).length, 1, "held while re-authenticating");

  await clock.advance(30_000);
  assert.ok(connections() > 1, "the stuck connection was closed and new ones opened (the leader's, and one for the metadata refresh)");
  answer!();
  await flush();
  await clock.advance(1_000); // the new connections log in; backoffs (reconnect, metadata) pass
  assert.equal(acked, ["before", "during"]);
  await during;
  assert.equal(cluster.values("t", 0), ["before", "during"]);
  await producer.close();
});

test("a token provider that never answers the first login: the connection attempt fails after 30 s with a retriable CONNECTION_ERROR (not held open for ever)", async () => {
  const clock = new ManualClock();
  const { cluster } = saslCluster(clock, ["OAUTHBEARER"]);
  const [host, port] = cluster.bootstrap[0].split(":");
  const brokers = new Brokers({ brokers: [{ host, port: Number(port), nodeId: -1 }], clientId: "test", requestTimeoutMs: 30_000, maxInFlight: 5,
    sasl: { mechanism: "oauthbearer", token: () => { asked = true; return new Promise(() => {}); } } }, cluster.transport, clock);
  let asked = false;
  brokers.setBrokers([{ nodeId: 1, host, port: Number(port) }]);
  const outcome = brokers.connect(1).then(() => undefined, (e: KafkasmError) => e);
  // Connecting, ApiVersions and the handshake take real turns on the fake cluster: the login (and its timer) has started once the provider is asked.
  await until(() => asked, 10_000, "the token provider to be asked");
  await clock.advance(29_999);
  assert.is(await Promise.race([outcome, Promise.resolve("pending")]), "pending");
  await clock.advance(1);
  const e = await outcome;
  assert.instance(e, ClientError);
  assert.is(e!.code, "CONNECTION_ERROR");
  assert.is(e!.retriable, true);
  assert.match(e!.message, /SASL OAUTHBEARER authentication with broker 1 \(127\.0\.0\.1:\d+\) did not complete within 30000 ms/);
  brokers.close();
});

test.run();
