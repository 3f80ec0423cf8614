// Starts and controls a librdkafka mock cluster (test/harness/mock-cluster.c, a real Kafka protocol
// server on 127.0.0.1) for integration tests, or wraps a real cluster when KAFKA_BROKERS is set.
// See test/harness/README.md for the command protocol and the mock's limits.
import { spawn, execFile, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { kcatMetadata } from "./kcat.ts";

export interface ClusterBroker { id: number; host: string; port: number }

export interface Cluster {
  /** "127.0.0.1:p1,127.0.0.1:p2", in broker id order. */
  readonly bootstrap: string;
  readonly brokers: ClusterBroker[];
  /** True when KAFKA_BROKERS is used: the fault methods then throw ExternalClusterError. */
  readonly external: boolean;
  /** Process id of the mock cluster (undefined with KAFKA_BROKERS). */
  readonly pid?: number;
  /** Creates a topic; on the mock, replicationFactor defaults to min(3, brokers). */
  createTopic(name: string, partitions: number, replicationFactor?: number): Promise<void>;
  /** Closes the broker's connections and makes it refuse new ones (leaders do not move). */
  brokerDown(id: number): Promise<void>;
  brokerUp(id: number): Promise<void>;
  /** Moves a partition's leader (-1: leaderless). Creates the topic if missing. */
  setLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  /** Delays every response of the broker (-1: all brokers) by `ms`. */
  setRtt(brokerId: number, ms: number): Promise<void>;
  /** The next requests of `apiKey` to any broker fail with these codes, in order (one each). */
  pushRequestErrors(apiKey: number, errorCodes: number[]): Promise<void>;
  /** Same on one broker, each with an optional response delay; these take precedence. */
  pushBrokerRequestErrors(brokerId: number, apiKey: number, errors: { code: number; rttMs?: number }[]): Promise<void>;
  // Extras beyond the shared contract (mock only).
  /** How many pushed per-broker errors for `apiKey` are still waiting to be consumed. */
  brokerRequestErrorCount(brokerId: number, apiKey: number): Promise<number>;
  /** Drops the remaining cluster-wide errors for `apiKey`. */
  clearRequestErrors(apiKey: number): Promise<void>;
  /** Narrows the version range the brokers advertise for `apiKey` (-1, -1 disables it). */
  setApiVersion(apiKey: number, minVersion: number, maxVersion: number): Promise<void>;
  /** Error returned for the topic in Metadata (and AddPartitionsToTxn) responses; 0 clears. */
  setTopicError(topic: string, errorCode: number): Promise<void>;
  /** Pins the transaction or group coordinator for `key` to a broker. */
  setCoordinator(keyType: "transaction" | "group", key: string, brokerId: number): Promise<void>;
  /** Sends one raw command line (test/harness/README.md) and returns the reply; throws on {ok:false}. */
  command(line: string): Promise<{ ok: boolean; error?: string; count?: number }>;
  /** Stops the cluster and waits for its process to exit. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Number of brokers, ids 1..N (default 3). Ignored with KAFKA_BROKERS. */
  brokers?: number;
  topics?: { name: string; partitions: number; replicationFactor?: number }[];
}

/** Kafka API keys the mock implements, for pushRequestErrors / setApiVersion. */
export const ApiKey = {
  Produce: 0, Fetch: 1, ListOffsets: 2, Metadata: 3, OffsetCommit: 8, OffsetFetch: 9,
  FindCoordinator: 10, JoinGroup: 11, Heartbeat: 12, LeaveGroup: 13, SyncGroup: 14,
  ApiVersions: 18, InitProducerId: 22, AddPartitionsToTxn: 24, AddOffsetsToTxn: 25, EndTxn: 26,
  TxnOffsetCommit: 28,
} as const;

/** Thrown by fault-injection methods on a KAFKA_BROKERS cluster; tests should skip on it. */
export class ExternalClusterError extends Error {
  readonly code = "EXTERNAL_CLUSTER";
  constructor(method: string) {
    super(`Cannot ${method}: KAFKA_BROKERS is set, and fault injection needs the mock cluster`);
    this.name = "ExternalClusterError";
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const source = join(root, "test", "harness", "mock-cluster.c");
/** Path of the compiled mock cluster program. */
export const mockClusterBinary = join(root, "build", "mock-cluster");
// Hang guards, not measurements: generous for a loaded CI machine.
const commandTimeoutMs = 30_000;
const startTimeoutMs = 30_000;

let building: Promise<string> | undefined;

/** Compiles build/mock-cluster when it is missing or older than its source. */
export function buildMockCluster(): Promise<string> {
  building ??= (async () => {
    if (existsSync(mockClusterBinary) && statSync(mockClusterBinary).mtimeMs >= statSync(source).mtimeMs) {
      return mockClusterBinary;
    }
    mkdirSync(dirname(mockClusterBinary), { recursive: true });
    // Build to a private name and rename: test files run in parallel and may build at once.
    const tmp = `${mockClusterBinary}.${process.pid}.tmp`;
    try {
      await new Promise<void>((resolve, reject) => {
        execFile("gcc", ["-O2", "-Wall", "-o", tmp, source, "-lrdkafka"], { timeout: 180_000 }, (err, _out, stderr) => {
          if (err) reject(new Error(`Cannot build ${mockClusterBinary} (needs gcc and librdkafka-dev; run scripts/setup.sh): ${stderr || err.message}`));
          else resolve();
        });
      });
      renameSync(tmp, mockClusterBinary);
    } finally {
      rmSync(tmp, { force: true });
    }
    return mockClusterBinary;
  })();
  building.catch(() => (building = undefined));
  return building;
}

// Every live mock process, killed synchronously when this process exits however it exits.
const live = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) {
      try { child.kill("SIGKILL"); } catch { /* already gone */ }
    }
  });
}

/** Topic names and keys go into a line protocol: refuse anything that would split the line. */
function token(what: string, value: string): string {
  if (typeof value !== "string" || value.length === 0 || /\s/.test(value)) {
    throw new TypeError(`Invalid ${what} ${JSON.stringify(value)}: must be non-empty without whitespace`);
  }
  return value;
}

function int(what: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`Invalid ${what} ${String(value)}: must be an integer`);
  return value;
}

interface Reply { ok: boolean; error?: string; count?: number }

class MockCluster implements Cluster {
  readonly external = false;
  readonly bootstrap: string;
  readonly brokers: ClusterBroker[];
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: { line: string; resolve(r: Reply): void; reject(e: Error): void; timer: NodeJS.Timeout }[] = [];
  private readonly exited: Promise<void>;
  private exitInfo: string | undefined;
  private stderr = "";
  private stopping: Promise<void> | undefined;

  constructor(child: ChildProcessWithoutNullStreams, hello: { bootstrap: string; brokers: ClusterBroker[] },
    lines: AsyncIterator<string>, exited: Promise<void>, stderrRef: { text: string }) {
    this.child = child;
    this.pid = child.pid!;
    this.bootstrap = hello.bootstrap;
    this.brokers = hello.brokers;
    this.exited = exited.then(() => {
      this.exitInfo = `mock cluster (pid ${this.pid}) exited${stderrRef.text ? `: ${stderrRef.text.trim()}` : ""}`;
      for (const p of this.pending.splice(0)) { clearTimeout(p.timer); p.reject(new Error(`${this.exitInfo} before answering "${p.line}"`)); }
    });
    void this.readReplies(lines);
  }

  private async readReplies(lines: AsyncIterator<string>): Promise<void> {
    for (;;) {
      const next = await lines.next().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      const p = this.pending.shift();
      if (!p) continue; // a reply after a timed-out command: already reported
      clearTimeout(p.timer);
      try { p.resolve(JSON.parse(next.value) as Reply); }
      catch { p.reject(new Error(`mock cluster answered "${p.line}" with unparsable ${JSON.stringify(next.value)}`)); }
    }
  }

  /** Sends one raw command line (see README) and returns its JSON reply; throws on {ok:false}. */
  async command(line: string): Promise<Reply> {
    if (/[\r\n]/.test(line)) throw new TypeError(`Invalid command ${JSON.stringify(line)}: one line only`);
    if (this.exitInfo || this.stopping) throw new Error(`Cannot send "${line}": ${this.exitInfo ?? "mock cluster is stopping"}`);
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.pending.findIndex((p) => p.timer === timer);
        // Keep the slot so that the late reply is matched to it and dropped, not to the next command.
        if (i >= 0) this.pending[i] = { ...this.pending[i], resolve() {}, reject() {} };
        reject(new Error(`mock cluster did not answer "${line}" within ${commandTimeoutMs} ms`));
      }, commandTimeoutMs);
      this.pending.push({ line, resolve, reject, timer });
      this.child.stdin.write(line + "\n");
    });
    if (!reply.ok) throw new Error(`mock cluster: "${line}" failed: ${reply.error}`);
    return reply;
  }

  async createTopic(name: string, partitions: number, replicationFactor?: number): Promise<void> {
    const rf = replicationFactor === undefined ? "" : ` ${int("replicationFactor", replicationFactor)}`;
    await this.command(`create ${token("topic", name)} ${int("partitions", partitions)}${rf}`);
  }
  async brokerDown(id: number): Promise<void> { await this.command(`down ${int("broker id", id)}`); }
  async brokerUp(id: number): Promise<void> { await this.command(`up ${int("broker id", id)}`); }
  async setLeader(topic: string, partition: number, brokerId: number): Promise<void> {
    await this.command(`leader ${token("topic", topic)} ${int("partition", partition)} ${int("broker id", brokerId)}`);
  }
  async setRtt(brokerId: number, ms: number): Promise<void> {
    await this.command(`rtt ${int("broker id", brokerId)} ${int("rtt", ms)}`);
  }
  async pushRequestErrors(apiKey: number, errorCodes: number[]): Promise<void> {
    if (errorCodes.length === 0) return;
    await this.command(`errors ${int("api key", apiKey)} ${errorCodes.map((c) => int("error code", c)).join(" ")}`);
  }
  async pushBrokerRequestErrors(brokerId: number, apiKey: number, errors: { code: number; rttMs?: number }[]): Promise<void> {
    if (errors.length === 0) return;
    const list = errors.map((e) => `${int("error code", e.code)}:${int("rtt", e.rttMs ?? 0)}`).join(" ");
    await this.command(`broker_errors ${int("broker id", brokerId)} ${int("api key", apiKey)} ${list}`);
  }
  async brokerRequestErrorCount(brokerId: number, apiKey: number): Promise<number> {
    return (await this.command(`errcount ${int("broker id", brokerId)} ${int("api key", apiKey)}`)).count ?? 0;
  }
  async clearRequestErrors(apiKey: number): Promise<void> { await this.command(`clear ${int("api key", apiKey)}`); }
  async setApiVersion(apiKey: number, minVersion: number, maxVersion: number): Promise<void> {
    await this.command(`apiversion ${int("api key", apiKey)} ${int("min version", minVersion)} ${int("max version", maxVersion)}`);
  }
  async setTopicError(topic: string, errorCode: number): Promise<void> {
    await this.command(`topic_error ${token("topic", topic)} ${int("error code", errorCode)}`);
  }
  async setCoordinator(keyType: "transaction" | "group", key: string, brokerId: number): Promise<void> {
    await this.command(`coordinator ${token("key type", keyType)} ${token("key", key)} ${int("broker id", brokerId)}`);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.exitInfo) {
        this.child.stdin.end("quit\n");
        const killer = setTimeout(() => this.child.kill("SIGKILL"), 3_000);
        await this.exited;
        clearTimeout(killer);
      }
      live.delete(this.child);
    })();
    return this.stopping;
  }
}

class ExternalCluster implements Cluster {
  readonly external = true;
  constructor(readonly bootstrap: string, readonly brokers: ClusterBroker[]) {}

  /** A real cluster: rely on broker-side auto-creation through a Metadata request, then check. */
  async createTopic(name: string, partitions: number): Promise<void> {
    const md = await kcatMetadata(this.bootstrap, token("topic", name), { autoCreate: true });
    const topic = md.topics.find((t) => t.topic === name);
    if (!topic || topic.error) throw new Error(`Cannot create topic "${name}" on KAFKA_BROKERS: ${topic?.error ?? "not in metadata"} (create it beforehand, or enable auto.create.topics.enable)`);
    if (topic.partitions.length < partitions) {
      throw new Error(`Topic "${name}" on KAFKA_BROKERS has ${topic.partitions.length} partitions, the test needs ${partitions}: create it beforehand`);
    }
  }
  brokerDown(): Promise<void> { return Promise.reject(new ExternalClusterError("take a broker down")); }
  brokerUp(): Promise<void> { return Promise.reject(new ExternalClusterError("bring a broker up")); }
  setLeader(): Promise<void> { return Promise.reject(new ExternalClusterError("move a partition leader")); }
  setRtt(): Promise<void> { return Promise.reject(new ExternalClusterError("set a broker RTT")); }
  pushRequestErrors(): Promise<void> { return Promise.reject(new ExternalClusterError("inject request errors")); }
  pushBrokerRequestErrors(): Promise<void> { return Promise.reject(new ExternalClusterError("inject request errors")); }
  brokerRequestErrorCount(): Promise<number> { return Promise.reject(new ExternalClusterError("count injected errors")); }
  clearRequestErrors(): Promise<void> { return Promise.reject(new ExternalClusterError("clear injected errors")); }
  setApiVersion(): Promise<void> { return Promise.reject(new ExternalClusterError("change API versions")); }
  setTopicError(): Promise<void> { return Promise.reject(new ExternalClusterError("set a topic error")); }
  setCoordinator(): Promise<void> { return Promise.reject(new ExternalClusterError("set a coordinator")); }
  command(): Promise<Reply> { return Promise.reject(new ExternalClusterError("send a mock cluster command")); }
  async stop(): Promise<void> {}
}

async function startExternal(list: string, opts: StartClusterOptions): Promise<Cluster> {
  const md = await kcatMetadata(list);
  const brokers = md.brokers.map((b) => {
    const i = b.name.lastIndexOf(":");
    return { id: b.id, host: b.name.slice(0, i), port: Number(b.name.slice(i + 1)) };
  }).sort((a, b) => a.id - b.id);
  const cluster = new ExternalCluster(list, brokers);
  for (const t of opts.topics ?? []) await cluster.createTopic(t.name, t.partitions);
  return cluster;
}

/**
 * Starts a mock cluster (building it first if needed), or wraps KAFKA_BROKERS when set.
 * Always `await cluster.stop()` in the test's `after` hook; the process is also killed when the
 * test process exits or dies.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const externalList = process.env.KAFKA_BROKERS?.trim();
  if (externalList) return startExternal(externalList, opts);

  const brokerCount = int("broker count", opts.brokers ?? 3);
  const binary = await buildMockCluster();
  installExitHook();
  const child = spawn(binary, [String(brokerCount)], { stdio: ["pipe", "pipe", "pipe"], cwd: root });
  live.add(child);
  // Unref'd so that a test which forgets stop() still ends (the exit hook then kills the cluster);
  // pending commands keep the loop alive through their timers.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  const stderrRef = { text: "" };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => { if (stderrRef.text.length < 64_000) stderrRef.text += d; });
  child.stdin.on("error", () => { /* EPIPE after an exit is reported through `exited` */ });
  const exited = new Promise<void>((resolve) => child.once("close", () => { live.delete(child); resolve(); }));
  const spawnError = new Promise<never>((_, reject) => child.once("error", (e) => reject(new Error(`Cannot start ${binary}: ${e.message}`))));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();

  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await Promise.race([
      lines.next(),
      spawnError,
      exited.then(() => { throw new Error(`mock cluster exited before starting: ${stderrRef.text.trim()}`); }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`mock cluster did not start within ${startTimeoutMs} ms`)), startTimeoutMs); }),
    ]);
    if (first.done) throw new Error(`mock cluster closed its output before starting: ${stderrRef.text.trim()}`);
    const hello = JSON.parse(first.value) as { bootstrap: string; brokers: ClusterBroker[] };
    const cluster = new MockCluster(child, hello, lines, exited, stderrRef);
    for (const t of opts.topics ?? []) await cluster.createTopic(t.name, t.partitions, t.replicationFactor);
    return cluster;
  } catch (e) {
    child.kill("SIGKILL");
    live.delete(child);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
