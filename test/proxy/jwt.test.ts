// JWT verification of browser tokens by the proxy: RS256/ES256/HS256 with keys made here, every
// refusal (401 BAD_TOKEN, the why in the log, never the token), per-token topic claims narrowing
// the gate end to end, and a token expiring while connected.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from "node:crypto";
import { WebSocket } from "ws";
import { Producer } from "../../src/index.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { encodeRequestFrame } from "../../src/protocol/frame.ts";
import { ApiVersions } from "../../src/protocol/api-versions.ts";
import { ClientError } from "../../src/errors.ts";
import type { ProxyLogEntry } from "../../src/proxy/proxy.ts";
import { exitAfterSuite, nextEvent, within } from "../harness/bounded.ts";
import { startCluster } from "../harness/cluster.ts";
import { consumeAll, queryOffsets } from "../harness/kcat.ts";
import { closed, echoServer, heldStub, logSink, manualClock, openWs, refusedStatus, sleep, startProxy, until } from "./helpers.ts";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const SECRET = "a-shared-hs256-secret-of-32-bytes-or-more!";
const rsaJwk = { ...rsa.publicKey.export({ format: "jwk" }), kid: "rsa-1" };
const ecJwk = { ...ec.publicKey.export({ format: "jwk" }), kid: "ec-1" };

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
type Signer = { alg: string; kid?: string; key?: KeyObject; secret?: string | Buffer };
const RS = (key: KeyObject = rsa.privateKey, kid = "rsa-1"): Signer => ({ alg: "RS256", kid, key });
const ES = (kid = "ec-1"): Signer => ({ alg: "ES256", kid, key: ec.privateKey });
const HS = (secret: string | Buffer = SECRET): Signer => ({ alg: "HS256", secret });

/** A compact JWS, signed with node:crypto (independently of the proxy's WebCrypto verifier). */
function jwt(claims: Record<string, unknown>, s: Signer, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: s.alg, typ: "JWT", ...(s.kid ? { kid: s.kid } : {}), ...header })}.${b64(claims)}`;
  const sig = s.alg === "HS256" ? createHmac("sha256", s.secret!).update(input).digest()
    : s.alg === "ES256" ? cryptoSign("sha256", Buffer.from(input), { key: s.key!, dsaEncoding: "ieee-p1363" })
      : s.alg === "none" ? Buffer.alloc(0) : cryptoSign("sha256", Buffer.from(input), s.key!);
  return `${input}.${sig.toString("base64url")}`;
}

const NOW_S = 1_700_000_000; // the proxy's manual clock, in seconds
const good = (extra: Record<string, unknown> = {}) => ({ iss: "https://issuer.example", aud: "kafkasm-proxy", iat: NOW_S - 10, exp: NOW_S + 600, ...extra });
const jwtOptions = { keys: { keys: [rsaJwk, ecJwk] }, secret: SECRET, issuer: "https://issuer.example", audience: ["kafkasm-proxy", "other"] };

test("accepts RS256, ES256 and HS256 tokens, by subprotocol, Authorization: Bearer and ?token=", async () => {
  const echo = await echoServer();
  const proxy = await startProxy({ apiKeys: "all", allow: [`127.0.0.1:${echo.port}`], jwt: jwtOptions, clock: manualClock(NOW_S * 1000), log: () => {} });
  try {
    const url = `${proxy.url}/broker/127.0.0.1:${echo.port}`;
    for (const [t, s] of [[jwt(good(), RS()), "RS256"], [jwt(good({ aud: ["x", "kafkasm-proxy"] }), ES()), "ES256"], [jwt(good(), HS()), "HS256"]] as const) {
      for (const ws of [
        await openWs(url, { protocols: ["kafkasm", `kafkasm.bearer.${t}`] }),
        await openWs(url, { headers: { authorization: `Bearer ${t}` } }),
        await openWs(`${url}?token=${t}`),
      ]) {
        assert.is(ws.readyState, WebSocket.OPEN, s);
        ws.close();
      }
    }
    assert.is(proxy.stats().refused.total, 0);
    assert.is(proxy.stats().connections.total, 9);
  } finally {
    await proxy.close();
    await echo.close();
  }
});

test("refuses every bad token with 401 BAD_TOKEN; the log names why and never carries the token", async () => {
  const echo = await echoServer();
  const sink = logSink();
  const proxy = await startProxy({ apiKeys: "all", allow: [`127.0.0.1:${echo.port}`], jwt: { ...jwtOptions, clockToleranceSec: 5 }, clock: manualClock(NOW_S * 1000), log: sink.log });
  const valid = jwt(good(), RS());
  const [h, p] = valid.split(".");
  const rsaPem = rsa.publicKey.export({ format: "pem", type: "spki" });
  const cases: [string, string, RegExp][] = [
    ["expired", jwt(good({ exp: NOW_S - 6 }), RS()), /expired/],
    ["not yet valid", jwt(good({ nbf: NOW_S + 60 }), ES()), /nbf/],
    ["issued in the future", jwt(good({ iat: NOW_S + 60 }), HS()), /iat/],
    ["bad signature (payload changed)", `${h}.${b64(good({ kafka_topics: ["*"] }))}.${valid.split(".")[2]}`, /bad signature/],
    ["signed by another RSA key", jwt(good(), RS(otherRsa.privateKey)), /bad signature/],
    ["wrong HS256 secret", jwt(good(), HS("another-secret-that-is-32-bytes-long!!")), /bad signature/],
    ["wrong issuer", jwt(good({ iss: "https://evil.example" }), RS()), /wrong issuer/],
    ["wrong audience", jwt(good({ aud: "someone-else" }), RS()), /wrong audience/],
    ["no audience", jwt(good({ aud: undefined }), RS()), /wrong audience/],
    ["alg none", `${b64({ alg: "none", typ: "JWT" })}.${p}.`, /algorithm "none" is not accepted/],
    // Algorithm confusion: an HS256 token whose HMAC key is the RSA public key (PEM and JWK text) finds no HS256 key that matches.
    ["HS256 keyed with the RSA public key PEM", jwt(good(), { alg: "HS256", kid: "rsa-1", secret: rsaPem }), /bad signature/],
    ["HS256 keyed with the RSA JWK", jwt(good(), { alg: "HS256", kid: "rsa-1", secret: JSON.stringify(rsaJwk) }), /bad signature/],
    ["ES256 header with an RSA signature", jwt(good(), { alg: "ES256", kid: "rsa-1", key: rsa.privateKey }, {}), /no ES256 key with kid|bad signature/],
    ["unknown kid", jwt(good(), RS(rsa.privateKey, "rsa-2")), /no RS256 key with kid/],
    ["no exp", jwt(good({ exp: undefined }), RS()), /no exp/],
    ["exp not a number", jwt(good({ exp: "tomorrow" }), RS()), /exp is not a number/],
    ["crit header", jwt(good(), RS(), { crit: ["b64"], b64: false }), /crit/],
    ["topics claim not a list", jwt(good({ kafka_topics: "web-*" }), RS()), /kafka_topics is not a list/],
    ["malformed", "not.a.jwt!", /malformed/],
    ["two parts", `${h}.${p}`, /malformed/],
    ["payload not JSON", `${h}.${b64("{nope")}.${valid.split(".")[2]}`, /not JSON/],
    ["over maxTokenLength", jwt(good({ pad: "x".repeat(9000) }), RS()), /over maxTokenLength 8192/],
  ];
  try {
    for (const [name, token, why] of cases) {
      sink.entries.length = 0;
      const r = await refusedStatus(`${proxy.url}/broker/127.0.0.1:${echo.port}`, { protocols: ["kafkasm", `kafkasm.bearer.${token}`] });
      assert.is(r.status, 401, name);
      assert.is(r.body.trim(), "BAD_TOKEN", name);
      const line = sink.entries.find((e) => e.event === "refused");
      assert.ok(line, name);
      assert.match(line!.detail ?? "", why, `${name}: ${line!.detail}`);
      assert.not.ok(JSON.stringify(sink.entries).includes(token), `${name}: the token is in the log`);
      assert.not.ok(JSON.stringify(sink.entries).includes(token.split(".")[2] || token), `${name}: the signature is in the log`);
    }
    assert.is((await refusedStatus(`${proxy.url}/broker/127.0.0.1:${echo.port}`)).status, 401, "no token at all");
    assert.is(proxy.stats().refused.byReason.BAD_TOKEN, cases.length + 1);
    assert.is(echo.sockets.size, 0, "no refused client reached the broker");
    // Within clockToleranceSec (5 s) of exp, the same token passes.
    const ws = await openWs(`${proxy.url}/broker/127.0.0.1:${echo.port}`, { protocols: ["kafkasm", `kafkasm.bearer.${jwt(good({ exp: NOW_S - 4 }), RS())}`] });
    ws.close();
  } finally {
    await proxy.close();
    await echo.close();
  }
});

test("bad jwt options are ClientError INVALID_CONFIG naming the option", async () => {
  const weakRsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{}, /no keys and no secret/],
    [{ secret: "short" }, /secret is under 32 bytes/],
    [{ keys: [rsa.privateKey.export({ format: "jwk" })] }, /private key/],
    [{ keys: [weakRsa] }, /under 2048 bits/],
    [{ keys: [{ ...rsaJwk, alg: "HS256" }] }, /verifies RS256 only/],
    [{ keys: [{ ...ecJwk, crv: "P-384" }] }, /P-256/],
    [{ keys: [rsaJwk], algorithms: ["none"] }, /algorithms has "none"/],
    [{ keys: Array.from({ length: 101 }, () => rsaJwk) }, /over 100/],
    [{ secret: SECRET, clockToleranceSec: -1 }, /clockToleranceSec/],
  ];
  for (const [jwtOpts, why] of cases) {
    try {
      await startProxy({ allow: ["127.0.0.1:9092"], jwt: jwtOpts as never, log: () => {} });
      assert.unreachable(JSON.stringify(jwtOpts).slice(0, 80));
    } catch (e) {
      assert.instance(e, ClientError);
      assert.is((e as ClientError).code, "INVALID_CONFIG");
      assert.match((e as Error).message, why);
    }
  }
  try {
    await startProxy({ allow: ["127.0.0.1:9092"], token: "t", jwt: { secret: SECRET }, log: () => {} });
    assert.unreachable("token and jwt");
  } catch (e) {
    assert.match((e as Error).message, /token and jwt are both set/);
  }
});

test("end to end: a token's kafka_topics claim narrows the proxy's topics for its connections (TOPIC_AUTHORIZATION_FAILED for the rest); a token without the claim gets the proxy's list", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "web-a", partitions: 1 }, { name: "web-b", partitions: 1 }, { name: "private", partitions: 1 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), topics: ["web-*"], jwt: { secret: SECRET }, log: () => {} });
  const now = Math.floor(Date.now() / 1000);
  const producerWith = (claims: Record<string, unknown>) => new Producer({
    brokers: [cluster.bootstrap], deliveryTimeoutMs: 30_000, requestTimeoutMs: 10_000, maxBlockMs: 20_000,
    transport: websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, token: jwt({ exp: now + 600, ...claims }, HS()), WebSocket: WebSocket as never }),
  });
  try {
    // Claims web-a and private: private is outside the proxy's web-*, so the intersection is web-a alone.
    const narrow = producerWith({ kafka_topics: ["web-a", "private"] });
    const [a, b, priv] = await within(Promise.allSettled([
      narrow.send({ topic: "web-a", value: "narrow-a" }),
      narrow.send({ topic: "web-b", value: "narrow-b" }),
      narrow.send({ topic: "private", value: "narrow-private" }),
    ]), 60_000, "the narrow producer's sends");
    assert.is(a.status, "fulfilled", String((a as PromiseRejectedResult).reason));
    for (const denied of [b, priv]) {
      assert.is(denied.status, "rejected");
      assert.is(((denied as PromiseRejectedResult).reason as { code: string }).code, "TOPIC_AUTHORIZATION_FAILED");
    }
    await within(narrow.close({ timeoutMs: 10_000 }), 20_000, "narrow.close()");

    const wide = producerWith({});
    const [wa, wb, wp] = await within(Promise.allSettled([
      wide.send({ topic: "web-a", value: "wide-a" }),
      wide.send({ topic: "web-b", value: "wide-b" }),
      wide.send({ topic: "private", value: "wide-private" }),
    ]), 60_000, "the wide producer's sends");
    assert.is(wa.status, "fulfilled");
    assert.is(wb.status, "fulfilled", String((wb as PromiseRejectedResult).reason));
    assert.is(((wp as PromiseRejectedResult).reason as { code: string }).code, "TOPIC_AUTHORIZATION_FAILED");
    await within(wide.close({ timeoutMs: 10_000 }), 20_000, "wide.close()");

    assert.equal((await consumeAll(cluster.bootstrap, "web-a", { count: 2 })).map((r) => r.payload).sort(), ["narrow-a", "wide-a"]);
    assert.equal((await consumeAll(cluster.bootstrap, "web-b", { count: 1 })).map((r) => r.payload), ["wide-b"]);
    assert.is((await queryOffsets(cluster.bootstrap, "private"))[0].high, 0, "nothing reached the private topic");
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

test("a kafka_transactional_ids claim narrows transactionalIds: InitProducerId for an id outside the claim is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED", async () => {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "txn-t", partitions: 1 }] });
  const proxy = await startProxy({ allow: cluster.brokers.map((b) => `${b.host}:${b.port}`), transactionalIds: ["app-*"], jwt: { secret: SECRET }, log: () => {} });
  const now = Math.floor(Date.now() / 1000);
  const token = jwt({ exp: now + 600, kafka_transactional_ids: ["app-1"] }, HS());
  const transport = websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, token, WebSocket: WebSocket as never });
  try {
    for (const [id, ok] of [["app-1", true], ["app-2", false]] as const) {
      const p = new Producer({ brokers: [cluster.bootstrap], transport, transactionalId: id, maxBlockMs: 20_000, requestTimeoutMs: 10_000 });
      const r = await within(p.initTransactions().then(() => "ok", (e: { code?: string }) => e.code), 60_000, `initTransactions(${id})`);
      assert.is(r, ok ? "ok" : "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", id);
      await within(p.close({ timeoutMs: 5000 }), 20_000, "close");
    }
  } finally {
    await proxy.close();
    await cluster.stop();
  }
});

test("a token expiring while connected: at exp no further request is read, the one in flight is answered, then the connection closes 1008 TOKEN_EXPIRED", async () => {
  const stub = await heldStub();
  const clock = manualClock(NOW_S * 1000);
  const sink = logSink();
  const proxy = await startProxy({ apiKeys: "all", allow: [`127.0.0.1:${stub.port}`], jwt: { secret: SECRET }, clock, log: sink.log });
  try {
    const ws = await openWs(`${proxy.url}/broker/127.0.0.1:${stub.port}`, { protocols: ["kafkasm", `kafkasm.bearer.${jwt({ exp: NOW_S + 60 }, HS())}`] });
    const request = (id: number) => encodeRequestFrame(ApiVersions, 0, id, "t", {} as never);
    ws.send(request(1));
    await until(() => stub.pending.length === 1, 10_000, "the first request at the broker");
    clock.advance(61_000);
    ws.send(request(2));
    await sleep(300);
    assert.is(stub.pending.length, 1, "a request sent after exp never reached the broker");
    assert.is(ws.readyState, WebSocket.OPEN, "open while a request is in flight");
    const answer = nextEvent<[Buffer]>(ws, "message", 10_000, "the answer to the in-flight request");
    const c = closed(ws);
    stub.answerNext();
    assert.is((await answer)[0].readInt32BE(4), 1);
    assert.equal(await c, { code: 1008, reason: "TOKEN_EXPIRED" });
    assert.ok(sink.entries.some((e: ProxyLogEntry) => e.event === "close" && e.detail === "token expired"));
    assert.is(proxy.stats().closed.byReason["token expired"], 1);
  } finally {
    await proxy.close();
    await stub.close();
  }
});

exitAfterSuite(test);
test.run();
