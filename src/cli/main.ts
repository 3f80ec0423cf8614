/**
 * `kafkasm <command> [options]`: dispatches to src/cli/<command>.ts, loaded on demand so that a
 * command's dependencies (the producer, the proxy's WebSocket server…) load only when used. Each
 * command module exports `run(argv): Promise<number>` (the exit code).
 */
import { UsageError } from "./args.ts";

/** A command module. */
export interface Command {
  run(argv: string[]): Promise<number>;
}

/** The commands and their one-line summaries, in `--help` order. */
export const commands: Readonly<Record<string, string>> = {
  produce: "produce stdin lines as records (one record per line)",
  perf: "producer throughput and latency test (like kafka-producer-perf-test)",
  consume: "read records back from a topic",
  proxy: "WebSocket-to-Kafka proxy for browser producers",
  "verifiable-producer": "Apache Kafka's VerifiableProducer contract (JSON-lines events for system tests)",
  "verifiable-consumer": "Apache Kafka's VerifiableConsumer contract (a group member printing JSON-lines events)",
  top: "live view of a producer's or a proxy's metrics (throughput, latency, errors)",
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    "Usage: kafkasm <command> [options]",
    "",
    "Commands:",
    ...Object.entries(commands).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    "",
    "Run `kafkasm <command> --help` for a command's options.",
    "",
  ].join("\n");
}

/** Runs the CLI with `argv` (without node and the script path); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(commands, name)) {
    process.stderr.write(`kafkasm: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  let command: Command;
  try {
    // A template literal import: esbuild bundles every src/cli/*.ts, tsx resolves it at run time.
    command = (await import(`./${name}.ts`)) as Command;
  } catch (error) {
    process.stderr.write(`kafkasm: command "${name}" is not available in this build (${(error as Error).message})\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`kafkasm ${name}: ${error.message}\nRun \`kafkasm ${name} --help\` for usage.\n`);
      return 2;
    }
    const e = error as { code?: unknown; message?: unknown };
    process.stderr.write(`kafkasm ${name}: ${typeof e.code === "string" ? `${e.code}: ` : ""}${String(e.message ?? error)}\n`);
    // Options the producer rejects are command-line mistakes too.
    return e.code === "INVALID_CONFIG" ? 2 : 1;
  }
}

// Run when executed directly (tsx, or the esbuild bundle behind bin/kafkasm.js), not when imported by tests.
const entry = process.argv[1] ?? "";
if (import.meta.url === `file://${entry}` || /(?:^|[\\/])(?:main\.ts|cli\.js|kafkasm(?:\.js)?)$/.test(entry)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // A command closes what it opened; this only keeps a leaked handle from hanging the shell.
    setTimeout(() => process.exit(code), 3000).unref();
  });
}
