/**
 * `kafkasm verifiable-producer`: Apache Kafka's VerifiableProducer contract, so the system-test
 * harnesses that drive it can drive kafkasm. It produces increasing integers ("0", "1"…, or
 * "<prefix>.<n>") as string values and prints one JSON object per line on stdout, each with
 * `timestamp` and `name`: startup_complete; producer_send_success {key, value, topic, partition,
 * offset} or producer_send_error {exception, message, topic, key, value} per record; after
 * --max-messages (or SIGTERM/SIGINT) the producer is closed (flushing what was sent):
 * shutdown_complete, then tool_data {sent, acked, target_throughput, avg_throughput}. Like the Java
 * tool, the producer does not retry (retries 0), so a failed record is reported, not resent.
 */
import { formatHelp, parseAcks, parseArgs, parseBrokers, UsageError, type OptionSpecs } from "./args.ts";

/** The part of the Producer the tool uses. */
export interface VerifiableSink {
  send(record: { topic: string; key: string | null; value: string; timestamp?: number },
    callback: (error: Error | null, metadata?: { topic: string; partition: number; offset: number }) => void): void;
  close(): Promise<void>;
}

export interface VerifiableOptions {
  topic: string;
  /** Records to send; negative = until stopped. */
  maxMessages: number;
  /** Records/s to aim for; 0 or negative = unthrottled. */
  throughput: number;
  valuePrefix?: number;
  /** Keys "0"…"n-1", repeating; absent = null keys. */
  repeatingKeys?: number;
  /** CreateTime of the first record (ms since the epoch); later ones advance with the elapsed time. */
  createTime?: number;
  /** Receives each JSON line (without the newline). */
  print: (line: string) => void;
  /** Aborted: stop sending, close, report. */
  signal?: AbortSignal;
  /** Unacknowledged records the loop lets build up before it waits. @default 10000 */
  window?: number;
}

export interface VerifiableSummary {
  sent: number;
  acked: number;
}

function describeException(error: unknown): { exception: string; message: string } {
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof e?.name === "string" ? e.name : "Error";
  // Java prints the exception's class; kafkasm's stable identity is the error class and its code.
  return { exception: typeof e?.code === "string" ? `${name}: ${e.code}` : name, message: String(e?.message ?? error) };
}

/** Runs the producer side of the contract on `sink`; resolves once shutdown_complete and tool_data are printed. */
export async function runVerifiableProducer(sink: VerifiableSink, options: VerifiableOptions): Promise<VerifiableSummary> {
  const { topic, print, signal } = options;
  const max = options.maxMessages < 0 ? Infinity : options.maxMessages;
  const throughput = options.throughput > 0 ? options.throughput : 0;
  const window = options.window ?? 10_000;
  const event = (name: string, fields: Record<string, unknown> = {}) => print(JSON.stringify({ timestamp: Date.now(), name, ...fields }));
  const startMs = Date.now();
  let createTime = options.createTime;
  let keyCounter = 0;
  let sent = 0, acked = 0, done = 0;
  let wake: (() => void) | undefined;
  const settle = () => { done++; if (wake && sent - done < window) { const w = wake; wake = undefined; w(); } };
  const onStop = () => { const w = wake; wake = undefined; w?.(); };
  signal?.addEventListener("abort", onStop);

  event("startup_complete");
  try {
    for (let i = 0; i < max && !signal?.aborted; i++) {
      if (sent - done >= window) await new Promise<void>((r) => (wake = r));
      else if ((i & 1023) === 1023) await new Promise<void>((r) => setImmediate(r));
      if (signal?.aborted) break;
      if (throughput > 0) {
        const due = startMs + (i / throughput) * 1000;
        const wait = due - Date.now();
        if (wait > 1) await new Promise<void>((r) => setTimeout(r, wait));
        if (signal?.aborted) break;
      }
      let key: string | null = null;
      if (options.repeatingKeys !== undefined) {
        key = String(keyCounter++);
        if (keyCounter === options.repeatingKeys) keyCounter = 0;
      }
      const value = options.valuePrefix === undefined ? String(i) : `${options.valuePrefix}.${i}`;
      const record = { topic, key, value, ...(createTime === undefined ? {} : { timestamp: createTime }) };
      // As the Java tool: the create time moves on by the time elapsed since the start, per record.
      if (createTime !== undefined) createTime += Date.now() - startMs;
      sent++;
      try {
        sink.send(record, (error, metadata) => {
          if (error) event("producer_send_error", { ...describeException(error), topic, key, value });
          else {
            acked++;
            event("producer_send_success", { key, value, topic: metadata!.topic, partition: metadata!.partition, offset: metadata!.offset });
          }
          settle();
        });
      } catch (error) {
        event("producer_send_error", { ...describeException(error), topic, key, value });
        settle();
      }
    }
  } finally {
    signal?.removeEventListener("abort", onStop);
    await sink.close();
    event("shutdown_complete");
    const elapsed = Date.now() - startMs;
    event("tool_data", { sent, acked, target_throughput: options.throughput, avg_throughput: elapsed > 0 ? (1000 * acked) / elapsed : 0 });
  }
  return { sent, acked };
}

const spec = {
  topic: { type: "string", required: true, valueName: "TOPIC", description: "produce messages to this topic" },
  "bootstrap-server": { type: "string", valueName: "H:P[,H:P]", description: "the brokers to connect to (or --broker-list)" },
  "broker-list": { type: "string", valueName: "H:P[,H:P]", description: "the brokers to connect to (older name of --bootstrap-server)" },
  "max-messages": { type: "number", default: -1, integer: true, valueName: "N", description: "produce this many messages; -1 = until killed" },
  throughput: { type: "number", default: -1, integer: true, valueName: "N", description: "if > 0, about this many messages/s" },
  acks: { type: "string", default: "-1", choices: ["-1", "0", "1", "all"], description: "acknowledgements each message waits for" },
  "value-prefix": { type: "number", integer: true, min: 0, valueName: "P", description: "each value is \"P.<n>\" instead of \"<n>\"" },
  "repeating-keys": { type: "number", integer: true, min: 1, valueName: "N", description: "keys \"0\"…\"N-1\", repeating (default: null keys)" },
  "message-create-time": { type: "number", default: -1, integer: true, valueName: "MS", description: "CreateTime of the first message (ms since the epoch); -1 = now" },
} as const satisfies OptionSpecs;

/** `kafkasm verifiable-producer …` */
export async function run(argv: string[]): Promise<number> {
  const { options: o, help } = parseArgs(argv, spec);
  if (help) {
    process.stdout.write(formatHelp("kafkasm verifiable-producer --topic T --bootstrap-server H:P [options]",
      "Apache Kafka's VerifiableProducer contract: produces increasing integers and prints one JSON event per\n" +
      "line (startup_complete, producer_send_success/producer_send_error per message, shutdown_complete,\n" +
      "tool_data). SIGTERM or SIGINT stops sending, flushes and reports.", spec));
    return 0;
  }
  const servers = o.bootstrapServer ?? o.brokerList;
  if (servers === undefined) throw new UsageError("Missing required option --bootstrap-server (or --broker-list)");
  if (o.bootstrapServer !== undefined && o.brokerList !== undefined) throw new UsageError("Options --bootstrap-server and --broker-list are the same; give one");
  const brokers = parseBrokers(servers);
  const acks = parseAcks(o.acks);
  const { Producer } = await import("../index.ts");
  // retries 0 as in the Java tool (so idempotence is off): every failure is visible, nothing is resent.
  const producer = new Producer<string, string>({ brokers, acks, retries: 0, idempotent: false, clientId: "kafkasm-verifiable-producer", lingerMs: 5 });

  // Lines are buffered and written once per tick: one write per record would dominate at high rates.
  let pending: string[] = [];
  const flushLines = () => { if (pending.length) { process.stdout.write(pending.join("\n") + "\n"); pending = []; } };
  const print = (line: string) => { if (pending.length === 0) setImmediate(flushLines); pending.push(line); };

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await runVerifiableProducer(producer as unknown as VerifiableSink, {
      topic: o.topic, maxMessages: o.maxMessages, throughput: o.throughput, print, signal: stop.signal,
      ...(o.valuePrefix === undefined ? {} : { valuePrefix: o.valuePrefix }),
      ...(o.repeatingKeys === undefined ? {} : { repeatingKeys: o.repeatingKeys }),
      ...(o.messageCreateTime < 0 ? {} : { createTime: o.messageCreateTime }),
    });
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    flushLines();
  }
  await new Promise<void>((r) => process.stdout.write("", () => r()));
  return 0;
}
