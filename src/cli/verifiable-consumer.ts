/**
 * `kafkasm verifiable-consumer`: Apache Kafka's VerifiableConsumer contract, so the system-test
 * harnesses that drive it can drive kafkasm. A group member of one topic printing one JSON object per
 * line on stdout, each with `timestamp` and `name`: startup_complete; partitions_assigned and
 * partitions_revoked {partitions: [{topic, partition}]}; records_consumed {count, partitions: [{topic,
 * partition, count, minOffset, maxOffset}]} per batch handed (and record_data {key, value, topic,
 * partition, offset} per record with --verbose); offsets_committed {offsets: [{topic, partition,
 * offset}], success, error?} after each batch's synchronous commit unless --enable-autocommit;
 * shutdown_complete once the consumer is closed (after --max-messages, SIGTERM or SIGINT).
 */
import { formatHelp, parseArgs, parseBrokers, UsageError, type OptionSpecs } from "./args.ts";
import type { AssignorName, ConsumerBatch, ConsumerOptions, TopicPartition, TopicPartitionOffset } from "../consumer/config.ts";

/** The part of the Consumer the tool uses. */
export interface VerifiableSource {
  run(handlers: { eachBatch: (batch: ConsumerBatch) => void | Promise<void> }): Promise<void>;
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  close(): Promise<void>;
}

/** The rebalance callbacks the tool reports through; the source calls them. */
export interface VerifiableListener {
  onPartitionsAssigned(partitions: TopicPartition[]): void;
  onPartitionsRevoked(partitions: TopicPartition[]): void;
}

export interface VerifiableConsumerOptions {
  /** Records to consume; negative = until stopped. */
  maxMessages: number;
  /** Commit after each batch (false), or leave it to the consumer's auto-commit (true). */
  autoCommit: boolean;
  /** record_data per record. */
  verbose?: boolean;
  /** Receives each JSON line (without the newline). */
  print: (line: string) => void;
  /** Aborted: finish the batch in hand (and its commit), close, report. */
  signal?: AbortSignal;
}

const dec = new TextDecoder();
const text = (b: Uint8Array | null) => (b === null ? null : dec.decode(b));
const partitionsOf = (tps: TopicPartition[]) => tps.map(({ topic, partition }) => ({ topic, partition }));

/**
 * Runs the consumer side of the contract: `open` builds the source with the listener's callbacks.
 * Resolves with the records counted once shutdown_complete is printed; a fatal consumer error is
 * rethrown after it (as the Java tool logs it and still shuts down).
 */
export async function runVerifiableConsumer(open: (listener: VerifiableListener) => VerifiableSource,
  options: VerifiableConsumerOptions): Promise<{ consumed: number }> {
  const { print, signal } = options;
  const max = options.maxMessages < 0 ? Infinity : options.maxMessages;
  const event = (name: string, fields: Record<string, unknown> = {}) => print(JSON.stringify({ timestamp: Date.now(), name, ...fields }));
  let consumed = 0;
  let inBatch = false;
  let closing: Promise<void> | undefined;

  event("startup_complete");
  const source = open({
    onPartitionsAssigned: (tps) => event("partitions_assigned", { partitions: partitionsOf(tps) }),
    onPartitionsRevoked: (tps) => event("partitions_revoked", { partitions: partitionsOf(tps) }),
  });
  // Not from inside a batch: its commit comes first, then close() (which ends run()).
  const stop = () => { closing ??= source.close(); };
  const onAbort = () => { if (!inBatch) stop(); };
  signal?.addEventListener("abort", onAbort);
  let failure: unknown;
  try {
    if (signal?.aborted || max === 0) stop();
    else {
      await source.run({
        eachBatch: async (batch) => {
          if (closing) return;
          inBatch = true;
          try {
            // As Java: a batch past --max-messages counts (and commits) only the records up to it.
            const records = batch.records.slice(0, Math.max(0, max - consumed));
            if (records.length === 0) return;
            const { topic, partition } = batch;
            if (options.verbose) {
              for (const r of records) event("record_data", { key: text(r.key), value: text(r.value), topic, partition, offset: r.offset });
            }
            const minOffset = records[0]!.offset, maxOffset = records[records.length - 1]!.offset;
            consumed += records.length;
            event("records_consumed", { count: batch.records.length, partitions: [{ topic, partition, count: records.length, minOffset, maxOffset }] });
            if (!options.autoCommit) {
              const offsets = [{ topic, partition, offset: maxOffset + 1 }];
              try {
                await source.commit(offsets);
                event("offsets_committed", { offsets, success: true });
              } catch (error) {
                event("offsets_committed", { offsets, error: String((error as Error)?.message ?? error), success: false });
              }
            }
          } finally {
            inBatch = false;
            if (consumed >= max || signal?.aborted) stop();
          }
        },
      });
    }
  } catch (error) {
    failure = error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stop();
    await closing!.catch(() => {});
    event("shutdown_complete");
  }
  if (failure !== undefined) throw failure;
  return { consumed };
}

/** Java's assignor class names (and kafkasm's short names) → kafkasm's assignors. */
const ASSIGNORS: Record<string, AssignorName> = {
  "org.apache.kafka.clients.consumer.RangeAssignor": "range",
  "org.apache.kafka.clients.consumer.RoundRobinAssignor": "roundrobin",
  "org.apache.kafka.clients.consumer.CooperativeStickyAssignor": "cooperative-sticky",
  range: "range",
  roundrobin: "roundrobin",
  "cooperative-sticky": "cooperative-sticky",
};

export function parseAssignmentStrategy(value: string): AssignorName[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
    const a = ASSIGNORS[s];
    if (a === undefined) throw new UsageError(`Option --assignment-strategy: unsupported assignor "${s}" (RangeAssignor, RoundRobinAssignor, CooperativeStickyAssignor)`);
    return a;
  });
}

const spec = {
  topic: { type: "string", required: true, valueName: "TOPIC", description: "consume messages from this topic" },
  "group-id": { type: "string", required: true, valueName: "GROUP_ID", description: "the group id shared among the members of the consumer group" },
  "bootstrap-server": { type: "string", valueName: "H:P[,H:P]", description: "the brokers to connect to (or --broker-list)" },
  "broker-list": { type: "string", valueName: "H:P[,H:P]", description: "the brokers to connect to (older name of --bootstrap-server)" },
  "group-instance-id": { type: "string", valueName: "ID", description: "a static member's group.instance.id (KIP-345)" },
  "group-protocol": { type: "string", default: "classic", choices: ["classic", "CLASSIC"], description: "the group protocol (classic only: KIP-848's consumer protocol is not supported)" },
  "max-messages": { type: "number", default: -1, integer: true, valueName: "N", description: "consume this many messages; -1 = until killed" },
  "session-timeout": { type: "number", default: 30000, integer: true, min: 1, valueName: "MS", description: "the consumer's session.timeout.ms" },
  verbose: { type: "boolean", default: false, description: "print record_data for each record consumed" },
  "enable-autocommit": { type: "boolean", default: false, description: "auto-commit offsets instead of a synchronous commit after each batch" },
  "reset-policy": { type: "string", default: "earliest", choices: ["earliest", "latest", "none"], description: "auto.offset.reset" },
  "assignment-strategy": { type: "string", default: "org.apache.kafka.clients.consumer.RangeAssignor", valueName: "CLASS[,CLASS]",
    description: "partition.assignment.strategy: RangeAssignor, RoundRobinAssignor, CooperativeStickyAssignor (Java class or short name)" },
  "consumer.config": { type: "string", valueName: "FILE", description: "not supported: kafkasm reads no Java properties file" },
} as const satisfies OptionSpecs;

/** `kafkasm verifiable-consumer …` */
export async function run(argv: string[]): Promise<number> {
  const { options: o, help } = parseArgs(argv, spec);
  if (help) {
    process.stdout.write(formatHelp("kafkasm verifiable-consumer --topic T --group-id G --bootstrap-server H:P [options]",
      "Apache Kafka's VerifiableConsumer contract: a group member printing one JSON event per line\n" +
      "(startup_complete, partitions_assigned/revoked, records_consumed, record_data with --verbose,\n" +
      "offsets_committed, shutdown_complete). SIGTERM or SIGINT commits, leaves the group and reports.", spec));
    return 0;
  }
  if (o["consumer.config"] !== undefined) throw new UsageError("Option --consumer.config is not supported: kafkasm reads no Java properties file (use the options above)");
  const servers = o.bootstrapServer ?? o.brokerList;
  if (servers === undefined) throw new UsageError("Missing required option --bootstrap-server (or --broker-list)");
  if (o.bootstrapServer !== undefined && o.brokerList !== undefined) throw new UsageError("Options --bootstrap-server and --broker-list are the same; give one");
  const brokers = parseBrokers(servers);
  const assignors = parseAssignmentStrategy(o.assignmentStrategy);
  const { Consumer } = await import("../consumer/consumer.ts");
  const { nodeTransport } = await import("../transport/node.ts");

  const print = (line: string) => { process.stdout.write(line + "\n"); };
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await runVerifiableConsumer((listener) => new Consumer({
      brokers, transport: nodeTransport, groupId: o.groupId, topics: [o.topic], clientId: "kafkasm-verifiable-consumer",
      ...(o.groupInstanceId === undefined ? {} : { groupInstanceId: o.groupInstanceId }),
      sessionTimeoutMs: o.sessionTimeout,
      // Java's default heartbeat (3 s), kept below a third of a short session.
      heartbeatIntervalMs: Math.max(1, Math.min(3000, Math.floor(o.sessionTimeout / 3))),
      autoCommit: o.enableAutocommit, autoOffsetReset: o.resetPolicy as ConsumerOptions["autoOffsetReset"], assignors,
      onPartitionsAssigned: listener.onPartitionsAssigned, onPartitionsRevoked: listener.onPartitionsRevoked,
    }), { maxMessages: o.maxMessages, autoCommit: o.enableAutocommit, verbose: o.verbose, print, signal: stop.signal });
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
  await new Promise<void>((r) => process.stdout.write("", () => r()));
  return 0;
}
