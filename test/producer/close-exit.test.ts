// close() leaves nothing behind: a child process that produced and closed exits by itself, also when
// the transaction coordinator was not available at first (COORDINATOR_NOT_AVAILABLE, as on a freshly
// started cluster before __transaction_state exists) and when the first InitProducerId was refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { FakeCluster } from "../fake/cluster.ts";
import { listenTcp } from "../fake/tcp.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { exitAfterSuite, spawnChild } from "../harness/bounded.ts";

const child = join(import.meta.dirname, "fixtures/close-exit-child.ts");
const COORDINATOR_NOT_AVAILABLE = 15;
const COORDINATOR_LOAD_IN_PROGRESS = 14;

async function exitsAfterClose(mode: "idempotent" | "transactional", setup: (c: FakeCluster) => void): Promise<void> {
  const cluster = new FakeCluster({ brokers: 3, topics: [{ name: "t", partitions: 3 }] });
  cluster.coordinatorId = 2;
  setup(cluster);
  const front = await listenTcp(cluster);
  const proc = spawnChild(process.execPath, ["--import", "tsx", child, front.bootstrap.join(","), mode]);
  try {
    // The child's own work takes a second or two; 60 s only guards a hang (a leak hangs forever).
    const code = await proc.exited(60_000);
    assert.is(proc.stdout.trim(), "closed", proc.stderr);
    assert.is(code, 0, proc.stderr);
    assert.is(cluster.records("t", 0).length + cluster.records("t", 1).length + cluster.records("t", 2).length, 1);
  } finally {
    proc.kill();
    await front.close();
  }
}

test("idempotent: the process exits by itself after close()", async () => {
  await exitsAfterClose("idempotent", () => {});
});

test("transactional: the process exits by itself after close()", async () => {
  await exitsAfterClose("transactional", () => {});
});

test("transactional, coordinator not available at first (FindCoordinator COORDINATOR_NOT_AVAILABLE ×3): the process exits by itself after close()", async () => {
  await exitsAfterClose("transactional", (c) => c.inject({ apiKey: ApiKey.FindCoordinator, count: 3, action: { error: COORDINATOR_NOT_AVAILABLE } }));
});

test("transactional, InitProducerId answered COORDINATOR_NOT_AVAILABLE and COORDINATOR_LOAD_IN_PROGRESS first: the process exits by itself after close()", async () => {
  await exitsAfterClose("transactional", (c) => {
    c.inject({ apiKey: ApiKey.InitProducerId, count: 2, action: { error: COORDINATOR_NOT_AVAILABLE } });
    c.inject({ apiKey: ApiKey.InitProducerId, count: 2, action: { error: COORDINATOR_LOAD_IN_PROGRESS } });
  });
});

exitAfterSuite(test);
test.run();
