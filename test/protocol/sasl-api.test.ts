// SaslHandshake v0-1 and SaslAuthenticate v0-2: round trips in every version, golden bytes, and
// byte-exact comparison with two independent encoders (dev-only oracles): KafkaJS (SaslHandshake v0-1,
// SaslAuthenticate v0-1) and @platformatic/kafka (SaslHandshake v0-1, SaslAuthenticate v0-2).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, readRequestHeader, responseHeaderHasTags } from "../../src/protocol/frame.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { SaslHandshake, SaslHandshakeServer, type SaslHandshakeResponse } from "../../src/protocol/sasl-handshake.ts";
import { SaslAuthenticate, SaslAuthenticateServer, type SaslAuthenticateResponse } from "../../src/protocol/sasl-authenticate.ts";

const require = createRequire(import.meta.url);
const kjs = (p: string) => require(`kafkajs/src/protocol/${p}`);
const kjsFrame = kjs("request");
const kjsEncoder = kjs("encoder");
const pltRoot = new URL("../../node_modules/@platformatic/kafka/dist/", import.meta.url).href;
const plt = (p: string) => import(pltRoot + p);
const { Reader: PltReader } = await plt("protocol/reader.js");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const utf8 = (s: string) => new TextEncoder().encode(s);

const token = utf8("\0alice\0pä$$word");
const handshakeResponses: SaslHandshakeResponse[] = [
  { errorCode: 0, mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] },
  { errorCode: 33, mechanisms: [] },
];
const authResponses: SaslAuthenticateResponse[] = [
  { errorCode: 0, errorMessage: null, authBytes: utf8("r=abc,s=c2FsdA==,i=4096"), sessionLifetimeMs: 3_600_000 },
  { errorCode: 58, errorMessage: "Authentication failed: Invalid username or password", authBytes: new Uint8Array(0), sessionLifetimeMs: 0 },
];

function body(w: (w: Writer) => void): Uint8Array {
  const writer = new Writer();
  w(writer);
  return writer.finish();
}

test("SaslHandshake v0-v1 and SaslAuthenticate v0-v2 requests decode on the broker side to what was sent", () => {
  for (let v = 0; v <= 1; v++) {
    const frame = encodeRequestFrame(SaslHandshake, v, 7, "kafkasm", { mechanism: "SCRAM-SHA-512" });
    const { header, reader } = readRequestHeader(frame.subarray(4), () => SaslHandshake);
    assert.equal(header, { apiKey: 17, apiVersion: v, correlationId: 7, clientId: "kafkasm" });
    assert.equal(SaslHandshakeServer.decodeRequest(reader, v), { mechanism: "SCRAM-SHA-512" });
    reader.expectEnd("SaslHandshake request");
  }
  for (let v = 0; v <= 2; v++) {
    const frame = encodeRequestFrame(SaslAuthenticate, v, 8, "kafkasm", { authBytes: token });
    const { header, reader } = readRequestHeader(frame.subarray(4), () => SaslAuthenticate);
    assert.equal(header, { apiKey: 36, apiVersion: v, correlationId: 8, clientId: "kafkasm" });
    assert.is(hex(SaslAuthenticateServer.decodeRequest(reader, v).authBytes), hex(token));
    reader.expectEnd("SaslAuthenticate request");
  }
});

test("SaslHandshake and SaslAuthenticate responses keep every field through a round trip; v0 has no session lifetime", () => {
  for (let v = 0; v <= 1; v++) {
    for (const res of handshakeResponses) {
      assert.equal(decodeResponseFrame(SaslHandshake, v, encodeResponseFrame(SaslHandshakeServer, v, 1, res).subarray(4)), res);
    }
  }
  for (let v = 0; v <= 2; v++) {
    for (const res of authResponses) {
      const d = decodeResponseFrame(SaslAuthenticate, v, encodeResponseFrame(SaslAuthenticateServer, v, 1, res).subarray(4));
      assert.equal({ ...d, authBytes: hex(d.authBytes) },
        { ...res, authBytes: hex(res.authBytes), sessionLifetimeMs: v >= 1 ? res.sessionLifetimeMs : 0 }, `v${v}`);
    }
  }
});

test("SaslHandshake and SaslAuthenticate bodies match hand-written golden bytes", () => {
  assert.is(hex(body((w) => SaslHandshake.encodeRequest(w, 1, { mechanism: "PLAIN" }))), "0005" + hex(utf8("PLAIN")));
  // v0-1 BYTES: int32 length; v2 COMPACT_BYTES: uvarint(length + 1), then an empty tag section.
  assert.is(hex(body((w) => SaslAuthenticate.encodeRequest(w, 1, { authBytes: utf8("ab") }))), "000000026162");
  assert.is(hex(body((w) => SaslAuthenticate.encodeRequest(w, 2, { authBytes: utf8("ab") }))), "03616200");
  const v2 = SaslAuthenticate.decodeResponse(new Reader(Uint8Array.from(Buffer.from("003a" + "02" + "78" + "01" + "00000000000003e8" + "00", "hex"))), 2);
  assert.equal({ ...v2, authBytes: hex(v2.authBytes) }, { errorCode: 58, errorMessage: "x", authBytes: "", sessionLifetimeMs: 1000 });
  assert.is(ApiKey.SaslHandshake, 17);
  assert.is(ApiKey.SaslAuthenticate, 36);
});

test("SaslHandshake v0-v1 and SaslAuthenticate v0-v1 request frames are byte-identical to KafkaJS's", async () => {
  for (let v = 0; v <= 1; v++) {
    const ours = encodeRequestFrame(SaslHandshake, v, 42, "kafkasm-test", { mechanism: "SCRAM-SHA-256" });
    const theirs = await kjsFrame({ correlationId: 42, clientId: "kafkasm-test", request: kjs(`requests/saslHandshake/v${v}/request`)({ mechanism: "SCRAM-SHA-256" }) });
    assert.is(hex(ours), hex(theirs.buffer), `SaslHandshake v${v}`);
    const ours2 = encodeRequestFrame(SaslAuthenticate, v, 43, "kafkasm-test", { authBytes: token });
    // KafkaJS's mechanisms hand it BYTES already length-prefixed (its Encoder's writeBytes), written as is.
    const prefixed = new kjsEncoder().writeBytes(Buffer.from(token)).buffer;
    const theirs2 = await kjsFrame({ correlationId: 43, clientId: "kafkasm-test", request: kjs(`requests/saslAuthenticate/v${v}/request`)({ authBytes: prefixed }) });
    assert.is(hex(ours2), hex(theirs2.buffer), `SaslAuthenticate v${v}`);
  }
});

test("SaslHandshake and SaslAuthenticate responses we encode decode in KafkaJS to the same values", async () => {
  for (let v = 0; v <= 1; v++) {
    const d = await kjs(`requests/saslHandshake/v${v}/response`).decode(Buffer.from(encodeResponseFrame(SaslHandshakeServer, v, 1, handshakeResponses[0]).subarray(8)));
    assert.equal(d, { errorCode: 0, enabledMechanisms: handshakeResponses[0].mechanisms });
    const res = authResponses[1];
    const a = await kjs(`requests/saslAuthenticate/v${v}/response`).decode(Buffer.from(encodeResponseFrame(SaslAuthenticateServer, v, 1, authResponses[0]).subarray(8)));
    assert.is(a.errorCode, 0);
    // KafkaJS hands mechanisms the bytes with their int32 length prefix back on.
    assert.is(hex(a.authBytes.subarray(4)), hex(authResponses[0].authBytes));
    if (v >= 1) assert.is(a.sessionLifetimeMs, "3600000");
    const e = await kjs(`requests/saslAuthenticate/v${v}/response`).decode(Buffer.from(encodeResponseFrame(SaslAuthenticateServer, v, 1, res).subarray(8)));
    assert.equal([e.errorCode, e.errorMessage], [58, res.errorMessage]);
  }
});

test("SaslHandshake v0-v1 and SaslAuthenticate v0-v2 request bodies match @platformatic/kafka's, and its decoders read our responses", async () => {
  for (let v = 0; v <= 1; v++) {
    const m = await plt(`apis/security/sasl-handshake-v${v}.js`);
    assert.is(hex(body((w) => SaslHandshake.encodeRequest(w, v, { mechanism: "OAUTHBEARER" }))), hex(m.createRequest("OAUTHBEARER").buffer), `handshake v${v}`);
    const d = m.parseResponse(1, 17, v, PltReader.from(Buffer.from(encodeResponseFrame(SaslHandshakeServer, v, 1, handshakeResponses[0]).subarray(8))));
    assert.equal(d.mechanisms, handshakeResponses[0].mechanisms);
  }
  for (let v = 0; v <= 2; v++) {
    const m = await plt(`apis/security/sasl-authenticate-v${v}.js`);
    assert.is(hex(body((w) => SaslAuthenticate.encodeRequest(w, v, { authBytes: token }))), hex(m.createRequest(Buffer.from(token)).buffer), `authenticate v${v}`);
    const frame = encodeResponseFrame(SaslAuthenticateServer, v, 1, authResponses[0]);
    const d = m.parseResponse(1, 36, v, PltReader.from(Buffer.from(frame.subarray(8 + (responseHeaderHasTags(SaslAuthenticate, v) ? 1 : 0)))));
    assert.is(d.errorCode, 0);
    assert.is(hex(d.authBytes), hex(authResponses[0].authBytes));
    if (v >= 1) assert.is(Number(d.sessionLifetimeMs), 3_600_000);
  }
});

test("A truncated SaslAuthenticate response is a PROTOCOL_ERROR naming the field, not a crash", () => {
  const frame = encodeResponseFrame(SaslAuthenticateServer, 1, 1, authResponses[0]).subarray(4);
  try {
    decodeResponseFrame(SaslAuthenticate, 1, frame.subarray(0, frame.length - 3));
    assert.unreachable("decoded a truncated frame");
  } catch (e: any) {
    assert.is(e.code, "PROTOCOL_ERROR");
    assert.match(e.message, /session_lifetime_ms/);
  }
});

test.run();
