// SigV4 presigning against AWS's published examples, and the MSK IAM token: the URL the AWS
// aws-msk-iam-sasl-signer libraries produce (checked as their own tests check it), its signature
// recomputed independently with node:crypto, expiry and refresh on an injected clock.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { amzDate, presign, uriEncode } from "../../../src/client/sasl/sigv4.ts";
import { mskIam, mskIamToken, MSK_TOKEN_EXPIRES_SECONDS } from "../../../src/client/sasl/msk-iam.ts";
import { authenticate } from "../../../src/client/sasl/mechanism.ts";
import { rejection, saslSend, text } from "./frames.ts";

const { vectors } = JSON.parse(readFileSync(new URL("../../fixtures/sasl/sigv4-vectors.json", import.meta.url), "utf8"));
const creds = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: "FwoGZXIvYXdzE+token/=" };
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

for (const v of vectors) {
  test(`SigV4 presign reproduces AWS's published signature: ${v.name}`, async () => {
    const signed = await presign({ method: v.method, host: v.host, path: v.path, query: v.query, headers: v.headers, region: v.region, service: v.service,
      credentials: { accessKeyId: v.accessKeyId, secretAccessKey: v.secretAccessKey }, date: Date.parse(v.date), expiresSeconds: v.expiresSeconds, payloadHash: v.payloadHash });
    if (v.canonicalRequest) assert.is(signed.canonicalRequest, v.canonicalRequest);
    assert.is(signed.signature, v.signature);
    assert.ok(signed.query.endsWith(`&X-Amz-Signature=${v.signature}`));
  });
}

test("uriEncode keeps only RFC 3986 unreserved characters; amzDate drops milliseconds", () => {
  assert.is(uriEncode("a-_.~Z09 /:+=!*'()"), "a-_.~Z09%20%2F%3A%2B%3D%21%2A%27%28%29");
  assert.is(amzDate(T0), "20240102T030405Z");
});

function decodeToken(value: string): URL {
  assert.match(value, /^[A-Za-z0-9_-]+$/, "base64url without padding");
  return new URL(Buffer.from(value, "base64url").toString("utf8"));
}

test("The MSK IAM token is a base64url presigned kafka-cluster:Connect URL with the parameters the AWS signer sets", async () => {
  const token = await mskIamToken({ region: "eu-west-1", credentials: creds, now: T0, userAgent: "kafkasm/0.1.0" });
  const url = decodeToken(token.value);
  assert.is(url.origin + url.pathname, "https://kafka.eu-west-1.amazonaws.com/");
  const q = url.searchParams;
  assert.is(q.get("Action"), "kafka-cluster:Connect");
  assert.is(q.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
  assert.is(q.get("X-Amz-Credential"), "AKIAIOSFODNN7EXAMPLE/20240102/eu-west-1/kafka-cluster/aws4_request");
  assert.is(q.get("X-Amz-Date"), "20240102T030405Z");
  assert.is(q.get("X-Amz-Expires"), "900");
  assert.is(q.get("X-Amz-Security-Token"), creds.sessionToken);
  assert.is(q.get("X-Amz-SignedHeaders"), "host");
  assert.is(q.get("User-Agent"), "kafkasm/0.1.0");
  assert.match(url.search, "Action=kafka-cluster%3AConnect"); // encoded as the signer's formatUrl does
  assert.is(token.expiresAt, Date.UTC(2024, 0, 2, 3, 4, 5) + MSK_TOKEN_EXPIRES_SECONDS * 1000);
});

test("The MSK IAM token's signature equals one computed independently with node:crypto from the URL's own parameters", async () => {
  for (const credentials of [creds, { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }]) {
    const url = decodeToken((await mskIamToken({ region: "us-east-1", credentials, now: T0 })).value);
    const params = [...url.searchParams].filter(([k]) => k !== "X-Amz-Signature" && k !== "User-Agent");
    assert.is(params.some(([k]) => k === "X-Amz-Security-Token"), "sessionToken" in credentials);
    const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
    const canonicalQuery = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join("&");
    const canonical = `GET\n/\n${canonicalQuery}\nhost:kafka.us-east-1.amazonaws.com\n\nhost\n${createHash("sha256").update("").digest("hex")}`;
    const sts = `AWS4-HMAC-SHA256\n20240102T030405Z\n20240102/us-east-1/kafka-cluster/aws4_request\n${createHash("sha256").update(canonical).digest("hex")}`;
    let key: Buffer = createHmac("sha256", `AWS4${credentials.secretAccessKey}`).update("20240102").digest();
    for (const part of ["us-east-1", "kafka-cluster", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
    assert.is(url.searchParams.get("X-Amz-Signature"), createHmac("sha256", key).update(sts).digest("hex"));
  }
});

test("mskIam authenticates over OAUTHBEARER with the signed token, and signs a new one after 80% of its 900 s (injected clock)", async () => {
  let now = T0, credentialCalls = 0;
  const m = mskIam({ region: "us-east-1", now: () => now, credentials: async () => (credentialCalls++, creds) });
  const sent: Uint8Array[] = [];
  await authenticate(saslSend(2, () => ({ sessionLifetimeMs: 600_000 }), sent), m, { broker: "b-1.msk:9098" });
  const first = text(sent[0]);
  assert.match(first, /^n,,\x01auth=Bearer [A-Za-z0-9_-]+\x01\x01$/);
  const token = (s: string) => s.slice("n,,\x01auth=Bearer ".length, -2);
  assert.is(decodeToken(token(first)).searchParams.get("X-Amz-Date"), "20240102T030405Z");
  now += 719_000;
  assert.is(token(text(await m.client({ broker: "b-2" }).start())), token(first));
  now += 1_000;
  const refreshed = token(text(await m.client({ broker: "b-2" }).start()));
  assert.is(decodeToken(refreshed).searchParams.get("X-Amz-Date"), "20240102T031605Z");
  assert.is(credentialCalls, 2);
});

test("MSK IAM options are checked: a region that is not a host label or missing credentials is INVALID_CONFIG without echoing the secret", async () => {
  for (const region of ["", "us-east-1.evil.com/", "US EAST", undefined]) {
    assert.is((await rejection(async () => mskIam({ region: region as string, credentials: creds }))).code, "INVALID_CONFIG", String(region));
  }
  const e = await rejection(async () => mskIam({ region: "us-east-1", credentials: { accessKeyId: "", secretAccessKey: "Sup3r" } }));
  assert.is(e.code, "INVALID_CONFIG");
  assert.not.match(e.message, "Sup3r");
  const late = await rejection(() => authenticate(saslSend(1, () => ({})), mskIam({ region: "us-east-1", credentials: async () => ({ accessKeyId: "A", secretAccessKey: "" }) }), { broker: "b" }));
  assert.is(late.code, "INVALID_CONFIG");
});

test.run();
