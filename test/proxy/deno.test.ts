// `kafkasm proxy` under Deno (its Node compatibility runs the same node:http + node:net + ws code):
// the whole proxy test file passes inside Deno, and the command forwards and shuts down on SIGTERM.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { echoServer, openWs, refusedStatus, until } from "./helpers.ts";

const root = join(import.meta.dirname, "..", "..");
const deno = join(root, "node_modules", ".bin", "deno");
const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };

test("every proxy test (refusals, limits, backpressure, broker loss, shutdown) passes when run by Deno", async () => {
  const child = spawn(deno, ["run", "-A", "--quiet", "test/proxy/proxy.test.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  assert.equal(code, 0, out.slice(-3000));
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1]);
  const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1]);
  assert.ok(total >= 16 && passed === total, out.slice(-3000));
});

test("deno run src/cli/main.ts proxy forwards to --allow brokers, refuses others, exits 0 on SIGTERM", async () => {
  const echo = await echoServer();
  const child = spawn(deno, ["run", "-A", "--quiet", "src/cli/main.ts", "proxy", "--listen", "127.0.0.1:0", "--allow", `127.0.0.1:${echo.port}`, "--api-keys", "all", "--quiet"],
    { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  await until(() => /listening on (ws:\/\/\S+)/.test(out), 20_000, `listening line (${err})`);
  const url = /listening on (ws:\/\/\S+)/.exec(out)![1];
  const ws = await openWs(`${url}/broker/127.0.0.1:${echo.port}`);
  const got = new Promise<Buffer>((r) => ws.once("message", (d: Buffer) => r(d)));
  ws.send(Buffer.from([4, 5, 6]));
  assert.equal([...(await got)], [4, 5, 6]);
  assert.equal((await refusedStatus(`${url}/broker/127.0.0.1:1`)).status, 403);
  await until(() => err.includes("TARGET_NOT_ALLOWED"), 3000, "refusal logged");
  const wsClosed = new Promise<number>((r) => ws.once("close", (c) => r(c)));
  child.kill("SIGTERM");
  assert.equal(await wsClosed, 1001);
  assert.equal(await exited, 0);
  await echo.close();
});

test.run();
