// Read-back and write helpers built on kcat (librdkafka), an independent client, so that tests
// assert on what another implementation produces and consumes. Every kcat is killed on timeout.
import { spawn, type ChildProcess } from "node:child_process";

/** One record as `kcat -C -J` prints it. Key and payload are UTF-8 decoded (use consumeBytes for binary). */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  /** In wire order, duplicates kept: [key, value] pairs. `Object.fromEntries(r.headers)` for a map. */
  headers: [string, string | null][];
  /** "create" | "logappend" | "unknown" */
  tstype?: string;
  ts: number;
}

/** One record with exact bytes (from a length-prefixed `kcat -f` format; no headers). */
export interface KcatBytesRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  payload: Uint8Array | null;
}

export interface KcatMetadata {
  brokers: { id: number; name: string }[];
  topics: { topic: string; error?: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[]; error?: string }[] }[];
}

export class KcatError extends Error {
  readonly code = "KCAT_FAILED";
  constructor(message: string, readonly exitCode: number | null, readonly stderr: string, readonly stdout: Buffer) {
    super(message);
    this.name = "KcatError";
  }
}

export interface KcatResult { exitCode: number; stdout: Buffer; stderr: string; elapsedMs: number }

const live = new Set<ChildProcess>();
process.on("exit", () => { for (const c of live) { try { c.kill("SIGKILL"); } catch { /* gone */ } } });

/** Allow only loopback brokers: the test machine must not talk to anything else by accident. */
function checkBootstrap(bootstrap: string): string {
  if (!process.env.KAFKA_BROKERS) {
    for (const hp of bootstrap.split(",")) {
      const host = hp.slice(0, hp.lastIndexOf(":"));
      if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
        throw new TypeError(`Refusing to run kcat against ${JSON.stringify(hp)}: tests use 127.0.0.1 only (set KAFKA_BROKERS for a real cluster)`);
      }
    }
  }
  return bootstrap;
}

/**
 * Runs kcat with `args`, feeding `input` on stdin; kills it (SIGKILL) after `timeoutMs`.
 * Resolves with the exit code whatever it is; rejects only on timeout or spawn failure.
 */
export function runKcat(args: string[], opts: { input?: Uint8Array | string; timeoutMs?: number } = {}): Promise<KcatResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("kcat", args, { stdio: ["pipe", "pipe", "pipe"] });
    live.add(child);
    const out: Buffer[] = [];
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => { if (stderr.length < 256_000) stderr += d; });
    child.stdin.on("error", () => { /* kcat may exit before reading everything */ });
    const timer = setTimeout(() => { timedOut = true; child.kill("SIGKILL"); }, timeoutMs);
    child.once("error", (e) => { clearTimeout(timer); live.delete(child); reject(new KcatError(`Cannot run kcat: ${e.message}`, null, stderr, Buffer.alloc(0))); });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const stdout = Buffer.concat(out);
      if (timedOut) reject(new KcatError(`kcat ${args.join(" ")} timed out after ${timeoutMs} ms; stderr: ${stderr.trim().slice(-2000)}`, null, stderr, stdout));
      else resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr, elapsedMs: Date.now() - started });
    });
    child.stdin.end(opts.input ?? "");
  });
}

async function runOk(args: string[], what: string, opts: { input?: Uint8Array | string; timeoutMs?: number } = {}): Promise<KcatResult> {
  const r = await runKcat(args, opts);
  if (r.exitCode !== 0) throw new KcatError(`${what} failed (kcat exit ${r.exitCode}): ${r.stderr.trim().slice(-2000)}`, r.exitCode, r.stderr, r.stdout);
  return r;
}

function configArgs(config: Record<string, string | number | boolean> | undefined): string[] {
  return Object.entries(config ?? {}).flatMap(([k, v]) => ["-X", `${k}=${v}`]);
}

export interface ConsumeOptions {
  /** Only this partition (default: all). */
  partition?: number;
  /** Wait for exactly this many records; without it, read to the end of every partition (-e). */
  count?: number;
  /** Default 30 000 ms; on timeout the error says how many records arrived. */
  timeoutMs?: number;
  /** Start offset (default "beginning"). */
  offset?: "beginning" | "end" | number;
  /** Extra librdkafka settings (-X). */
  config?: Record<string, string | number | boolean>;
}

function consumeArgs(bootstrap: string, topic: string, o: ConsumeOptions): string[] {
  const args = ["-b", checkBootstrap(bootstrap), "-C", "-t", topic, "-o", String(o.offset ?? "beginning"), "-q", "-u"];
  if (o.partition !== undefined) args.push("-p", String(o.partition));
  if (o.count !== undefined) args.push("-c", String(o.count));
  else args.push("-e");
  return [...args, ...configArgs(o.config)];
}

function byPartitionOffset<T extends { partition: number; offset: number }>(a: T, b: T): number {
  return a.partition - b.partition || a.offset - b.offset;
}

/**
 * Consumes `topic` with `kcat -C -J` from the beginning: `count` records (waiting for them), or
 * everything up to the end of each partition when `count` is omitted. Sorted by partition, offset.
 */
export async function consumeAll(bootstrap: string, topic: string, opts: ConsumeOptions = {}): Promise<KcatRecord[]> {
  if (opts.count === 0) return [];
  const args = [...consumeArgs(bootstrap, topic, opts), "-J"];
  let r: KcatResult;
  try {
    r = await runOk(args, `Consuming ${topic}`, { timeoutMs: opts.timeoutMs });
  } catch (e) {
    if (e instanceof KcatError && e.exitCode === null && opts.count !== undefined) {
      const got = e.stdout.toString("utf8").split("\n").filter((l) => l.startsWith("{")).length;
      e.message = `Consuming ${topic}: got ${got} of ${opts.count} records before the timeout (${e.message})`;
    }
    throw e;
  }
  const records: KcatRecord[] = [];
  for (const line of r.stdout.toString("utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line) as { topic: string; partition: number; offset: number; tstype?: string; ts: number; headers?: (string | null)[]; key: string | null; payload: string | null };
    const headers: [string, string | null][] = [];
    for (let i = 0; j.headers && i + 1 < j.headers.length; i += 2) headers.push([String(j.headers[i]), j.headers[i + 1]]);
    records.push({ topic: j.topic, partition: j.partition, offset: j.offset, key: j.key ?? null, payload: j.payload ?? null, headers, tstype: j.tstype, ts: j.ts });
  }
  if (opts.count !== undefined && records.length !== opts.count) {
    throw new KcatError(`Consuming ${topic}: expected ${opts.count} records, parsed ${records.length}`, 0, r.stderr, r.stdout);
  }
  return records.sort(byPartitionOffset);
}

/** Like consumeAll but binary-exact key and payload (no headers), via `-f '%p %o %T %K %S\n%k%s'`. */
export async function consumeBytes(bootstrap: string, topic: string, opts: ConsumeOptions = {}): Promise<KcatBytesRecord[]> {
  if (opts.count === 0) return [];
  const args = [...consumeArgs(bootstrap, topic, opts), "-f", "%p %o %T %K %S\\n%k%s"];
  const r = await runOk(args, `Consuming ${topic}`, { timeoutMs: opts.timeoutMs });
  const buf = r.stdout;
  const records: KcatBytesRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw new KcatError(`Consuming ${topic}: truncated kcat output at byte ${pos}`, 0, r.stderr, buf);
    const [p, o, t, kl, sl] = buf.subarray(pos, nl).toString("latin1").split(" ").map(Number);
    pos = nl + 1;
    const take = (len: number): Uint8Array | null => {
      if (len < 0) return null;
      if (pos + len > buf.length) throw new KcatError(`Consuming ${topic}: truncated record at offset ${o}`, 0, r.stderr, buf);
      const bytes = new Uint8Array(buf.subarray(pos, pos + len));
      pos += len;
      return bytes;
    };
    const key = take(kl);
    const payload = take(sl);
    records.push({ topic, partition: p, offset: o, timestamp: t, key, payload });
  }
  return records.sort(byPartitionOffset);
}

/** `kcat -L -J` metadata (all topics, or one; asking for one may auto-create it). */
export async function kcatMetadata(bootstrap: string, topic?: string, opts: { autoCreate?: boolean; timeoutMs?: number } = {}): Promise<KcatMetadata> {
  const args = ["-b", checkBootstrap(bootstrap), "-L", "-J", "-m", "5"];
  if (topic !== undefined) args.push("-t", topic);
  if (opts.autoCreate) args.push("-X", "allow.auto.create.topics=true");
  const r = await runOk(args, "Reading metadata", { timeoutMs: opts.timeoutMs });
  return JSON.parse(r.stdout.toString("utf8")) as KcatMetadata;
}

/**
 * Low (log start) and high (next offset to be written) watermarks of every partition, from
 * ListOffsets via `kcat -Q` (timestamp -2 = earliest, -1 = latest). Use this to check runs larger
 * than the mock's ~5 MiB per-partition retention.
 */
export async function queryOffsets(bootstrap: string, topic: string, opts: { timeoutMs?: number } = {}): Promise<{ partition: number; low: number; high: number }[]> {
  const md = await kcatMetadata(bootstrap, topic, { timeoutMs: opts.timeoutMs });
  const t = md.topics.find((x) => x.topic === topic);
  if (!t || t.error || t.partitions.length === 0) throw new KcatError(`Topic ${topic} not found: ${t?.error ?? "no partitions"}`, 0, "", Buffer.alloc(0));
  const partitions = t.partitions.map((p) => p.partition).sort((a, b) => a - b);
  // One query per timestamp: kcat merges duplicate topic:partition entries in one request.
  const query = async (ts: number) => {
    const args = ["-b", bootstrap, "-Q", "-J", ...partitions.flatMap((p) => ["-t", `${topic}:${p}:${ts}`])];
    const r = await runOk(args, `Querying offsets of ${topic}`, { timeoutMs: opts.timeoutMs });
    const j = JSON.parse(r.stdout.toString("utf8")) as Record<string, Record<string, { partition: number; offset: number; error?: string } | string>>;
    const m = new Map<number, number>();
    for (const v of Object.values(j[topic] ?? {})) {
      if (typeof v === "object") {
        if (v.error) throw new KcatError(`Querying offsets of ${topic} [${v.partition}]: ${v.error}`, 0, r.stderr, r.stdout);
        m.set(v.partition, v.offset);
      }
    }
    return m;
  };
  const [low, high] = [await query(-2), await query(-1)];
  return partitions.map((p) => {
    if (!low.has(p) || !high.has(p)) throw new KcatError(`Querying offsets of ${topic}: no answer for partition ${p}`, 0, "", Buffer.alloc(0));
    return { partition: p, low: low.get(p)!, high: high.get(p)! };
  });
}

export interface ProduceOptions {
  /** none | gzip | snappy | lz4 | zstd (kcat -z). */
  compression?: string;
  /** Split each line at the first occurrence into key and value (kcat -K). */
  keyDelimiter?: string;
  /** Headers added to every record (kcat -H key=value). */
  headers?: Record<string, string> | [string, string][];
  partition?: number;
  /** Extra librdkafka settings (-X), e.g. { "message.send.max.retries": 0 }. */
  config?: Record<string, string | number | boolean>;
  timeoutMs?: number;
}

/** Produces one record per line with `kcat -P`; throws KcatError when kcat reports a failure. */
export async function kcatProduce(bootstrap: string, topic: string, lines: string[], opts: ProduceOptions = {}): Promise<KcatResult> {
  for (const l of lines) if (l.includes("\n")) throw new TypeError("kcatProduce: a line cannot contain a newline (it is the record delimiter)");
  const args = ["-b", checkBootstrap(bootstrap), "-P", "-t", topic];
  if (opts.compression) args.push("-z", opts.compression);
  if (opts.keyDelimiter !== undefined) args.push("-K", opts.keyDelimiter);
  if (opts.partition !== undefined) args.push("-p", String(opts.partition));
  const headers = Array.isArray(opts.headers) ? opts.headers : Object.entries(opts.headers ?? {});
  for (const [k, v] of headers) args.push("-H", `${k}=${v}`);
  args.push(...configArgs(opts.config));
  const r = await runOk(args, `Producing to ${topic}`, { input: lines.map((l) => l + "\n").join(""), timeoutMs: opts.timeoutMs });
  // kcat exits 0 even when deliveries failed in some versions; its stderr then says so.
  if (/Delivery failed|ERROR/i.test(r.stderr)) {
    throw new KcatError(`Producing to ${topic} failed: ${r.stderr.trim().slice(-2000)}`, r.exitCode, r.stderr, r.stdout);
  }
  return r;
}
