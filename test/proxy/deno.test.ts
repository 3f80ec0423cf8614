// `kafkasm proxy` under Deno (its Node compatibility runs the same node:http + node:net + ws code):
// the whole proxy test file passes inside Deno, and the command forwards and shuts down on SIGTERM.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { nextEvent, spawnChild, exitAfterSuite } from "../harness/bounded.ts";
import { echoServer, openWs, refusedStatus, until } from "./helpers.ts";

const root = join(import.meta.dirname, "..", "..");
const deno = join(root, "node_modules", ".bin", "deno");
const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };

test("every proxy test (refusals, limits, backpressure, broker loss, shutdown) passes when run by Deno", async () => {
  const child = spawnChild(deno, ["run", "-A", "--quiet", "test/proxy/proxy.test.ts"], { cwd: root, env });
  try {
    // Its own waits are bounded, so the file ends (passing or failing) well within this.
    const code = await child.exited(120_000);
    const out = child.stdout + child.stderr;
    assert.equal(code, 0, out.slice(-3000));
    const total = Number(/Total:\s+(\d+)/.exec(out)?.[1]);
    const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1]);
    assert.ok(total >= 16 && passed === total, out.slice(-3000));
  } finally {
    child.kill();
  }
});

test("deno run src/cli/main.ts proxy forwards to --allow brokers, refuses others, exits 0 on SIGTERM", async () => {
  const echo = await echoServer();
  const child = spawnChild(deno, ["run", "-A", "--quiet", "src/cli/main.ts", "proxy", "--listen", "127.0.0.1:0", "--allow", `127.0.0.1:${echo.port}`, "--api-keys", "all", "--quiet"],
    { cwd: root, env });
  try {
    await until(() => /listening on (ws:\/\/\S+)/.test(child.stdout), 30_000, "the listening line");
    const url = /listening on (ws:\/\/\S+)/.exec(child.stdout)![1];
    const ws = await openWs(`${url}/broker/127.0.0.1:${echo.port}`);
    const got = nextEvent<[Buffer]>(ws, "message", 10_000, "the echoed bytes");
    ws.send(Buffer.from([4, 5, 6]));
    assert.equal([...(await got)[0]], [4, 5, 6]);
    assert.equal((await refusedStatus(`${url}/broker/127.0.0.1:1`)).status, 403);
    await until(() => child.stderr.includes("TARGET_NOT_ALLOWED"), 10_000, "the refusal logged");
    const wsClosed = nextEvent<[number]>(ws, "close", 15_000, "the proxy to close the WebSocket on SIGTERM");
    child.process.kill("SIGTERM");
    assert.equal((await wsClosed)[0], 1001);
    assert.equal(await child.exited(15_000), 0);
  } finally {
    child.kill();
    await echo.close();
  }
});

exitAfterSuite(test);
test.run();
