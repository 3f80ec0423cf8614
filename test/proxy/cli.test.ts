// `kafkasm proxy` as a process: listens, forwards, refuses, logs refusals, and shuts down on SIGTERM.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac, generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nextEvent, spawnChild, exitAfterSuite } from "../harness/bounded.ts";
import { echoServer, openWs, refusedStatus, until } from "./helpers.ts";

test("kafkasm proxy forwards to --allow brokers, refuses others with a logged reason, and exits 0 on SIGTERM", async () => {
  const echo = await echoServer();
  const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "proxy", "--listen", "127.0.0.1:0",
    "--allow", `127.0.0.1:${echo.port}`, "--api-keys", "all", "--token", "abc", "--quiet"]);
  try {
    await until(() => /listening on (ws:\/\/\S+)/.test(child.stdout), 30_000, "the listening line");
    const url = /listening on (ws:\/\/\S+)/.exec(child.stdout)![1];

    const ws = await openWs(`${url}/broker/127.0.0.1:${echo.port}?token=abc`);
    const got = nextEvent<[Buffer]>(ws, "message", 10_000, "the echoed bytes");
    ws.send(Buffer.from([1, 2, 3]));
    assert.equal([...(await got)[0]], [1, 2, 3]);

    assert.equal((await refusedStatus(`${url}/broker/127.0.0.1:1?token=abc`)).status, 403);
    assert.equal((await refusedStatus(`${url}/broker/127.0.0.1:${echo.port}`)).status, 401);
    await until(() => child.stderr.includes("TARGET_NOT_ALLOWED") && child.stderr.includes("BAD_TOKEN"), 10_000, "both refusals logged");

    const wsClosed = nextEvent<[number]>(ws, "close", 15_000, "the proxy to close the WebSocket on SIGTERM");
    child.process.kill("SIGTERM");
    assert.equal((await wsClosed)[0], 1001);
    assert.equal(await child.exited(15_000), 0);
    assert.match(child.stderr, /closed \(1 connections, 2 refused\)/);
  } finally {
    child.kill();
    await echo.close();
  }
});

test("kafkasm proxy without --allow is a usage error (exit 2)", async () => {
  const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "proxy"]);
  try {
    assert.equal(await child.exited(30_000), 2);
    assert.match(child.stderr, /--allow/);
  } finally {
    child.kill();
  }
});

test("kafkasm proxy with an empty --token or empty KAFKASM_PROXY_TOKEN refuses to start (exit 2) instead of running without auth", async () => {
  for (const [args, env] of [[["--token", ""], {}], [[], { KAFKASM_PROXY_TOKEN: "" }]] as const) {
    const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "proxy", "--listen", "127.0.0.1:0", "--allow", "127.0.0.1:9092", ...args],
      { env: { ...process.env, ...env } });
    try {
      assert.equal(await child.exited(30_000), 2, child.stderr);
      assert.match(child.stderr, /token.*empty/i);
      assert.not.match(child.stdout, /listening/);
    } finally {
      child.kill();
    }
  }
});

const cli = (args: string[], env: Record<string, string> = {}) => spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "proxy", "--listen", "127.0.0.1:0", ...args],
  { env: { ...process.env, ...env } });
const hs256 = (claims: Record<string, unknown>, secret: string) => {
  const input = `${Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
};

test("kafkasm proxy --jwt-secret-file/--jwt-jwks with --jwt-issuer/--jwt-audience: valid JWTs open, others are 401; --metrics serves Prometheus text to a valid JWT only", async () => {
  const echo = await echoServer();
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-cli-jwt-"));
  const secret = "cli-jwt-secret-of-at-least-32-bytes!!";
  writeFileSync(join(dir, "secret"), `${secret}\n`);
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "jwks.json"), JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: "jwk" }), kid: "k1" }] }));
  const exp = Math.floor(Date.now() / 1000) + 600;
  const rs256 = (claims: Record<string, unknown>) => {
    const input = `${Buffer.from(JSON.stringify({ alg: "RS256", kid: "k1" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${cryptoSign("sha256", Buffer.from(input), rsa.privateKey).toString("base64url")}`;
  };
  const runs: [string[], string, string][] = [
    [["--jwt-secret-file", join(dir, "secret"), "--jwt-issuer", "iss-a", "--metrics"], hs256({ iss: "iss-a", exp }, secret), hs256({ iss: "iss-b", exp }, secret)],
    [["--jwt-jwks", join(dir, "jwks.json"), "--jwt-audience", "proxy", "--metrics"], rs256({ aud: "proxy", exp }), rs256({ aud: "elsewhere", exp })],
  ];
  try {
    for (const [flags, good, bad] of runs) {
      const child = cli(["--allow", `127.0.0.1:${echo.port}`, "--api-keys", "all", "--quiet", ...flags]);
      try {
        await until(() => /listening on (ws:\/\/\S+)/.test(child.stdout), 30_000, "the listening line");
        const url = /listening on (ws:\/\/\S+)/.exec(child.stdout)![1];
        const ws = await openWs(`${url}/broker/127.0.0.1:${echo.port}`, { protocols: ["kafkasm", `kafkasm.bearer.${good}`] });
        ws.close();
        assert.is((await refusedStatus(`${url}/broker/127.0.0.1:${echo.port}`, { protocols: ["kafkasm", `kafkasm.bearer.${bad}`] })).status, 401);
        await until(() => /JWT refused: wrong (issuer|audience)/.test(child.stderr), 10_000, "the refusal's reason logged");
        assert.not.ok(child.stderr.includes(bad), "the token is not logged");
        const http = url.replace("ws", "http");
        assert.is((await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${bad}` } })).status, 401);
        const m = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${good}` } });
        assert.is(m.status, 200);
        // One refused upgrade, one refused /metrics.
        assert.match(await m.text(), /^kafkasm_proxy_refusals_total\{reason="BAD_TOKEN"\} 2$/m);
      } finally {
        child.kill();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await echo.close();
  }
});

test("kafkasm proxy upstream flags: a SASL password is taken from env or a file only, never a flag value; missing pieces are usage errors (exit 2)", async () => {
  const cases: [string[], RegExp][] = [
    [["--upstream-sasl-mechanism", "scram-sha-512", "--upstream-sasl-username", "bob"], /KAFKASM_UPSTREAM_SASL_PASSWORD or --upstream-sasl-password-file/],
    [["--upstream-sasl-mechanism", "scram-sha-512", "--upstream-sasl-username", "bob", "--upstream-sasl-password", "pw"], /Unknown option "--upstream-sasl-password"/],
    [["--upstream-sasl-mechanism", "gssapi", "--upstream-sasl-username", "bob"], /plain, scram-sha-256 or scram-sha-512/],
    [["--upstream-sasl-mechanism", "plain"], /needs --upstream-sasl-username/],
    [["--upstream-sasl-username", "bob"], /need --upstream-sasl-mechanism/],
    [["--upstream-cert", "/nonexistent.pem"], /--upstream-cert and --upstream-key go together/],
    [["--jwt-secret-file", "/nonexistent-secret"], /cannot read/],
    [["--token", "t", "--jwt-secret-file", "/dev/null"], /exclude each other/],
  ];
  for (const [flags, why] of cases) {
    const child = cli(["--allow", "127.0.0.1:9092", ...flags]);
    try {
      assert.is(await child.exited(30_000), 2, `${flags.join(" ")}: ${child.stderr}`);
      assert.match(child.stderr, why);
    } finally {
      child.kill();
    }
  }
});

exitAfterSuite(test);
test.run();
