// `kafkasm consume --group G` against the mock cluster: it reads what kcat produced; Ctrl-C (SIGINT)
// commits what it printed, revokes, leaves and exits 0; a second `--group G` run reads nothing old.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exitAfterSuite, spawnChild, until } from "../harness/bounded.ts";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce } from "../harness/kcat.ts";

const root = new URL("../..", import.meta.url).pathname;
const cli = (args: string[]) => spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "consume", ...args], { cwd: root });
const values = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => (JSON.parse(l) as { value: string }).value);

test("consume --group: reads every record, Ctrl-C commits and leaves (exit 0), and a second run of the group reads only what came after", async () => {
  const cluster = await startCluster({ brokers: 3, topics: [{ name: "cli-group", partitions: 3 }] });
  try {
    await kcatProduce(cluster.bootstrap, "cli-group", Array.from({ length: 500 }, (_, i) => `k${i % 29}:v${i}`), { keyDelimiter: ":" });
    const first = cli(["--brokers", cluster.bootstrap, "--topic", "cli-group", "--group", "G"]);
    await until(() => values(first.stdout).length >= 500, 60_000, "500 records printed");
    first.process.kill("SIGINT");
    assert.is(await first.exited(30_000), 0, `exit code (stderr: ${first.stderr.slice(-800)})`);
    assert.is(new Set(values(first.stdout)).size, 500);
    assert.match(first.stderr, /revoked cli-group-/, "its partitions were revoked on the way out");
    await kcatProduce(cluster.bootstrap, "cli-group", ["k1:after"], { keyDelimiter: ":" });
    // The mock rebalances an emptied group after session.timeout.ms − 1 s (44 s at the CLI's default): a slow but bounded join.
    const second = cli(["--brokers", cluster.bootstrap, "--topic", "cli-group", "--group", "G", "--count", "1"]);
    assert.is(await second.exited(60_000), 0, `second run exit code (stderr: ${second.stderr.slice(-800)})`);
    assert.equal(values(second.stdout), ["after"], "the group resumed after the offsets the first run committed");
  } finally {
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
