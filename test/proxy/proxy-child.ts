// Runs startProxy in its own process (options as JSON in argv[2]) so a test can measure its memory; prints "listening <url>".
import { startProxy } from "../../src/proxy/proxy.ts";

const proxy = await startProxy({ ...JSON.parse(process.argv[2]), log: () => {} });
process.stdout.write(`listening ${proxy.url}\n`);
process.on("SIGTERM", () => { void proxy.close().then(() => process.exit(0)); });
