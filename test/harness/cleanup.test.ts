// Proves that no mock-cluster process outlives its test: stop(), a forgotten stop(), a SIGKILLed
// test process, stdin EOF and `quit` all end it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { exitAfterSuite, nextEvent, within } from "./bounded.ts";
import { buildMockCluster, startCluster } from "./cluster.ts";

const external = Boolean(process.env.KAFKA_BROKERS?.trim());
const it = external ? test.skip : test;
const childScript = new URL("./child-cluster.ts", import.meta.url).pathname;

/** True while `pid` is a live process (a zombie counts as dead: it only awaits reaping). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function waitDead(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !alive(pid);
}

function startChild(mode: "hang" | "forget") {
  const child = spawn(process.execPath, ["--import", "tsx", childScript, mode], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = nextEvent<[number | null]>(child, "exit", 60_000, `the ${mode} test process to exit`).then(([code]) => code);
  exited.catch(() => {});
  // tsx start-up and a mock cluster start on a loaded machine: generous.
  const first = within(new Promise<{ pid: number }>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", (l) => resolve(JSON.parse(l)));
    // "close", not "exit": a "forget" child prints and exits at once, and "exit" can come before its output is read.
    child.once("close", (code) => reject(new Error(`child exited (${code}) before printing the mock pid`)));
  }), 60_000, "the child test process to print its mock cluster's pid");
  return { child, exited, first };
}

it("stop() ends the mock cluster process and is safe to call twice", async () => {
  const c = await startCluster({ brokers: 2 });
  assert.ok(c.pid && alive(c.pid));
  await c.stop();
  assert.is(alive(c.pid!), false);
  await c.stop();
});

it("concurrent commands each get their own reply, errors included", async () => {
  const c = await startCluster({ brokers: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) =>
      (i % 3 === 0 ? c.setRtt(7, 0) : c.createTopic(`t${i}`, 1 + (i % 4))).then(() => "ok", (e: Error) => e.message)));
    results.forEach((r, i) => assert.is(r === "ok", i % 3 !== 0, `command ${i}: ${r}`));
    assert.match(String(results[0]), /unknown broker id 7/);
  } finally {
    await c.stop();
  }
});

it("when the mock cluster dies, pending and later commands reject instead of hanging", async () => {
  const c = await startCluster({ brokers: 1 });
  process.kill(c.pid!, "SIGKILL");
  const e = await c.setRtt(1, 5).catch((x: Error) => x);
  assert.instance(e, Error);
  assert.match(String(e), /exited/);
  await c.stop();
});

it("a test process killed with SIGKILL takes its mock cluster with it", async () => {
  const { child, exited, first } = startChild("hang");
  try {
    const { pid } = await first;
    assert.ok(alive(pid), "mock cluster should run while its parent runs");
    child.kill("SIGKILL");
    await exited;
    assert.ok(await waitDead(pid, 15_000), `mock cluster ${pid} outlived its killed parent`);
  } finally {
    child.kill("SIGKILL");
  }
});

it("a test process that forgets stop() still exits, and its mock cluster with it", async () => {
  const { child, exited, first } = startChild("forget");
  try {
    const { pid } = await first;
    assert.is(await exited, 0); // a leak would keep it running: `exited` fails after 60 s
    assert.ok(await waitDead(pid, 15_000), `mock cluster ${pid} outlived its parent`);
  } finally {
    child.kill("SIGKILL");
  }
});

it("the mock cluster program exits 0 on stdin EOF and on quit", async () => {
  const binary = await buildMockCluster();
  for (const input of ["", "ping\nquit\n"]) {
    const p = spawn(binary, ["1"], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stdin.end(input);
    // "close", not "exit": only then has all of its output been read.
    const [code] = await nextEvent(p, "close", 30_000, `the mock cluster to exit on ${input ? "quit" : "stdin EOF"}`);
    assert.is(code, 0);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines[0].bootstrap.startsWith("127.0.0.1:"));
    if (input) assert.equal(lines.slice(1), [{ ok: true }, { ok: true }]);
  }
});

exitAfterSuite(test);
test.run();
