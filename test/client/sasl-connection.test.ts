// SASL on client connections, against the fake cluster with scripted SaslHandshake/SaslAuthenticate
// handlers: the order of the handshake, failures that fail at once (and the records waiting for them),
// and KIP-368 re-authentication on a manual clock with requests in flight.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeCluster, type RequestContext } from "../fake/cluster.ts";
import { Brokers } from "../../src/client/brokers.ts";
import { Connection } from "../../src/client/connection.ts";
import { ClientError, KafkaError, KafkasmError, Producer, type Transport } from "../../src/public.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { Metadata } from "../../src/protocol/metadata.ts";
import { ManualClock, flush } from "../producer/helpers.ts";
import type { SaslConfig } from "../../src/client/sasl/index.ts";
// Loaded now, as a Producer's first connection would: its dynamic import then resolves within microtasks.
import "../../src/client/sasl/session.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface Broker {
  mechanisms?: string[];
  /** Accepts the PLAIN message `\0user\0password`? */
  accept?: (authBytes: Uint8Array) => boolean;
  sessionLifetimeMs?: number;
}

function saslCluster(b: Broker = {}) {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 1 }] });
  cluster.handle(ApiKey.SaslHandshake, (ctx: RequestContext) => {
    const mechanisms = b.mechanisms ?? ["PLAIN", "OAUTHBEARER"];
    return { errorCode: mechanisms.includes(ctx.request.mechanism) ? 0 : 33, mechanisms };
  });
  cluster.handle(ApiKey.SaslAuthenticate, (ctx: RequestContext) => {
    const ok = (b.accept ?? (() => true))(ctx.request.authBytes);
    return ok
      ? { errorCode: 0, errorMessage: null, authBytes: new Uint8Array(0), sessionLifetimeMs: b.sessionLifetimeMs ?? 0 }
      : { errorCode: 58, errorMessage: "Authentication failed: Invalid username or password", authBytes: new Uint8Array(0), sessionLifetimeMs: 0 };
  });
  return cluster;
}

function brokersFor(cluster: FakeCluster, clock: ManualClock, sasl: SaslConfig, maxInFlight = 5) {
  const [host, port] = cluster.bootstrap[0].split(":");
  const brokers = new Brokers({ brokers: [{ host, port: Number(port), nodeId: -1 }], clientId: "test", requestTimeoutMs: 30_000, maxInFlight, sasl }, cluster.transport, clock);
  brokers.setBrokers([{ nodeId: 1, host, port: Number(port) }]);
  return brokers;
}

const apiOrder = (cluster: FakeCluster) => cluster.requests.map((r) => r.apiKey);
const PLAIN = { mechanism: "plain", username: "alice", password: "alice-secret" } as const;

test("the sasl option runs SaslHandshake v1 and SaslAuthenticate after ApiVersions, before any other request", async () => {
  const cluster = saslCluster();
  const brokers = brokersFor(cluster, new ManualClock(), PLAIN);
  const conn = await brokers.connect(1);
  await conn.request(Metadata, 12, { topics: ["t"], allowAutoTopicCreation: false });
  assert.equal(apiOrder(cluster), [ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate, ApiKey.Metadata]);
  const [hs] = cluster.requestsOf(ApiKey.SaslHandshake);
  assert.is(hs.apiVersion, 1);
  assert.is(hs.request.mechanism, "PLAIN");
  const [auth] = cluster.requestsOf(ApiKey.SaslAuthenticate);
  assert.is(auth.apiVersion, 2, "SaslAuthenticate at the highest version both sides support");
  assert.is(text(auth.request.authBytes), "\0alice\0alice-secret");
  brokers.close();
});

test("a wrong password fails the connection at once with a non-retriable SASL_AUTHENTICATION_FAILED naming the mechanism and broker, not the secret", async () => {
  const cluster = saslCluster({ accept: () => false });
  const brokers = brokersFor(cluster, new ManualClock(), PLAIN);
  const e = await brokers.connect(1).catch((e) => e);
  assert.instance(e, KafkaError);
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.is(e.retriable, false);
  assert.match(e.message, /SASL PLAIN authentication with broker 1 \(127\.0\.0\.1:9092\) failed: Authentication failed: Invalid username or password/);
  assert.not.match(e.message, /alice-secret/);
  assert.is(cluster.requestsOf(ApiKey.Metadata).length, 0, "nothing else was sent");
  brokers.close();
});

test("a mechanism the listener does not enable fails with UNSUPPORTED_SASL_MECHANISM naming the enabled ones", async () => {
  const cluster = saslCluster({ mechanisms: ["SCRAM-SHA-512"] });
  const brokers = brokersFor(cluster, new ManualClock(), PLAIN);
  const e = await brokers.connect(1).catch((e) => e);
  assert.is(e.code, "UNSUPPORTED_SASL_MECHANISM");
  assert.match(e.message, /does not enable PLAIN; it enables SCRAM-SHA-512/);
  brokers.close();
});

test("an invalid sasl option fails the first connection with INVALID_CONFIG (checked when the SASL chunk loads)", async () => {
  const cluster = saslCluster();
  const brokers = brokersFor(cluster, new ManualClock(), { mechanism: "gssapi" } as unknown as SaslConfig);
  const e = await brokers.connect(1).catch((e) => e);
  assert.instance(e, ClientError);
  assert.is(e.code, "INVALID_CONFIG");
  assert.is(e.retriable, false);
  brokers.close();
});

/** Holds Metadata responses until `release()`. */
function holdMetadata(cluster: FakeCluster) {
  const original = cluster.defaultHandler(ApiKey.Metadata)!;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  cluster.handle(ApiKey.Metadata, async (ctx) => { await gate; return original(ctx); });
  return () => release();
}

test("KIP-368: at 85-95% of the session lifetime the connection re-authenticates on the same socket, after the requests in flight and before those sent meanwhile; nothing is dropped", async () => {
  const cluster = saslCluster({ sessionLifetimeMs: 10_000 });
  const clock = new ManualClock();
  clock.randomValue = 0.5; // 85% + 0.5 × 10% = 90%
  const brokers = brokersFor(cluster, clock, PLAIN);
  const conn = await brokers.connect(1);
  const start = clock.now();
  assert.ok(clock.deadlines().includes(start + 9_000), `re-authentication at 9000 ms, timers: ${clock.deadlines().map((d) => d - start)}`);

  const release = holdMetadata(cluster);
  const results: string[] = [];
  const ask = (tag: string) => conn.request(Metadata, 12, { topics: ["t"], allowAutoTopicCreation: false }).then((r) => { results.push(tag); return r; });
  const inFlight = [ask("a"), ask("b"), ask("c")];
  await clock.advance(8_999);
  assert.is(cluster.requestsOf(ApiKey.SaslHandshake).length, 1, "not before 90%");
  await clock.advance(1);
  assert.is(conn.hasCapacity, false, "exclusive: the sender sees no capacity while re-authenticating");
  const later = ask("d");
  await flush();
  assert.is(cluster.requestsOf(ApiKey.SaslHandshake).length, 1, "waits for the 3 requests in flight");
  assert.is(conn.inFlight, 3, "the request sent meanwhile waits in the queue");

  release();
  await Promise.all([...inFlight, later]);
  assert.equal(results, ["a", "b", "c", "d"]);
  const order = apiOrder(cluster).slice(3); // after ApiVersions, SaslHandshake, SaslAuthenticate
  assert.equal(order, [ApiKey.Metadata, ApiKey.Metadata, ApiKey.Metadata, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate, ApiKey.Metadata]);
  assert.is(conn.isClosed, false);
  assert.is(brokers.ready(1), conn, "the same connection");
  assert.is(conn.hasCapacity, true);
  // The new session is re-authenticated again before it ends.
  assert.ok(clock.deadlines().includes(clock.now() + 9_000));
  await clock.advance(9_000);
  await flush();
  assert.is(cluster.requestsOf(ApiKey.SaslAuthenticate).length, 3);
  brokers.close();
  assert.equal(clock.deadlines().filter((d) => d > clock.now() + 30_000), [], "no re-authentication timer outlives close()");
});

test("KIP-368: a failed re-authentication closes the connection with a retriable error, so waiting requests retry on a new one", async () => {
  let accept = true;
  const cluster = saslCluster({ sessionLifetimeMs: 10_000, accept: () => accept });
  const clock = new ManualClock();
  const brokers = brokersFor(cluster, clock, PLAIN);
  const conn = await brokers.connect(1);
  accept = false;
  await clock.advance(9_000);
  await flush();
  assert.ok(conn.isClosed);
  const e = await conn.request(Metadata, 12, { topics: ["t"], allowAutoTopicCreation: false }).catch((e) => e);
  assert.is(e.code, "CONNECTION_ERROR");
  assert.is(e.retriable, true);
  assert.match(e.message, /Re-authentication with broker 1 \(127\.0\.0\.1:9092\) failed: SASL PLAIN/);
  brokers.close();
});

test("OAUTHBEARER: re-authentication asks the token provider again once the cached token is past its refresh point", async () => {
  const clock = new ManualClock();
  const tokens: string[] = [];
  const cluster = saslCluster({ sessionLifetimeMs: 10_000, accept: (b) => { tokens.push(text(b)); return true; } });
  let calls = 0;
  const brokers = brokersFor(cluster, clock, {
    mechanism: "oauthbearer", now: () => clock.now(),
    token: async () => ({ value: `token-${++calls}`, expiresAt: clock.now() + 10_000 }),
  });
  await brokers.connect(1);
  await clock.advance(9_000);
  await flush();
  assert.is(calls, 2);
  assert.equal(tokens.map((t) => /auth=Bearer ([^\x01]+)/.exec(t)?.[1]), ["token-1", "token-2"]);
  brokers.close();
});

test("a non-retriable error from the transport (TLS) reaches the caller as it is, not re-wrapped as retriable", async () => {
  const tlsFailure = new ClientError("CONNECTION_ERROR", "TLS to 127.0.0.1:9092 failed: the broker's certificate is not trusted", { retriable: false });
  const transport: Transport = () => Promise.reject(tlsFailure);
  const conn = new Connection({ host: "127.0.0.1", port: 9092, nodeId: -1 }, transport, { clientId: "t", requestTimeoutMs: 1000, maxInFlight: 1, clock: new ManualClock() });
  assert.is(await conn.connect().catch((e) => e), tlsFailure);
});

const sendFailsAtOnce = async (options: Record<string, unknown>, transport: Transport) => {
  const clock = new ManualClock();
  const producer = new Producer({ brokers: ["127.0.0.1:9092"], transport, clock, maxBlockMs: 60_000, ...options });
  const outcome = producer.send({ topic: "t", value: "v" }).then(() => undefined, (e: KafkasmError) => e);
  let e: KafkasmError | undefined;
  // Manual time in 100 ms steps, with real time in between for the codec to load.
  for (let i = 0; i < 50 && !e; i++) {
    await clock.advance(100);
    await new Promise((r) => setTimeout(r, 10));
    e = await Promise.race([outcome, Promise.resolve(undefined)]);
  }
  const elapsed = clock.now() - 1_700_000_000_000;
  void producer.close({ timeoutMs: 0 }).catch(() => {}); // not awaited: on the manual clock it would wait for time to pass
  return { e, elapsed };
};

test("records waiting for metadata fail at once (not after maxBlockMs) when the login is refused", async () => {
  const cluster = saslCluster({ accept: () => false });
  const { e, elapsed } = await sendFailsAtOnce({ sasl: PLAIN }, cluster.transport);
  assert.ok(e, "the send failed within 5 s of a 60 s maxBlockMs");
  assert.is(e!.code, "SASL_AUTHENTICATION_FAILED");
  assert.ok(elapsed < 10_000, `failed after ${elapsed} ms`);
  assert.not.match(e!.message, /alice-secret/);
});

test("records waiting for metadata fail at once when the transport's failure is not retriable (TLS)", async () => {
  const tlsFailure = new ClientError("CONNECTION_ERROR", "TLS to 127.0.0.1:9092 failed: the broker's certificate is not trusted", { retriable: false });
  const { e } = await sendFailsAtOnce({}, () => Promise.reject(tlsFailure));
  assert.is(e, tlsFailure);
});

test.run();
