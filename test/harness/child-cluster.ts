// Helper process for cleanup.test.ts: starts a mock cluster, prints its pid as one JSON line, then
// either waits forever ("hang", to be killed) or returns without calling stop() ("forget").
import { startCluster } from "./cluster.ts";

const mode = process.argv[2] ?? "hang";
const cluster = await startCluster({ brokers: 1 });
process.stdout.write(JSON.stringify({ pid: cluster.pid, bootstrap: cluster.bootstrap }) + "\n");
if (mode === "hang") setInterval(() => {}, 60_000);
