// `kafkasm proxy` as a process: listens, forwards, refuses, logs refusals, and shuts down on SIGTERM.
import { test } from "uvu";
import * as assert from "uvu/assert";
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

exitAfterSuite(test);
test.run();
