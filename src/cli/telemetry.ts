/**
 * The `npm start` demo's workload and its verifier, kept apart from the terminal code so that tests
 * can feed the verifier bad data. The verifier trusts nothing kafkasm computed: it re-derives the
 * expected partition with its own Java-compatible murmur2 and checks what kcat read back.
 */

/** One telemetry event as produced: a device id as the key, a JSON value, and headers. */
export interface TelemetryEvent {
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
  /** Index of the event's device and its per-device sequence number (also in the value). */
  readonly device: number;
  readonly seq: number;
}

const EVENT_TYPES = ["reading", "reading", "reading", "reading", "heartbeat", "heartbeat", "alert", "boot"] as const;
const FIRMWARE = ["2.4.1", "2.4.2", "2.5.0"] as const;

/** Device key for device index `i`: "sensor-00042". */
export function deviceKey(i: number): string {
  return `sensor-${String(i).padStart(5, "0")}`;
}

/**
 * Deterministic generator of `count` events over `devices` devices (a fixed seed gives the same run
 * every time). Devices are picked at random, so a partition interleaves many keys, each with its
 * own increasing `seq`.
 */
export class TelemetryWorkload {
  readonly count: number;
  readonly devices: number;
  /** Events generated so far per device (the next `seq`). */
  readonly perDevice: Uint32Array;
  private state: number;
  private readonly baseTime: number;
  private produced = 0;

  constructor(options: { count: number; devices?: number; seed?: number; baseTime?: number }) {
    this.count = options.count;
    this.devices = options.devices ?? Math.min(2000, Math.max(1, Math.ceil(options.count / 50)));
    this.perDevice = new Uint32Array(this.devices);
    this.state = (options.seed ?? 0x6b61666b) >>> 0;
    this.baseTime = options.baseTime ?? Date.UTC(2026, 0, 1);
  }

  /** mulberry32: small, fast, good enough to make data look varied. */
  private random(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** The next event, or undefined once `count` were generated. */
  next(): TelemetryEvent | undefined {
    if (this.produced >= this.count) return undefined;
    const n = this.produced++;
    const device = Math.floor(this.random() * this.devices);
    const seq = this.perDevice[device]!++;
    const type = EVENT_TYPES[Math.floor(this.random() * EVENT_TYPES.length)]!;
    const ts = this.baseTime + n * 7;
    const key = deviceKey(device);
    let body: string;
    if (type === "reading") {
      body = `"temp":${(18 + this.random() * 9).toFixed(2)},"humidity":${(30 + this.random() * 40).toFixed(1)},"battery":${90 - (seq % 80)}`;
    } else if (type === "heartbeat") {
      body = `"uptimeS":${seq * 60},"rssi":${-40 - Math.floor(this.random() * 50)}`;
    } else if (type === "alert") {
      body = `"level":"${this.random() < 0.2 ? "critical" : "warning"}","code":"TEMP_HIGH"`;
    } else {
      body = `"firmware":"${FIRMWARE[device % FIRMWARE.length]}"`;
    }
    const value = `{"device":"${key}","seq":${seq},"type":"${type}","ts":${ts},${body}}`;
    const trace = (Math.floor(this.random() * 0x100000000) >>> 0).toString(16).padStart(8, "0") + n.toString(16).padStart(8, "0");
    return { key, value, device, seq, headers: { "event-type": type, "trace-id": trace, "content-type": "application/json" } };
  }
}

/** Java's `Utils.murmur2` (seed 0x9747b28c), as a signed int32; written here as an independent oracle. */
export function javaMurmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length % 4) {
    case 3: h ^= (data[tail + 2]! & 0xff) << 16; // falls through
    case 2: h ^= (data[tail + 1]! & 0xff) << 8; // falls through
    case 1: h ^= data[tail]! & 0xff; h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

const utf8 = new TextEncoder();

/** The partition the Java client's default partitioner picks for a key: toPositive(murmur2) % n. */
export function javaPartition(key: string | Uint8Array, partitions: number): number {
  const bytes = typeof key === "string" ? utf8.encode(key) : key;
  return (javaMurmur2(bytes) & 0x7fffffff) % partitions;
}

/** A record as read back (kcat's JSON envelope: test/harness/kcat.ts KcatRecord). */
export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly payload: string | null;
  /** [name, value] pairs (test/harness/kcat.ts), kcat -J's flat [name, value, …] list, or a map. */
  readonly headers?: readonly (readonly [string, string | null])[] | readonly (string | null)[] | Record<string, string> | null;
}

/** One verified property, for the demo's report. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Verification {
  readonly ok: boolean;
  readonly checks: Check[];
  /** The first few concrete problems found (empty when ok). */
  readonly problems: string[];
}

/** What was produced: per device, how many events (seq 0..n-1), and the partition count. */
export interface Expected {
  readonly perDevice: Uint32Array;
  readonly partitions: number;
  /** Total events acknowledged by the producer. */
  readonly count: number;
}

function headerMap(h: ReadRecord["headers"]): Record<string, string | null> {
  if (!h) return {};
  if (!Array.isArray(h)) return h as Record<string, string>;
  const out: Record<string, string | null> = {};
  if (h.length > 0 && Array.isArray(h[0])) {
    for (const [k, v] of h as readonly (readonly [string, string | null])[]) out[k] = v;
  } else {
    // kcat -J prints headers as a flat [name, value, name, value…] array.
    for (let i = 0; i + 1 < h.length; i += 2) out[String(h[i])] = h[i + 1] as string | null;
  }
  return out;
}

/**
 * Verifies records read back from the topic against what was produced: the exact count, no
 * duplicates, nothing missing, each key on one partition (Java's murmur2 choice) and its events in
 * send order by offset, headers intact.
 */
export function verifyTelemetry(records: readonly ReadRecord[], expected: Expected): Verification {
  const problems: string[] = [];
  const note = (p: string) => { if (problems.length < 10) problems.push(p); };
  const devices = expected.perDevice.length;
  // Per device: a bitmap of seen seqs, the last seq by offset order and the partition used.
  const seenSeq = new Map<number, Uint8Array>();
  const lastSeq = new Int32Array(devices).fill(-1);
  let duplicates = 0, unknown = 0, outOfOrder = 0, wrongPartition = 0, badHeaders = 0, badOffsets = 0;
  const sorted = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const lastOffset = new Map<number, number>();
  for (const r of sorted) {
    const prevOffset = lastOffset.get(r.partition);
    if (prevOffset !== undefined && r.offset === prevOffset) { badOffsets++; note(`partition ${r.partition} offset ${r.offset} read twice`); }
    lastOffset.set(r.partition, r.offset);
    let ev: { device?: unknown; seq?: unknown; type?: unknown };
    try { ev = JSON.parse(r.payload ?? "null") ?? {}; } catch { ev = {}; }
    const m = typeof ev.device === "string" ? /^sensor-(\d{5})$/.exec(ev.device) : null;
    const device = m ? Number(m[1]) : -1;
    const seq = typeof ev.seq === "number" ? ev.seq : -1;
    if (device < 0 || device >= devices || seq < 0 || seq >= expected.perDevice[device]! || r.key !== ev.device) {
      unknown++;
      note(`partition ${r.partition} offset ${r.offset}: unexpected record key=${r.key} value=${(r.payload ?? "null").slice(0, 80)}`);
      continue;
    }
    let bits = seenSeq.get(device);
    if (!bits) seenSeq.set(device, (bits = new Uint8Array(expected.perDevice[device]!)));
    if (bits[seq]) { duplicates++; note(`duplicate: ${r.key} seq ${seq} again at partition ${r.partition} offset ${r.offset}`); continue; }
    bits[seq] = 1;
    if (seq <= lastSeq[device]!) {
      outOfOrder++;
      note(`out of order: ${r.key} seq ${seq} at partition ${r.partition} offset ${r.offset} after seq ${lastSeq[device]}`);
    }
    lastSeq[device] = Math.max(lastSeq[device]!, seq);
    const want = javaPartition(r.key!, expected.partitions);
    if (r.partition !== want) { wrongPartition++; note(`${r.key} on partition ${r.partition}, Java's murmur2 picks ${want}`); }
    const h = headerMap(r.headers);
    if (h["event-type"] !== ev.type || typeof h["trace-id"] !== "string" || h["content-type"] !== "application/json") {
      badHeaders++;
      note(`${r.key} seq ${seq}: headers ${JSON.stringify(h)} do not match the event`);
    }
  }
  let missing = 0;
  for (let d = 0; d < devices; d++) {
    const n = expected.perDevice[d]!;
    const bits = seenSeq.get(d);
    for (let s = 0; s < n; s++) {
      if (!bits || !bits[s]) { missing++; note(`missing: ${deviceKey(d)} seq ${s}`); }
    }
  }
  const fmt = (n: number) => n.toLocaleString("en-US");
  const checks: Check[] = [
    { name: "count", ok: records.length === expected.count, detail: `${fmt(records.length)} read back, ${fmt(expected.count)} acknowledged` },
    { name: "nothing missing", ok: missing === 0, detail: missing ? `${fmt(missing)} events missing` : "every (device, seq) present" },
    { name: "no duplicates", ok: duplicates === 0 && badOffsets === 0, detail: duplicates ? `${fmt(duplicates)} duplicates` : "each (device, seq) exactly once" },
    { name: "no foreign records", ok: unknown === 0, detail: unknown ? `${fmt(unknown)} records not from this run` : "every record is one we sent" },
    { name: "per-key order", ok: outOfOrder === 0, detail: outOfOrder ? `${fmt(outOfOrder)} out of order` : `each of ${fmt(seenSeq.size)} devices in send order by offset` },
    { name: "Java partitioning", ok: wrongPartition === 0, detail: wrongPartition ? `${fmt(wrongPartition)} on the wrong partition` : `every key on murmur2(key) % ${expected.partitions}, as the Java client picks` },
    { name: "headers", ok: badHeaders === 0, detail: badHeaders ? `${fmt(badHeaders)} with wrong headers` : "event-type, trace-id, content-type intact" },
  ];
  return { ok: checks.every((c) => c.ok), checks, problems };
}

/**
 * Verification for runs too large to read back (the mock keeps ~5 MiB per partition): the number of
 * records each partition gained must equal the number of events whose key Java's murmur2 puts there.
 */
export function verifyOffsets(
  before: readonly { partition: number; high: number }[],
  after: readonly { partition: number; high: number }[],
  expected: Expected,
): Verification {
  const want = new Array<number>(expected.partitions).fill(0);
  for (let d = 0; d < expected.perDevice.length; d++) want[javaPartition(deviceKey(d), expected.partitions)]! += expected.perDevice[d]!;
  const problems: string[] = [];
  let total = 0;
  for (let p = 0; p < expected.partitions; p++) {
    const b = before.find((o) => o.partition === p)?.high ?? 0;
    const a = after.find((o) => o.partition === p)?.high;
    const got = a === undefined ? NaN : a - b;
    total += got;
    if (got !== want[p]) problems.push(`partition ${p}: ${got} new records, expected ${want[p]}`);
  }
  const fmt = (n: number) => n.toLocaleString("en-US");
  const checks: Check[] = [
    { name: "count", ok: total === expected.count, detail: `${fmt(total)} new offsets, ${fmt(expected.count)} acknowledged` },
    { name: "Java partitioning", ok: problems.length === 0, detail: problems.length ? problems.join("; ") : `each partition grew by exactly its keys' events (murmur2 % ${expected.partitions})` },
  ];
  return { ok: checks.every((c) => c.ok), checks, problems };
}
