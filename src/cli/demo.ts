/**
 * `npm start`: the end-to-end demo. Starts the local Kafka-protocol cluster (the librdkafka mock,
 * 3 brokers, topic "telemetry" with 6 partitions) unless KAFKA_BROKERS is set, produces a telemetry
 * workload through kafkasm (keyed JSON events with headers), reads it back with kcat and verifies
 * it: count, nothing missing, no duplicates, per-key order, Java-compatible partitioning, headers.
 * Exits 1 when any check fails.
 *   node --import tsx src/cli/demo.ts [--events N] [--devices N] [--acks 0|1|all]
 */
import { formatHelp, parseAcks, parseArgs, type OptionSpecs } from "./args.ts";
import { TelemetryWorkload, verifyOffsets, verifyTelemetry, type Expected, type TelemetryEvent, type Verification } from "./telemetry.ts";

const spec = {
  events: { type: "number", default: 100_000, integer: true, min: 1, valueName: "N", description: "events to produce" },
  devices: { type: "number", integer: true, min: 1, valueName: "N", description: "distinct device keys (default: events / 50, at most 2,000)" },
  partitions: { type: "number", default: 6, integer: true, min: 1, valueName: "N", description: "partitions of the topic (local cluster)" },
  topic: { type: "string", valueName: "T", description: "topic (default: telemetry; with KAFKA_BROKERS a new kafkasm-demo-telemetry-<time>, auto-created)" },
  acks: { type: "string", default: "all", valueName: "0|1|all", description: "acknowledgements (idempotent with all)" },
  "linger-ms": { type: "number", default: 5, integer: true, min: 0, valueName: "N", description: "producer linger" },
  "read-back": { type: "string", default: "auto", choices: ["auto", "records", "offsets"], description: "verify by reading every record with kcat, or by offsets only (auto: records when the mock keeps them all)" },
  inject: { type: "string", default: "none", choices: ["none", "duplicate", "drop", "reorder"], description: "break the run on purpose (send one event twice, skip one, swap two of a key) to see the checks fail" },
} as const satisfies OptionSpecs;

// The mock cluster keeps roughly 5 MiB per partition; read records back only below this.
const READ_BACK_BYTES_PER_PARTITION = 4 * 1024 * 1024;

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint("1"), dim = paint("2"), green = paint("32"), red = paint("31"), cyan = paint("36");
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const say = (s = "") => process.stdout.write(s + "\n");
const label = (name: string) => `  ${cyan(name.padEnd(10))}`;

function progressBar(done: number, total: number, width = 28): string {
  const filled = Math.round((done / total) * width);
  return "█".repeat(filled) + dim("░".repeat(width - filled));
}

interface DemoProducer {
  send(record: { topic: string; key: string; value: string; headers: Record<string, string> },
    cb: (error: unknown, meta?: { partition: number; offset: number }) => void): void;
  flush(): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Produces the workload with a progress line; resolves with the count acknowledged and the time. */
async function produceWorkload(producer: DemoProducer, topic: string, events: readonly TelemetryEvent[]) {
  const total = events.length;
  let sent = 0, acked = 0, failed = 0, bytes = 0;
  let firstError: unknown;
  let wake: (() => void) | undefined;
  const windowRecords = 50_000;
  const cb = (error: unknown) => {
    if (error) { failed++; firstError ??= error; } else acked++;
    if (wake && sent - acked - failed < windowRecords / 2) { const w = wake; wake = undefined; w(); }
  };
  const tty = process.stdout.isTTY;
  const start = performance.now();
  let lastLine = 0;
  const show = (final = false) => {
    const t = performance.now();
    if (!final && t - lastLine < (tty ? 100 : 1000)) return;
    lastLine = t;
    const done = acked + failed;
    const rate = done / ((t - start) / 1000);
    const line = `${label("producing")}${progressBar(done, total)} ${fmt(done).padStart(fmt(total).length)} / ${fmt(total)}  ${fmt(rate)} events/s`;
    if (tty) process.stdout.write(`\r${line}\x1b[K${final ? "\n" : ""}`);
    else if (final || done > 0) say(line);
  };
  const timer = setInterval(show, tty ? 100 : 1000);
  try {
    for (const ev of events) {
      bytes += ev.key.length + ev.value.length;
      producer.send({ topic, key: ev.key, value: ev.value, headers: ev.headers }, cb);
      sent++;
      if (sent - acked - failed >= windowRecords) await new Promise<void>((r) => (wake = r));
      else if ((sent & 2047) === 0) await new Promise<void>((r) => setImmediate(r));
    }
    await producer.flush();
  } finally {
    clearInterval(timer);
  }
  show(true);
  return { acked, failed, firstError, bytes, seconds: (performance.now() - start) / 1000 };
}

function printVerification(v: Verification): void {
  const width = Math.max(...v.checks.map((c) => c.name.length));
  for (const c of v.checks) say(`    ${c.ok ? green("✓") : red("✗")} ${c.name.padEnd(width)}  ${c.ok ? c.detail : red(c.detail)}`);
  for (const p of v.problems) say(`      ${red("·")} ${p}`);
}

/** Breaks the event list the way `--inject` says; returns what it did. */
function inject(events: TelemetryEvent[], how: string): string {
  const i = Math.floor(events.length / 2);
  const e = events[i]!;
  if (how === "duplicate") { events.splice(i + 1, 0, e); return `${e.key} seq ${e.seq} will be sent twice`; }
  if (how === "drop") { events.splice(i, 1); return `${e.key} seq ${e.seq} will not be sent`; }
  const j = events.findIndex((x, k) => k > i && x.key === e.key);
  if (j === -1) return "no second event of the key to swap with";
  [events[i], events[j]] = [events[j]!, events[i]!];
  return `${e.key} seq ${e.seq} and ${events[i]!.seq} will be sent in swapped order`;
}

/** Runs the demo; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { options: o, help } = parseArgs(argv, spec);
  if (help) {
    process.stdout.write(formatHelp("npm start [-- options]", "Produces a telemetry workload through kafkasm and verifies it with kcat.\n" +
      "Uses the local mock cluster, or KAFKA_BROKERS=host:port,… when set.", spec));
    return 0;
  }
  const acks = parseAcks(o.acks);
  // Resolved at run time from this file's location so the CLI bundle (dist/node/) finds them too.
  const harness = (await import(new URL("../../test/harness/cluster.ts", import.meta.url).href)) as typeof import("../../test/harness/cluster.ts");
  const kcat = (await import(new URL("../../test/harness/kcat.ts", import.meta.url).href)) as typeof import("../../test/harness/kcat.ts");
  const { Producer } = await import("../index.ts");

  say();
  say(bold("kafkasm demo") + dim(" — telemetry into Kafka through a WebAssembly codec, verified with kcat"));
  say();
  const external = Boolean(process.env.KAFKA_BROKERS);
  const topic = o.topic ?? (external ? `kafkasm-demo-telemetry-${Date.now()}` : "telemetry");
  const t0 = performance.now();
  const cluster = await harness.startCluster(external ? {} : { brokers: 3, topics: [{ name: topic, partitions: o.partitions }] });
  let producer: DemoProducer | undefined;
  try {
    let partitions = o.partitions;
    if (external) {
      // A real cluster: use (or auto-create) the topic with whatever partition count it has.
      const md = await kcat.kcatMetadata(cluster.bootstrap, topic, { autoCreate: true });
      partitions = md.topics.find((t) => t.topic === topic)?.partitions.length ?? 0;
      if (partitions === 0) throw new Error(`Topic ${topic} does not exist on KAFKA_BROKERS and was not auto-created: create it, or pass --topic`);
    }
    say(`${label("cluster")}${external ? "KAFKA_BROKERS" : "local librdkafka mock cluster"}: ${cluster.brokers.length} brokers at ${cluster.bootstrap}` +
      dim(` (${fmt(performance.now() - t0)} ms)`));
    const workload = new TelemetryWorkload({ count: o.events, ...(o.devices === undefined ? {} : { devices: o.devices }) });
    say(`${label("topic")}${topic}, ${partitions} partitions`);
    say(`${label("workload")}${fmt(o.events)} events from ${fmt(workload.devices)} devices: key = device id, JSON value, headers event-type/trace-id/content-type`);
    const idempotent = acks === "all";
    say(`${label("producer")}kafkasm, acks ${acks}${idempotent ? ", idempotent" : ""}, linger ${o.lingerMs} ms`);
    const before = await kcat.queryOffsets(cluster.bootstrap, topic);
    producer = new Producer({ brokers: cluster.bootstrap.split(","), acks, idempotent, lingerMs: o.lingerMs, clientId: "kafkasm-demo" }) as unknown as DemoProducer;
    // Generated up front so that the throughput shown is the producer's, not the JSON generator's.
    const tg = performance.now();
    const events: TelemetryEvent[] = [];
    for (let ev = workload.next(); ev !== undefined; ev = workload.next()) events.push(ev);
    if (o.inject !== "none") say(`${label("injected")}${red(inject(events, o.inject))}`);
    say(`${label("generated")}${fmt(events.length)} events in ${fmt((performance.now() - tg) / 1000, 2)} s`);
    const produced = await produceWorkload(producer, topic, events);
    events.length = 0;
    await producer.close();
    producer = undefined;
    say(`${label("produced")}${bold(fmt(produced.acked))} events acknowledged in ${fmt(produced.seconds, 2)} s: ` +
      bold(`${fmt(produced.acked / produced.seconds)} events/s`) + `, ${fmt(produced.bytes / produced.seconds / 1048576, 1)} MB/s of keys and values`);
    if (produced.failed) {
      const e = produced.firstError as { code?: string; message?: string };
      say(`${label("failed")}${red(`${fmt(produced.failed)} events failed`)}; first: ${e?.code ?? ""} ${e?.message ?? String(e)}`);
    }
    const expected: Expected = { perDevice: workload.perDevice, partitions, count: produced.acked };
    const perPartitionBytes = (produced.bytes + o.events * 90) / partitions;
    const mode = o.readBack === "auto" ? (perPartitionBytes < READ_BACK_BYTES_PER_PARTITION || external ? "records" : "offsets") : o.readBack;
    let verification: Verification;
    const t1 = performance.now();
    if (mode === "records") {
      // Everything the topic holds now (a reused topic has older records), then only this run's.
      const after = await kcat.queryOffsets(cluster.bootstrap, topic);
      const count = after.reduce((s, p) => s + p.high - p.low, 0);
      const records = await kcat.consumeAll(cluster.bootstrap, topic, { count, timeoutMs: 60_000 });
      const fresh = records.filter((r) => r.offset >= (before.find((b) => b.partition === r.partition)?.high ?? 0));
      say(`${label("read back")}${fmt(fresh.length)} records with kcat in ${fmt((performance.now() - t1) / 1000, 2)} s`);
      verification = verifyTelemetry(fresh, expected);
    } else {
      const after = await kcat.queryOffsets(cluster.bootstrap, topic);
      say(`${label("read back")}partition offsets with kcat (too many records for the mock to keep them all)`);
      verification = verifyOffsets(before, after, expected);
    }
    if (produced.failed) verification = { ...verification, ok: false };
    say(`${label("verified")}`);
    printVerification(verification);
    say();
    say(verification.ok ? green(bold("  OK")) + " every check passed" : red(bold("  FAILED")) + " see above");
    say();
    return verification.ok ? 0 : 1;
  } finally {
    await producer?.close({ timeoutMs: 1000 }).catch(() => {});
    await cluster.stop();
  }
}

const entry = process.argv[1] ?? "";
if (/demo\.ts$/.test(entry)) {
  run(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; setTimeout(() => process.exit(code), 3000).unref(); },
    (error) => {
      const e = error as { code?: string; message?: string; name?: string };
      process.stderr.write(`\nkafkasm demo: ${e?.name === "UsageError" ? "" : (e?.code ? `${e.code}: ` : "")}${e?.message ?? String(error)}\n`);
      process.exitCode = e?.name === "UsageError" ? 2 : 1;
    });
}
