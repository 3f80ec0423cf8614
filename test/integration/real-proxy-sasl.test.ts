// The proxy holding the cluster's credentials, against the real Apache Kafka 3.6.2: a SASL_SSL
// listener with a SCRAM-SHA-512 user (and a 6 s session lifetime, KIP-368) and a SASL_PLAINTEXT
// listener with PLAIN. The Producer in Node talks plain Kafka over a WebSocket with no credentials;
// the proxy dials TLS and authenticates itself. Records are read back with kcat's own SASL/TLS
// settings and with kafka-console-consumer.sh. Skipped without ../shared/kafka and java, and with
// KAFKA_BROKERS (its listeners are not ours).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WebSocket } from "ws";
import { Producer } from "../../src/index.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { encodeRequestFrame } from "../../src/protocol/frame.ts";
import { SaslHandshake } from "../../src/protocol/sasl-handshake.ts";
import type { KafkaProxy, ProxyLogEntry } from "../../src/proxy/proxy.ts";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { kafkaAvailable, startKafka, type Kafka } from "../harness/kafka.ts";
import { consumeAll } from "../harness/kcat.ts";
import { closed, logSink, openWs, refusedStatus, startProxy } from "../proxy/helpers.ts";
import { makePki, sslListenerProperties, type Pki } from "../transport/certs.ts";
import { assertExactlyOnceInKeyOrder } from "./helpers.ts";

const it = kafkaAvailable() && !process.env.KAFKA_BROKERS ? test : test.skip;

const SCRAM = { name: "bob", password: "bob-scram-secret-7f3a" };
const PLAIN = { name: "alice", password: "alice-plain-secret-91c2" };
const LIFETIME_MS = 6000;

let kafka: Kafka | undefined;
let pki: Pki | undefined;

test.before(async () => {
  if (!kafkaAvailable() || process.env.KAFKA_BROKERS) return;
  pki = makePki();
  kafka = await within(startKafka({
    listeners: { SASL_SSL: "SASL_SSL", SASL_PLAINTEXT: "SASL_PLAINTEXT" },
    scramUsers: [{ mechanism: "SCRAM-SHA-512", name: SCRAM.name, password: SCRAM.password }],
    properties: {
      ...sslListenerProperties(pki, "SASL_SSL"),
      "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
      "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_ssl.scram-sha-512.connections.max.reauth.ms": LIFETIME_MS,
      "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
      "listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_${PLAIN.name}="${PLAIN.password}";`,
    },
  }), 120_000, "Kafka with SASL listeners to start");
});

test.after(async () => {
  await kafka?.stop();
  pki?.remove();
});

const scramUpstream = (password = SCRAM.password) => ({ ssl: { ca: pki!.ca }, sasl: { mechanism: "scram-sha-512" as const, username: SCRAM.name, password } });
const plainUpstream = (password = PLAIN.password) => ({ sasl: { mechanism: "plain" as const, username: PLAIN.name, password } });
const kcatScram = () => ({ "security.protocol": "sasl_ssl", "ssl.ca.location": pki!.caFile, "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": SCRAM.name, "sasl.password": SCRAM.password });
const kcatPlain = () => ({ "security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN", "sasl.username": PLAIN.name, "sasl.password": PLAIN.password });

function viaProxy(proxy: KafkaProxy, broker: string, extra: Record<string, unknown> = {}): Producer {
  return new Producer({ brokers: [broker], lingerMs: 5, transport: websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never }), ...extra });
}
const keyed = (topic: string, n: number, from = 0) => Array.from({ length: n }, (_, j) => ({ topic, key: `k${(from + j) % 37}`, value: `k${(from + j) % 37}:${from + j}` }));
const secretFree = (entries: ProxyLogEntry[], secret: string) => {
  for (const e of entries) assert.not.ok(JSON.stringify(e).includes(secret), `log line carries the secret: ${JSON.stringify(e)}`);
};

it("SASL_SSL + SCRAM-SHA-512 done by the proxy: a credential-less Producer over WebSocket produces 2,000 records; kcat (sasl_ssl) and kafka-console-consumer.sh read them back", async () => {
  const sink = logSink();
  const broker = kafka!.listeners.SASL_SSL!;
  const proxy = await startProxy({ allow: [broker], upstream: scramUpstream(), log: sink.log });
  const producer = viaProxy(proxy, broker);
  try {
    const metas = await within(producer.sendBatch(keyed("sasl-scram", 2000)), 60_000, "sendBatch through the SCRAM proxy");
    assert.is(metas.length, 2000);
  } finally {
    await producer.close({ timeoutMs: 5000 });
    await proxy.close();
  }
  assertExactlyOnceInKeyOrder(await consumeAll(broker, "sasl-scram", { count: 2000, config: kcatScram(), timeoutMs: 30_000 }), 2000);
  const java = await kafka!.tools.consume("sasl-scram", { maxMessages: 2000 });
  assert.is(new Set(java.map((r) => r.value)).size, 2000);
  secretFree(sink.entries, SCRAM.password);
});

it("SASL_PLAINTEXT + PLAIN done by the proxy: records land; kcat with SASL PLAIN reads them back", async () => {
  const broker = kafka!.listeners.SASL_PLAINTEXT!;
  const proxy = await startProxy({ allow: [broker], upstream: plainUpstream(), log: () => {} });
  const producer = viaProxy(proxy, broker);
  try {
    await within(producer.sendBatch(keyed("sasl-plain", 500)), 60_000, "sendBatch through the PLAIN proxy");
  } finally {
    await producer.close({ timeoutMs: 5000 });
    await proxy.close();
  }
  assertExactlyOnceInKeyOrder(await consumeAll(broker, "sasl-plain", { count: 500, config: kcatPlain(), timeoutMs: 30_000 }), 500);
});

it("a wrong upstream password refuses the upgrade with 502 UPSTREAM_AUTH_FAILED; the log line names the mechanism and broker, never the password", async () => {
  for (const [broker, upstream, secret, mech] of [
    [kafka!.listeners.SASL_SSL!, scramUpstream("wrong-scram-pw-1234"), "wrong-scram-pw-1234", /SCRAM-SHA-512/],
    [kafka!.listeners.SASL_PLAINTEXT!, plainUpstream("wrong-plain-pw-5678"), "wrong-plain-pw-5678", /PLAIN/],
  ] as const) {
    const sink = logSink();
    const proxy = await startProxy({ allow: [broker], upstream, log: sink.log });
    try {
      const r = await refusedStatus(`${proxy.url}/broker/${broker}`, { protocols: ["kafkasm"] });
      assert.is(r.status, 502);
      assert.match(r.body, /UPSTREAM_AUTH_FAILED/);
      const line = sink.entries.find((e) => e.reason === "UPSTREAM_AUTH_FAILED");
      assert.ok(line, JSON.stringify(sink.entries));
      assert.match(line!.detail!, mech);
      assert.match(line!.detail!, /authentication with .* failed/);
      secretFree(sink.entries, secret);
      assert.is(proxy.stats().refused.byReason.UPSTREAM_AUTH_FAILED, 1);
    } finally {
      await proxy.close();
    }
  }
});

it("a client's own SaslHandshake is refused by the gate (1008 API_NOT_ALLOWED), even with apiKeys \"all\"", async () => {
  const broker = kafka!.listeners.SASL_PLAINTEXT!;
  const sink = logSink();
  const proxy = await startProxy({ allow: [broker], upstream: plainUpstream(), apiKeys: "all", log: sink.log });
  try {
    const ws = await openWs(`${proxy.url}/broker/${broker}`, { protocols: ["kafkasm"] });
    const closing = closed(ws);
    ws.send(encodeRequestFrame(SaslHandshake, 1, 7, "mallory", { mechanism: "PLAIN" }));
    const c = await closing;
    assert.is(c.code, 1008);
    assert.is(c.reason, "API_NOT_ALLOWED");
    assert.ok(sink.entries.some((e) => e.reason === "API_NOT_ALLOWED" && /SASL/.test(e.detail ?? "")));
  } finally {
    await proxy.close();
  }
});

it(`KIP-368: with a ${LIFETIME_MS / 1000} s session lifetime, connections drain and close (1012) before it ends; a producer sending for 14 s reconnects and loses or duplicates nothing`, async () => {
  const sink = logSink();
  const broker = kafka!.listeners.SASL_SSL!;
  const proxy = await startProxy({ allow: [broker], upstream: scramUpstream(), log: sink.log });
  const producer = viaProxy(proxy, broker, { retryBackoffMs: 50 });
  let sent = 0;
  try {
    const end = Date.now() + 14_000;
    while (Date.now() < end) {
      await within(producer.sendBatch(keyed("sasl-reauth", 50, sent)), 60_000, "a batch through the expiring proxy");
      sent += 50;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await producer.close({ timeoutMs: 5000 });
    await proxy.close();
  }
  const expired = sink.entries.filter((e) => e.event === "close" && e.detail === "session lifetime ends");
  assert.ok(expired.length >= 2, `closes before the session ended: ${expired.length}; ${JSON.stringify(sink.entries.filter((e) => e.event === "close"))}`);
  // The proxy closed first every time: the broker never had to drop a socket whose session had expired.
  assert.not.ok(sink.entries.some((e) => e.event === "close" && /^broker (closed|error)/.test(e.detail ?? "")), JSON.stringify(sink.entries.filter((e) => e.event === "close")));
  assertExactlyOnceInKeyOrder(await consumeAll(broker, "sasl-reauth", { count: sent, config: kcatScram(), timeoutMs: 30_000 }), sent);
});

exitAfterSuite(test);
test.run();
