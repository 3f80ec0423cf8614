// `kafkasm proxy` as a process: listens, forwards, refuses, logs refusals, and shuts down on SIGTERM.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { echoServer, openWs, refusedStatus, until } from "./helpers.ts";

test("kafkasm proxy forwards to --allow brokers, refuses others with a logged reason, and exits 0 on SIGTERM", async () => {
  const echo = await echoServer();
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "proxy", "--listen", "127.0.0.1:0",
    "--allow", `127.0.0.1:${echo.port}`, "--api-keys", "all", "--token", "abc", "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  await until(() => /listening on (ws:\/\/\S+)/.test(out), 15_000, "listening line");
  const url = /listening on (ws:\/\/\S+)/.exec(out)![1];

  const ws = await openWs(`${url}/broker/127.0.0.1:${echo.port}?token=abc`);
  const got = new Promise<Buffer>((r) => ws.once("message", (d: Buffer) => r(d)));
  ws.send(Buffer.from([1, 2, 3]));
  assert.equal([...(await got)], [1, 2, 3]);

  assert.equal((await refusedStatus(`${url}/broker/127.0.0.1:1?token=abc`)).status, 403);
  assert.equal((await refusedStatus(`${url}/broker/127.0.0.1:${echo.port}`)).status, 401);
  await until(() => err.includes("TARGET_NOT_ALLOWED") && err.includes("BAD_TOKEN"), 3000, "refusals logged");

  const wsClosed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
  child.kill("SIGTERM");
  assert.equal(await wsClosed, 1001);
  assert.equal(await exited, 0);
  assert.match(err, /closed \(1 connections, 2 refused\)/);
  await echo.close();
});

test("kafkasm proxy without --allow is a usage error (exit 2)", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "proxy"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  assert.equal(code, 2);
  assert.match(err, /--allow/);
});

test.run();
