/**
 * `kafkasm consume`: a minimal reader for verification and for users. Fetch without a consumer
 * group: Metadata → ListOffsets → Fetch from each partition's leader, decoding compressed batches
 * with the codecs of src/compression. One JSON line per record:
 * {"topic","partition","offset","timestamp","key","value","headers"} with UTF-8 strings (null for
 * null; `--binary` for base64) and headers as [key, value] pairs in wire order (keys may repeat).
 * Without --count it reads to the end offsets seen at start and exits; with --count N it waits for
 * N records (or --timeout-ms without a new record).
 */
import { parseHostPort } from "../client/address.ts";
import { Brokers } from "../client/brokers.ts";
import { systemClock } from "../client/clock.ts";
import type { Connection } from "../client/connection.ts";
import { versionFor } from "../client/versions.ts";
import { ClientError, kafkaErrorFor } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import { codecForAttribute } from "../compression/index.ts";
import { Fetch } from "../protocol/fetch.ts";
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets } from "../protocol/list-offsets.ts";
import { Metadata } from "../protocol/metadata.ts";
import { CONTROL, decodeRecordBatchesAsync } from "../protocol/record-batch.ts";
import type { BrokerAddress, Transport } from "../transport/transport.ts";
import { formatHelp, parseArgs, parseBrokers, UsageError, type OptionSpecs } from "./args.ts";
import type { ConsumerRecord } from "../consumer/config.ts";

/** One record read back (the group consumer's record without its leader epoch). */
export type ConsumedRecord = Omit<ConsumerRecord, "leaderEpoch">;

export interface ConsumeOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  topic: string;
  /** One partition; all partitions when omitted. */
  partition?: number;
  /** Where to start in each partition (default "beginning"). */
  offset?: "beginning" | "end" | number;
  /** Stop after this many records (waiting for them); without it, stop at the end offsets seen at start. */
  count?: number;
  transport: Transport;
  clientId?: string;
  requestTimeoutMs?: number;
  /** With `count`: give up after this long without a new record (default 30 000 ms). */
  idleTimeoutMs?: number;
  /** Called with each partition's raw Fetch records bytes before decoding (fixture capture). */
  onRawRecords?: (partition: number, bytes: Uint8Array) => void;
}

const FETCH_MAX_VERSION = 12; // v13 names topics by id only
// v4+ only adds leader epochs, which a reader without a group does not need; and librdkafka 2.0's
// mock cluster answers ListOffsets v5 with 4 bytes our (spec-conformant) decoder does not expect.
const LIST_OFFSETS_MAX_VERSION = 3;
const INITIAL_PARTITION_MAX_BYTES = 1 << 20;
const MAX_PARTITION_MAX_BYTES = 64 << 20;

function parseAddress(hostPort: string): BrokerAddress {
  const a = parseHostPort(hostPort);
  if (!a) throw new ClientError("INVALID_CONFIG", `Invalid brokers: ${JSON.stringify(hostPort)} is not "host:port"`);
  return { host: a.host, port: a.port, nodeId: -1 };
}

interface PartitionState {
  partition: number;
  leader: number;
  fetchOffset: number;
  endOffset: number;
  maxBytes: number;
  done: boolean;
}

/** Reads records as an async iterator; closes its connections when the iteration ends. */
export async function* consume(opts: ConsumeOptions): AsyncGenerator<ConsumedRecord> {
  if (opts.brokers.length === 0) throw new ClientError("INVALID_CONFIG", "Cannot consume: no brokers given");
  const brokers = new Brokers({ brokers: opts.brokers.map(parseAddress), clientId: opts.clientId ?? "kafkasm-consume",
    requestTimeoutMs: opts.requestTimeoutMs ?? 30_000, maxInFlight: 1 }, opts.transport, systemClock);
  try {
    const bootstrap = await brokers.any();
    const md = await bootstrap.request(Metadata, versionFor(bootstrap, Metadata), { topics: [opts.topic], allowAutoTopicCreation: false });
    brokers.setBrokers(md.brokers);
    const topic = md.topics.find((t) => t.name === opts.topic);
    if (!topic) throw new ClientError("PROTOCOL_ERROR", `Cannot consume ${opts.topic}: the broker's Metadata does not list it`);
    if (topic.errorCode !== ErrorCode.NONE) throw kafkaErrorFor(topic.errorCode, `Metadata for topic ${opts.topic}`);
    const leaderConn = (nodeId: number): Promise<Connection> => {
      if (!brokers.has(nodeId)) throw new ClientError("PROTOCOL_ERROR", `Cannot consume ${opts.topic}: leader ${nodeId} is not among the brokers in Metadata`);
      return brokers.connect(nodeId);
    };

    let parts = topic.partitions.slice().sort((a, b) => a.partitionIndex - b.partitionIndex);
    if (opts.partition !== undefined) {
      parts = parts.filter((p) => p.partitionIndex === opts.partition);
      if (parts.length === 0) throw new ClientError("INVALID_CONFIG", `Cannot consume ${opts.topic}: it has no partition ${opts.partition} (partitions 0-${topic.partitions.length - 1})`);
    }
    const states: PartitionState[] = [];
    for (const p of parts) {
      if (p.errorCode !== ErrorCode.NONE && p.leaderId < 0) throw kafkaErrorFor(p.errorCode, `Metadata for ${opts.topic}-${p.partitionIndex}`);
      const conn = await leaderConn(p.leaderId);
      const lov = Math.min(LIST_OFFSETS_MAX_VERSION, versionFor(conn, ListOffsets));
      const list = async (timestamp: number) => {
        const r = await conn.request(ListOffsets, lov, { topics: [{ name: opts.topic, partitions: [{ partitionIndex: p.partitionIndex, timestamp }] }] });
        const pr = r.topics[0]?.partitions[0];
        if (!pr) throw new ClientError("PROTOCOL_ERROR", `Cannot consume ${opts.topic}-${p.partitionIndex}: empty ListOffsets response`);
        if (pr.errorCode !== ErrorCode.NONE) throw kafkaErrorFor(pr.errorCode, `ListOffsets for ${opts.topic}-${p.partitionIndex}`);
        return pr.offset;
      };
      const end = await list(LATEST_TIMESTAMP);
      const start = opts.offset === "end" ? end : typeof opts.offset === "number" ? opts.offset : await list(EARLIEST_TIMESTAMP);
      states.push({ partition: p.partitionIndex, leader: p.leaderId, fetchOffset: start, endOffset: end, maxBytes: INITIAL_PARTITION_MAX_BYTES, done: opts.count === undefined && start >= end });
    }

    let emitted = 0;
    let lastProgress = Date.now();
    const idle = opts.idleTimeoutMs ?? 30_000;
    while (states.some((s) => !s.done) && (opts.count === undefined || emitted < opts.count)) {
      const byLeader = new Map<number, PartitionState[]>();
      for (const s of states) if (!s.done) byLeader.set(s.leader, [...(byLeader.get(s.leader) ?? []), s]);
      let progressed = false;
      for (const [leader, group] of byLeader) {
        const conn = await leaderConn(leader);
        const fv = Math.min(FETCH_MAX_VERSION, versionFor(conn, Fetch));
        const res = await conn.request(Fetch, fv, {
          maxWaitMs: opts.count === undefined ? 0 : 500, minBytes: 1, maxBytes: MAX_PARTITION_MAX_BYTES,
          topics: [{ topic: opts.topic, partitions: group.map((s) => ({ partition: s.partition, fetchOffset: s.fetchOffset, partitionMaxBytes: s.maxBytes })) }],
        });
        for (const t of res.responses) {
          for (const pr of t.partitions) {
            const s = group.find((g) => g.partition === pr.partitionIndex);
            if (!s) continue;
            if (pr.errorCode !== ErrorCode.NONE) throw kafkaErrorFor(pr.errorCode, `Fetch from ${opts.topic}-${s.partition} at offset ${s.fetchOffset}`);
            const bytes = pr.records ?? new Uint8Array(0);
            if (bytes.length > 0) opts.onRawRecords?.(s.partition, bytes);
            const batches = await decodeRecordBatchesAsync(bytes, { codecForAttribute, allowPartialTrailingBatch: true });
            if (batches.length === 0 && bytes.length > 0) {
              // Only a partial batch came back: the next batch is larger than partitionMaxBytes.
              if (s.maxBytes >= MAX_PARTITION_MAX_BYTES) throw new ClientError("RECORD_TOO_LARGE", `Cannot consume ${opts.topic}-${s.partition} at offset ${s.fetchOffset}: a batch is larger than ${MAX_PARTITION_MAX_BYTES} bytes`);
              s.maxBytes *= 2;
              continue;
            }
            for (const b of batches) {
              const next = b.baseOffset + b.lastOffsetDelta + 1;
              if ((b.attributes & CONTROL) === 0) {
                for (const r of b.records) {
                  if (r.offset < s.fetchOffset) continue; // a compressed batch starts before the fetch offset
                  if (opts.count !== undefined && emitted >= opts.count) break;
                  if (opts.count === undefined && r.offset >= s.endOffset) break;
                  emitted++;
                  progressed = true;
                  yield { topic: opts.topic, partition: s.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers };
                }
              }
              if (next > s.fetchOffset) { s.fetchOffset = next; progressed = true; }
            }
            if (opts.count === undefined && s.fetchOffset >= s.endOffset) s.done = true;
          }
        }
      }
      if (progressed) lastProgress = Date.now();
      else if (opts.count !== undefined && Date.now() - lastProgress > idle) {
        throw new ClientError("REQUEST_TIMEOUT", `Cannot consume ${opts.count} records from ${opts.topic}: got ${emitted}, none new for ${idle} ms`);
      }
    }
  } finally {
    brokers.close();
  }
}

const spec = {
  brokers: { type: "string", required: true, valueName: "H:P[,H:P]", description: "bootstrap brokers" },
  topic: { type: "string", required: true, valueName: "T", description: "topic to read" },
  partition: { type: "number", integer: true, min: 0, valueName: "P", description: "one partition (default: all)" },
  offset: { type: "string", default: "beginning", valueName: "beginning|end|N", description: "where to start in each partition" },
  count: { type: "number", integer: true, min: 1, valueName: "N", description: "stop after N records, waiting for them (default: read to the current end)" },
  binary: { type: "boolean", description: "key, value and header values as base64 instead of UTF-8" },
  group: { type: "string", valueName: "G", description: "join consumer group G (committed offsets, partitions shared with its other members; runs until Ctrl-C, which leaves the group)" },
  "timeout-ms": { type: "number", default: 30000, integer: true, min: 1, valueName: "N", description: "with --count: give up after N ms without a new record" },
} as const satisfies OptionSpecs;

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The JSON line for one record (without the newline). */
export function formatRecord(r: ConsumedRecord, binary = false): string {
  const dec = new TextDecoder();
  const text = (b: Uint8Array | null) => (b === null ? null : binary ? toBase64(b) : dec.decode(b));
  return JSON.stringify({
    topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp,
    key: text(r.key), value: text(r.value), headers: r.headers.map((h) => [h.key, text(h.value)]),
  });
}

/** CLI entry: `kafkasm consume --brokers … --topic T [--partition P] [--offset beginning|end|N] [--count N] [--binary]`. */
export async function run(argv: string[]): Promise<number> {
  const { options, help } = parseArgs(argv, spec);
  if (help) {
    process.stdout.write(formatHelp("kafkasm consume --brokers H:P --topic T [options]", "Read records (Fetch, no consumer group); one JSON line per record.", spec, [
      'Output: {"topic","partition","offset","timestamp","key","value","headers":[[k,v],…]}',
    ]));
    return 0;
  }
  let offset: "beginning" | "end" | number;
  if (options.offset === "beginning" || options.offset === "end") offset = options.offset;
  else if (/^\d+$/.test(options.offset)) offset = Number(options.offset);
  else throw new UsageError(`Option --offset expects beginning, end or a non-negative integer, got "${options.offset}"`);
  const { nodeTransport } = await import("../transport/node.ts");
  if (options.group !== undefined) return runGroup(options, nodeTransport);
  const out = process.stdout;
  let pending = "";
  const flush = async () => {
    if (pending === "") return;
    const chunk = pending;
    pending = "";
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", resolve));
  };
  for await (const r of consume({
    brokers: parseBrokers(options.brokers), topic: options.topic, partition: options.partition, offset,
    count: options.count, transport: nodeTransport, idleTimeoutMs: options.timeoutMs,
  })) {
    pending += formatRecord(r, options.binary === true) + "\n";
    if (pending.length > 65536) await flush();
  }
  await flush();
  return 0;
}

/**
 * `--group G`: a group member (src/consumer) printing JSON lines; auto-commit of what was printed.
 * Ctrl-C (SIGINT/SIGTERM) closes it: commit, onPartitionsRevoked, LeaveGroup, then exit 0.
 */
async function runGroup(options: { brokers: string; topic: string; group?: string; offset: string; count?: number; binary?: boolean }, transport: Transport): Promise<number> {
  if (options.offset !== "beginning" && options.offset !== "end") throw new UsageError("Option --offset with --group expects beginning or end (where to start without a committed offset)");
  const { Consumer } = await import("../consumer/consumer.ts");
  const consumer = new Consumer({ brokers: parseBrokers(options.brokers), transport, groupId: options.group!, topics: [options.topic], clientId: "kafkasm-consume",
    autoOffsetReset: options.offset === "beginning" ? "earliest" : "latest",
    onPartitionsAssigned: (l) => { process.stderr.write(`assigned ${l.map((t) => `${t.topic}-${t.partition}`).join(" ") || "(none)"}\n`); },
    onPartitionsRevoked: (l) => { process.stderr.write(`revoked ${l.map((t) => `${t.topic}-${t.partition}`).join(" ")}\n`); } });
  const stop = () => { void consumer.close(); };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let n = 0;
  try {
    for await (const r of consumer) {
      if (!process.stdout.write(formatRecord(r, options.binary === true) + "\n")) await new Promise<void>((resolve) => process.stdout.once("drain", resolve));
      if (options.count !== undefined && ++n >= options.count) break;
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await consumer.close();
  }
  return 0;
}
