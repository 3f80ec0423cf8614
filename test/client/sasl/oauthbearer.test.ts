// OAUTHBEARER: the client-first message (byte-identical to KafkaJS's encoder, a dev-only oracle), Kafka's
// extension rules, the refreshing token cache on an injected clock, and the JSON error path (\x01 reply).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { cachedTokenProvider, clientFirstMessage, oauthBearer, validateExtensions } from "../../../src/client/sasl/oauthbearer.ts";
import { authenticate } from "../../../src/client/sasl/mechanism.ts";
import { bytes, rejection, saslSend, text } from "./frames.ts";

const require = createRequire(import.meta.url);
const kafkajsOauth = require("kafkajs/src/protocol/sasl/oauthBearer/request.js");
const broker = { broker: "broker 2 (b2:9096)" };
const jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.";

test("The client-first message is n,,\\x01auth=Bearer <token>[\\x01k=v]*\\x01\\x01, byte-identical to KafkaJS's", async () => {
  for (const token of [{ value: jwt }, { value: jwt, extensions: { logicalCluster: "lkc-abc12", identityPoolId: "pool-Xy z" } }]) {
    const theirs = (await (await kafkajsOauth({}, token)).encode()).subarray(4); // KafkaJS prefixes the int32 length
    assert.is(Buffer.from(clientFirstMessage(token)).toString("hex"), Buffer.from(theirs).toString("hex"));
  }
  assert.is(text(clientFirstMessage({ value: "t0k", extensions: { a: "1" } })), "n,,\x01auth=Bearer t0k\x01a=1\x01\x01");
});

test("Extensions follow Kafka's rules: letters-only names, printable values, 'auth' reserved (INVALID_CONFIG naming the key, not the value)", () => {
  validateExtensions({ traceId: "x y\t!~" });
  for (const [ext, why] of [[{ auth: "x" }, /reserved/], [{ "trace-id": "x" }, /letters only/], [{ ok: "" }, /"ok"/], [{ ok: "a\x01b" }, /"ok"/], [{ ok: "ü" }, /"ok"/]] as const) {
    try {
      validateExtensions(ext as Record<string, string>);
      assert.unreachable(JSON.stringify(ext));
    } catch (e: any) {
      assert.is(e.code, "INVALID_CONFIG");
      assert.match(e.message, why);
      assert.not.match(e.message, "\x01");
    }
  }
});

test("A token that would break the message framing (space, \\x01, empty) is refused before sending", async () => {
  for (const value of ["", "a b", "a\x01b", "tok\x01auth=Bearer x"]) {
    const e = await rejection(() => authenticate(saslSend(1, () => ({})), oauthBearer({ token: async () => ({ value }) }), broker));
    assert.is(e.code, "INVALID_CONFIG", JSON.stringify(value));
  }
});

test("Success: the broker's empty answer ends the exchange; the session lifetime comes back for re-authentication", async () => {
  const sent: Uint8Array[] = [];
  const res = await authenticate(saslSend(2, () => ({ sessionLifetimeMs: 900_000 }), sent), oauthBearer({ token: async () => ({ value: jwt }) }), broker);
  assert.equal(res, { sessionLifetimeMs: 900_000 });
  assert.equal(sent.map(text), [`n,,\x01auth=Bearer ${jwt}\x01\x01`]);
});

test("A rejected token: the client answers the broker's JSON status with \\x01 and fails with SASL_AUTHENTICATION_FAILED carrying the status, not the token", async () => {
  const sent: Uint8Array[] = [];
  const status = JSON.stringify({ status: "invalid_token", scope: "kafka", "openid-configuration": "https://idp/.well-known" });
  const e = await rejection(() => authenticate(saslSend(1, (_, round) => round === 0
    ? { authBytes: bytes(status) }
    : { errorCode: 58, errorMessage: "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER" }, sent),
  oauthBearer({ token: async () => ({ value: "secret.jwt.value" }) }), broker));
  assert.equal(sent.slice(1).map((b) => [...b]), [[1]]);
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.match(e.message, "OAUTHBEARER");
  assert.match(e.message, "broker 2 (b2:9096)");
  assert.match(e.message, 'status="invalid_token"');
  assert.not.match(e.message, "secret.jwt.value");
});

test("A broker that accepts after sending an error status is refused anyway", async () => {
  const e = await rejection(() => authenticate(saslSend(1, (_, round) => (round === 0 ? { authBytes: bytes('{"status":"invalid_token"}') } : {})),
    oauthBearer({ token: async () => ({ value: jwt }) }), broker));
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.match(e.message, "invalid_token");
});

test("The token cache calls the provider again once 80% of the token's lifetime has passed (injected clock), not before", async () => {
  let now = 1_000_000, calls = 0;
  const provider = cachedTokenProvider(async () => ({ value: `t${++calls}`, expiresAt: now + 100_000 }), { now: () => now });
  assert.is((await provider()).value, "t1");
  now += 79_999;
  assert.is((await provider()).value, "t1");
  now += 1;
  assert.is((await provider()).value, "t2");
  assert.is(calls, 2);
});

test("The token cache shares one provider call among concurrent authentications and does not cache a failure", async () => {
  let calls = 0, fail = true, release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const provider = cachedTokenProvider(async () => {
    calls++;
    await gate;
    if (fail) throw new Error("idp down");
    return { value: "t", expiresAt: Date.now() + 60_000 };
  });
  const all = Promise.allSettled([provider(), provider(), provider()]);
  release();
  assert.equal((await all).map((r) => r.status), ["rejected", "rejected", "rejected"]);
  assert.is(calls, 1);
  fail = false;
  assert.is((await provider()).value, "t");
  assert.is(calls, 2);
});

test("Without expiresAt the provider is asked for every authentication", async () => {
  let calls = 0;
  const m = oauthBearer({ token: async () => ({ value: `t${++calls}` }) });
  await m.client(broker).start();
  await m.client(broker).start();
  assert.is(calls, 2);
});

test("A failing token provider fails the authentication with SASL_AUTHENTICATION_FAILED keeping the provider's error as cause", async () => {
  const cause = new Error("idp unreachable");
  const e = await rejection(() => authenticate(saslSend(1, () => ({})), oauthBearer({ token: async () => { throw cause; } }), broker));
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.match(e.message, "idp unreachable");
  assert.is(e.cause, cause);
});

test.run();
