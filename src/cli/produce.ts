/**
 * `kafkasm produce`: one record per stdin line (`key<separator>value` with --key-separator),
 * streamed: stdin is read only as fast as the producer acknowledges (a bounded window of
 * unacknowledged bytes), so input of any size runs in constant memory. Exits 0 only when every
 * record was acknowledged; the last stdout line is JSON {"records":N,"failed":F,"seconds":S}.
 */
import { formatHelp, parseAcks, parseArgs, parseBrokers, UsageError, type OptionSpecs } from "./args.ts";

const spec = {
  brokers: { type: "string", required: true, valueName: "H:P[,H:P]", description: "bootstrap brokers" },
  topic: { type: "string", required: true, valueName: "T", description: "topic to produce to" },
  acks: { type: "string", default: "all", valueName: "0|1|all", description: "acknowledgements to wait for" },
  idempotent: { type: "boolean", description: "idempotent producer; --no-idempotent turns it off (default: on with acks all)" },
  compression: { type: "string", default: "none", choices: ["none", "gzip", "snappy", "lz4", "zstd"], description: "batch compression" },
  "key-separator": { type: "string", valueName: "S", description: "split each line at the first S into key and value (no S in a line: null key)" },
  "linger-ms": { type: "number", default: 5, integer: true, min: 0, valueName: "N", description: "how long a batch waits for more records" },
  "timeout-ms": { type: "number", default: 120000, integer: true, min: 1, valueName: "N", description: "give up on a record after N ms (deliveryTimeoutMs, maxBlockMs)" },
} as const satisfies OptionSpecs;

/** Reported failures are capped so that a dead cluster does not print a line per record. */
const MAX_REPORTED = 20;
/** Unacknowledged input bytes before reading pauses. */
const WINDOW_BYTES = 4 * 1024 * 1024;

interface LineProducer {
  send(record: { topic: string; key: Uint8Array | null; value: Uint8Array }, cb: (error: unknown) => void): void;
  flush(): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Splits a byte stream into lines (without the "\n"; a final line without "\n" counts too). */
export async function* lines(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array | undefined;
  for await (const c of input) {
    let chunk = c;
    let pos = 0;
    if (carry) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        const joined = new Uint8Array(carry.length + chunk.length);
        joined.set(carry); joined.set(chunk, carry.length);
        carry = joined;
        continue;
      }
      const line = new Uint8Array(carry.length + nl);
      line.set(carry); line.set(chunk.subarray(0, nl), carry.length);
      carry = undefined;
      yield line;
      pos = nl + 1;
    }
    for (let nl = chunk.indexOf(10, pos); nl !== -1; nl = chunk.indexOf(10, pos)) {
      yield chunk.subarray(pos, nl);
      pos = nl + 1;
    }
    carry = pos < chunk.length ? chunk.subarray(pos) : undefined;
  }
  if (carry && carry.length) yield carry;
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return `${typeof e?.code === "string" ? e.code : "ERROR"}: ${String(e?.message ?? error)}`;
}

/** `kafkasm produce …`; `input`/`out`/`err` are injectable for tests. */
export async function run(argv: string[], io: {
  input?: AsyncIterable<Uint8Array>; out?: (s: string) => void; err?: (s: string) => void;
} = {}): Promise<number> {
  const { options: o, help } = parseArgs(argv, spec);
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  if (help) {
    out(formatHelp("kafkasm produce --brokers H:P[,H:P] --topic T [options] < lines",
      "Produces one record per stdin line (key<S>value with --key-separator S), streaming.\n" +
      "Exits 0 only when every record was acknowledged. Failures go to stderr with their error code;\n" +
      "the last stdout line is JSON {\"records\":N,\"failed\":F,\"seconds\":S} (records = lines read).", spec));
    return 0;
  }
  const brokers = parseBrokers(o.brokers);
  const acks = parseAcks(o.acks);
  if (o.keySeparator === "") throw new UsageError("Option --key-separator must not be empty");
  const separator = o.keySeparator === undefined ? undefined : new TextEncoder().encode(o.keySeparator);

  const { Producer } = await import("../index.ts");
  const producer = new Producer({
    brokers, acks, clientId: "kafkasm-cli", lingerMs: o.lingerMs,
    deliveryTimeoutMs: o.timeoutMs, maxBlockMs: o.timeoutMs,
    requestTimeoutMs: Math.max(1, Math.min(30_000, o.timeoutMs - o.lingerMs)),
    ...(o.idempotent === undefined ? {} : { idempotent: o.idempotent }),
    ...(o.compression === "none" ? {} : { compression: o.compression as "gzip" }),
  }) as unknown as LineProducer;

  let records = 0, done = 0, failed = 0, reported = 0;
  let pendingBytes = 0;
  let wake: (() => void) | undefined;
  const failures = new Map<string, number>();
  const fail = (line: number, error: unknown) => {
    failed++;
    const code = (error as { code?: unknown })?.code;
    const key = typeof code === "string" ? code : "ERROR";
    failures.set(key, (failures.get(key) ?? 0) + 1);
    if (reported++ < MAX_REPORTED) err(`kafkasm produce: line ${line}: ${describe(error)}\n`);
  };

  let interrupted = false;
  const input = io.input ?? process.stdin;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    err("kafkasm produce: interrupted; delivering what was read (Ctrl-C again to quit now)\n");
    wake?.();
    // Stop a read that waits for input (a terminal) so that the loop ends now.
    if (input === process.stdin) process.stdin.destroy();
  };
  process.on("SIGINT", onSigint);

  const start = performance.now();
  try {
    try {
      for await (const line of lines(input)) {
        if (interrupted) break;
        const n = ++records;
        let key: Uint8Array | null = null;
        let value = line;
        if (separator) {
          const at = indexOf(line, separator);
          if (at !== -1) { key = line.subarray(0, at); value = line.subarray(at + separator.length); }
        }
        const size = line.length + 64;
        pendingBytes += size;
        try {
          producer.send({ topic: o.topic, key, value }, (error) => {
            done++;
            pendingBytes -= size;
            if (error) fail(n, error);
            if (wake && pendingBytes <= WINDOW_BYTES / 2) { const w = wake; wake = undefined; w(); }
          });
        } catch (error) {
          done++;
          pendingBytes -= size;
          fail(n, error);
        }
        // Backpressure: stop pulling stdin while too much is unacknowledged.
        if (pendingBytes > WINDOW_BYTES) await new Promise<void>((r) => (wake = r));
      }
    } catch (error) {
      // Destroying stdin on Ctrl-C ends the read with an error; anything else is a real failure.
      if (!interrupted) throw error;
    }
    await producer.flush();
    await producer.close();
  } catch (error) {
    err(`kafkasm produce: ${describe(error)}\n`);
    await producer.close({ timeoutMs: 1000 }).catch(() => {});
    // Records never acknowledged count as failed.
    failed += records - done;
    done = records;
  } finally {
    process.off("SIGINT", onSigint);
  }
  if (done < records) failed += records - done;
  const seconds = Math.round((performance.now() - start)) / 1000;
  if (failed > 0) {
    const summary = [...failures].map(([code, count]) => `${code} × ${count}`).join(", ");
    err(`kafkasm produce: ${failed} of ${records} records failed${summary ? ` (${summary})` : ""}\n`);
  }
  out(JSON.stringify({ records, failed, seconds }) + "\n");
  return interrupted ? 130 : failed > 0 ? 1 : 0;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 1) return haystack.indexOf(needle[0]!);
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
