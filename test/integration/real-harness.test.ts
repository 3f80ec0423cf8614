// Proves test/harness/kafka.ts: the broker JVM never outlives its test process, however that process
// ends, and a machine without Kafka or java reports the real-broker tests as skipped, never passed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitAfterSuite, spawnChild, until, type Child } from "../harness/bounded.ts";
import { kafkaAvailable, startKafka } from "../harness/kafka.ts";

const it = kafkaAvailable() && !process.env.KAFKA_BROKERS ? test : test.skip;
const root = join(import.meta.dirname, "..", "..");
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function brokerOf(mode: "hang" | "forget"): Promise<{ child: Child; pid: number; dir: string }> {
  const child = spawnChild(process.execPath, ["--import", "tsx", join(import.meta.dirname, "real-harness-child.ts"), mode], { cwd: root });
  await until(() => child.stdout.includes("\n") || child.process.exitCode !== null, 90_000, `the child's broker to start (stderr: ${child.stderr.slice(-1500)})`);
  const { pid, dir } = JSON.parse(child.stdout.split("\n")[0]!) as { pid: number; dir: string };
  assert.ok(alive(pid), "the broker runs");
  return { child, pid, dir };
}

it("stop() kills the broker JVM, waits for it and removes its temp dir", async () => {
  const kafka = await startKafka();
  const pid = kafka.pid!;
  assert.ok(alive(pid) && existsSync(kafka.dir!));
  await kafka.stop();
  assert.not.ok(alive(pid), "the JVM is gone when stop() resolves");
  assert.not.ok(existsSync(kafka.dir!), "its temp dir is removed");
  await kafka.stop(); // twice is harmless
});

for (const [how, end] of [
  ["SIGTERM", (c: Child) => c.process.kill("SIGTERM")],
  ["SIGKILL of the test process alone (its watchdog)", (c: Child) => c.process.kill("SIGKILL")],
  ["returning without stop() (process exit)", undefined],
] as const) {
  it(`the broker dies with its test process: ${how}`, async () => {
    const { child, pid, dir } = await brokerOf(end ? "hang" : "forget");
    try {
      end?.(child);
      await child.exited(30_000);
      await until(() => !alive(pid), 15_000, `broker pid ${pid} to die after ${how}`);
    } finally {
      child.kill();
      try { process.kill(pid, "SIGKILL"); } catch { /* gone, as it should be */ }
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("without java, the real-broker tests report themselves skipped, never passed", async () => {
  // A PATH with node and nothing else: no java.
  const bin = mkdtempSync(join(tmpdir(), "kafkasm-nojava-"));
  symlinkSync(process.execPath, join(bin, "node"));
  try {
    const child = spawnChild(process.execPath, ["--import", "tsx", join(import.meta.dirname, "real-close.test.ts")],
      { cwd: root, env: { ...process.env, PATH: bin, KAFKA_BROKERS: "" } });
    const code = await child.exited(60_000);
    assert.is(code, 0, child.stderr.slice(-1500));
    assert.match(child.stdout, /Passed:\s+0\b/);
    assert.match(child.stdout, /Skipped:\s+3\b/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

exitAfterSuite(test);
test.run();
