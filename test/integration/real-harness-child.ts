// Child program of real-harness.test.ts: starts the real broker, prints its pid as one JSON line, then
// waits forever ("hang", to be signalled) or returns without calling stop() ("forget").
import { startKafka } from "../harness/kafka.ts";

const mode = process.argv[2] ?? "hang";
const kafka = await startKafka();
process.stdout.write(JSON.stringify({ pid: kafka.pid, dir: kafka.dir }) + "\n");
if (mode === "hang") setInterval(() => {}, 60_000);
