// SCRAM-SHA-256/512 (and SHA-1, to check RFC 5802's example): RFC test vectors, a full exchange against an
// independent SCRAM server written with node:crypto (test only), and every way a server can fail it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { ScramMechanism, saslName, scramSha256, scramSha512 } from "../../../src/client/sasl/scram.ts";
import { authenticate } from "../../../src/client/sasl/mechanism.ts";
import { bytes, rejection, saslSend, text } from "./frames.ts";

const { vectors } = JSON.parse(readFileSync(new URL("../../fixtures/sasl/scram-vectors.json", import.meta.url), "utf8"));
const broker = { broker: "broker 1 (localhost:9096)" };

for (const v of vectors) {
  test(`${v.mechanism}: the RFC example exchange is reproduced byte for byte and its server signature accepted`, async () => {
    const client = new ScramMechanism(v.mechanism, v.hash, { username: v.username, password: v.password, nonce: () => v.clientNonce }).client(broker);
    assert.is(text(await client.start()), v.clientFirst);
    assert.is(text((await client.next(bytes(v.serverFirst)))!), v.clientFinal);
    assert.is(await client.next(bytes(v.serverFinal)), null);
  });
}

/** A SCRAM server with node:crypto (RFC 5802 §3), independent of the WebCrypto client. */
function scramServer(algo: "sha256" | "sha512", username: string, password: string, iterations = 4096) {
  const salt = randomBytes(16);
  const size = algo === "sha256" ? 32 : 64;
  const salted = pbkdf2Sync(password, salt, iterations, size, algo);
  const storedKey = createHash(algo).update(createHmac(algo, salted).update("Client Key").digest()).digest();
  const serverKey = createHmac(algo, salted).update("Server Key").digest();
  let clientFirstBare = "", serverFirst = "";
  return (authBytes: Uint8Array, round: number) => {
    const msg = text(authBytes);
    if (round === 0) {
      assert.ok(msg.startsWith("n,,"), "gs2 header");
      clientFirstBare = msg.slice(3);
      const [n, r] = clientFirstBare.split(",");
      assert.is(n, `n=${saslName(username)}`);
      serverFirst = `${r}${randomBytes(12).toString("base64")},s=${salt.toString("base64")},i=${iterations}`;
      return { authBytes: bytes(serverFirst) };
    }
    const withoutProof = msg.slice(0, msg.lastIndexOf(",p="));
    const proof = Buffer.from(msg.slice(msg.lastIndexOf(",p=") + 3), "base64");
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = createHmac(algo, storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]));
    if (!timingSafeEqual(createHash(algo).update(clientKey).digest(), storedKey)) {
      return { errorCode: 58, errorMessage: "Authentication failed during authentication due to invalid credentials with SASL mechanism " + (algo === "sha256" ? "SCRAM-SHA-256" : "SCRAM-SHA-512") };
    }
    return { authBytes: bytes(`v=${createHmac(algo, serverKey).update(authMessage).digest("base64")}`), sessionLifetimeMs: 3_600_000 };
  };
}

test("SCRAM-SHA-512 and SCRAM-SHA-256 authenticate against a node:crypto SCRAM server over SaslAuthenticate v0-v2, with a username needing escapes and a non-ASCII password", async () => {
  for (const [factory, algo] of [[scramSha512, "sha512"], [scramSha256, "sha256"]] as const) {
    for (let version = 0; version <= 2; version++) {
      const user = "ali=ce,ops", password = "pä$$wörd 🔑";
      const result = await authenticate(saslSend(version, scramServer(algo, user, password, 8192)), factory({ username: user, password }), broker);
      assert.is(result.sessionLifetimeMs, version >= 1 ? 3_600_000 : 0, `${algo} v${version}`);
    }
  }
});

test("A wrong password fails with SASL_AUTHENTICATION_FAILED (58, not retriable) naming the mechanism, the broker and the broker's reason, never the password", async () => {
  const e = await rejection(() => authenticate(saslSend(2, scramServer("sha512", "alice", "right-password")), scramSha512({ username: "alice", password: "wrong-password" }), broker));
  assert.is(e.name, "KafkaError");
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.is(e.errorCode, 58);
  assert.is(e.retriable, false);
  assert.match(e.message, "SCRAM-SHA-512");
  assert.match(e.message, "broker 1 (localhost:9096)");
  assert.match(e.message, "invalid credentials");
  assert.not.match(e.message + e.stack, "password\"");
  assert.not.match(e.message + e.stack, "wrong-password");
});

test("A server signature that does not match is SASL_AUTHENTICATION_FAILED: the server does not know the credentials", async () => {
  const v = vectors[1];
  const client = new ScramMechanism(v.mechanism, v.hash, { username: v.username, password: v.password, nonce: () => v.clientNonce }).client(broker);
  await client.start();
  await client.next(bytes(v.serverFirst));
  const sig = Buffer.from(v.serverFinal.slice(2), "base64");
  sig[0] ^= 1;
  const e = await rejection(() => client.next(bytes(`v=${sig.toString("base64")}`)));
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.match(e.message, "invalid server signature");
});

test("Malformed or hostile server-first messages are refused, each naming why", async () => {
  const v = vectors[1];
  const cases: [string, RegExp][] = [
    ["e=unknown-user", /server error "unknown-user"/],
    ["m=ext,r=x,s=c2FsdA==,i=4096", /mandatory extension/],
    ["r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /does not extend the client nonce/],
    [`r=${v.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /does not extend the client nonce/],
    [`r=${v.clientNonce}x,s=not base64!,i=4096`, /salt is not base64/],
    [`r=${v.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095`, /below the minimum 4096/],
    [`r=${v.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=16385`, /above maxIterations 16384/],
    [`r=${v.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1`, /invalid iteration count/],
    [`r=${v.clientNonce}x,i=4096`, /malformed server-first-message/],
  ];
  for (const [serverFirst, why] of cases) {
    const client = scramSha256({ username: "user", password: "pencil", nonce: () => v.clientNonce }).client(broker);
    await client.start();
    const e = await rejection(() => client.next(bytes(serverFirst)));
    assert.is(e.code, "SASL_AUTHENTICATION_FAILED", serverFirst);
    assert.match(e.message, why, serverFirst);
    assert.not.match(e.message, "pencil");
  }
  const invalidUtf8 = scramSha256({ username: "user", password: "pencil" }).client(broker);
  await invalidUtf8.start();
  assert.match((await rejection(() => invalidUtf8.next(Uint8Array.of(0xff, 0xfe)))).message, /not UTF-8/);
});

test("A server-final e= error and a message after completion are refused (SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE)", async () => {
  const v = vectors[1];
  const mk = () => new ScramMechanism(v.mechanism, v.hash, { username: v.username, password: v.password, nonce: () => v.clientNonce }).client(broker);
  const a = mk();
  await a.start();
  await a.next(bytes(v.serverFirst));
  const e = await rejection(() => a.next(bytes("e=invalid-proof")));
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.match(e.message, 'server error "invalid-proof"');
  const b = mk();
  await b.start();
  await b.next(bytes(v.serverFirst));
  await b.next(bytes(v.serverFinal));
  assert.is((await rejection(() => b.next(bytes(v.serverFinal)))).code, "ILLEGAL_SASL_STATE");
});

test("maxIterations raises the bound a broker may ask for; 4096 ≤ maxIterations is enforced in the options", async () => {
  const v = vectors[1];
  const client = scramSha256({ username: "user", password: "pencil", nonce: () => v.clientNonce, maxIterations: 20000 }).client(broker);
  await client.start();
  assert.ok(await client.next(bytes(`r=${v.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=16385`)));
  assert.is((await rejection(async () => scramSha256({ username: "u", password: "p", maxIterations: 100 }))).code, "INVALID_CONFIG");
});

test("The username is an RFC 5802 saslname (',' → =2C, '=' → =3D); tokenAuth adds Kafka's tokenauth=true extension", async () => {
  assert.is(saslName("a=b,c=,"), "a=3Db=2Cc=3D=2C");
  const m = scramSha512({ username: "to,ken=id", password: "hmac", tokenAuth: true, nonce: () => "abc" });
  assert.is(text(await m.client(broker).start()), "n,,n=to=2Cken=3Did,r=abc,tokenauth=true");
});

test("The default client nonce is fresh per exchange: 32 base64 characters from crypto.getRandomValues", async () => {
  const m = scramSha256({ username: "u", password: "p" });
  const [a, b] = [text(await m.client(broker).start()), text(await m.client(broker).start())];
  assert.match(a, /^n,,n=u,r=[A-Za-z0-9+/]{32}$/);
  assert.is.not(a, b);
});

test("Missing or empty username/password is INVALID_CONFIG at construction, naming the field", async () => {
  for (const bad of [undefined, {}, { username: "", password: "x" }, { username: "u", password: "" }, { username: "u", password: 5 }]) {
    const e = await rejection(async () => scramSha256(bad as any));
    assert.is(e.code, "INVALID_CONFIG");
  }
  assert.match((await rejection(async () => scramSha256({ username: "u", password: "" }))).message, "password");
});

test.run();
