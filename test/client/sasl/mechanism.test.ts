// PLAIN, the authenticate() driver and checkHandshake(), and the promise that secrets never show: not in
// errors, toString(), JSON.stringify, util.inspect (even with showHidden) of any mechanism object.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { inspect } from "node:util";
import { createRequire } from "node:module";
import { plain } from "../../../src/client/sasl/plain.ts";
import { scramSha256, scramSha512 } from "../../../src/client/sasl/scram.ts";
import { oauthBearer } from "../../../src/client/sasl/oauthbearer.ts";
import { mskIam } from "../../../src/client/sasl/msk-iam.ts";
import { authenticate, checkHandshake, type SaslMechanism } from "../../../src/client/sasl/mechanism.ts";
import { saslMechanism } from "../../../src/client/sasl/index.ts";
import { rejection, saslSend, text } from "./frames.ts";

const require = createRequire(import.meta.url);
const kafkajsPlain = require("kafkajs/src/protocol/sasl/plain/request.js");
const broker = { broker: "broker 3 (b3:9096)" };
const SECRET = "Sup3r-S3cret-Value";

test("PLAIN sends \\0username\\0password once (byte-identical to KafkaJS's encoder) and is done on the broker's empty answer", async () => {
  const sent: Uint8Array[] = [];
  const res = await authenticate(saslSend(1, () => ({ sessionLifetimeMs: 5000 }), sent), plain({ username: "alice", password: "pä$$" }), broker);
  assert.equal(res, { sessionLifetimeMs: 5000 });
  assert.is(sent.length, 1);
  const theirs = (await kafkajsPlain({ username: "alice", password: "pä$$" }).encode()).subarray(4);
  assert.is(Buffer.from(sent[0]).toString("hex"), Buffer.from(theirs).toString("hex"));
  assert.is(text(sent[0]), "\0alice\0pä$$");
});

test("PLAIN refuses a NUL inside the username or password (it would shift the fields), without echoing them", async () => {
  for (const opts of [{ username: "a\0b", password: "x" }, { username: "a", password: `${SECRET}\0` }]) {
    const e = await rejection(async () => plain(opts));
    assert.is(e.code, "INVALID_CONFIG");
    assert.not.match(e.message, SECRET);
  }
});

test("A wrong password fails at once: SASL_AUTHENTICATION_FAILED, not retriable, naming mechanism, broker and the broker's reason", async () => {
  let rounds = 0;
  const e = await rejection(() => authenticate(saslSend(2, () => (rounds++, { errorCode: 58, errorMessage: "Authentication failed: Invalid username or password" })),
    plain({ username: "alice", password: SECRET }), broker));
  assert.is(rounds, 1);
  assert.is(e.code, "SASL_AUTHENTICATION_FAILED");
  assert.is(e.retriable, false);
  assert.is(e.message, "SASL PLAIN authentication with broker 3 (b3:9096) failed: Authentication failed: Invalid username or password (SASL_AUTHENTICATION_FAILED 58)");
});

test("Other broker error codes come through as that KafkaError (ILLEGAL_SASL_STATE 34), with 'broker gave no reason' when the message is null", async () => {
  const e = await rejection(() => authenticate(saslSend(0, () => ({ errorCode: 34 })), plain({ username: "a", password: "b" }), broker));
  assert.is(e.code, "ILLEGAL_SASL_STATE");
  assert.is(e.errorCode, 34);
  assert.match(e.message, "broker gave no reason");
});

test("A broker that keeps challenging is cut off after 8 rounds with ILLEGAL_SASL_STATE", async () => {
  const endless: SaslMechanism = { mechanism: "X-ENDLESS", client: () => ({ start: async () => new Uint8Array(1), next: async () => new Uint8Array(1) }) };
  let rounds = 0;
  const e = await rejection(() => authenticate(saslSend(1, () => (rounds++, {})), endless, broker));
  assert.is(e.code, "ILLEGAL_SASL_STATE");
  assert.is(rounds, 8);
});

test("checkHandshake passes error 0 and turns UNSUPPORTED_SASL_MECHANISM into an error listing the listener's mechanisms", () => {
  checkHandshake({ errorCode: 0, mechanisms: ["PLAIN"] }, "PLAIN", broker);
  try {
    checkHandshake({ errorCode: 33, mechanisms: ["PLAIN", "SCRAM-SHA-256"] }, "SCRAM-SHA-512", broker);
    assert.unreachable();
  } catch (e: any) {
    assert.is(e.code, "UNSUPPORTED_SASL_MECHANISM");
    assert.is(e.message, "SASL SCRAM-SHA-512 authentication with broker 3 (b3:9096) failed: the listener does not enable SCRAM-SHA-512; it enables PLAIN, SCRAM-SHA-256");
  }
});

test("No mechanism object shows its secret in toString(), JSON.stringify, util.inspect (showHidden, any depth) or string concatenation", () => {
  const mechanisms: SaslMechanism[] = [
    plain({ username: "alice", password: SECRET }),
    scramSha256({ username: "alice", password: SECRET }),
    scramSha512({ username: "alice", password: SECRET, tokenAuth: true }),
    oauthBearer({ token: async () => ({ value: SECRET }) }),
    mskIam({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET, sessionToken: `${SECRET}-session` } }),
  ];
  for (const m of mechanisms) {
    const shown = [String(m), `${m}`, JSON.stringify(m), JSON.stringify({ sasl: m }), inspect(m), inspect(m, { showHidden: true, depth: Infinity }),
      inspect({ config: { sasl: m } }, { showHidden: true, depth: Infinity })];
    for (const s of shown) assert.not.match(s, "Sup3r", `${m.mechanism}: ${s}`);
    assert.match(JSON.stringify(m), m.mechanism === "OAUTHBEARER" ? "OAUTHBEARER" : m.mechanism);
  }
  assert.is(JSON.stringify(mechanisms[1]), '{"mechanism":"SCRAM-SHA-256","username":"alice"}');
  assert.is(inspect(mechanisms[4]), "{ mechanism: 'OAUTHBEARER (AWS MSK IAM)', region: 'eu-west-1' }");
});

test("saslMechanism maps a { mechanism, ... } option (any case) to its mechanism, passes a ready one through, and names the choices for an unknown one", () => {
  const creds = { username: "u", password: SECRET };
  assert.is(saslMechanism({ mechanism: "plain", ...creds }).mechanism, "PLAIN");
  assert.is(saslMechanism({ mechanism: "SCRAM-SHA-256", ...creds }).mechanism, "SCRAM-SHA-256");
  assert.is(saslMechanism({ mechanism: "scram-sha-512", ...creds }).mechanism, "SCRAM-SHA-512");
  assert.is(saslMechanism({ mechanism: "oauthbearer", token: async () => ({ value: "t" }) }).mechanism, "OAUTHBEARER");
  assert.is(saslMechanism({ mechanism: "aws-msk-iam", region: "us-east-1", credentials: { accessKeyId: "A", secretAccessKey: SECRET } }).mechanism, "OAUTHBEARER");
  const ready = plain(creds);
  assert.is(saslMechanism(ready), ready);
  try {
    saslMechanism({ mechanism: "gssapi" } as any);
    assert.unreachable();
  } catch (e: any) {
    assert.is(e.code, "INVALID_CONFIG");
    assert.match(e.message, 'Invalid sasl mechanism "gssapi": expected plain, scram-sha-256, scram-sha-512, oauthbearer or aws-msk-iam');
  }
});

test.run();
