// Starts the real Apache Kafka 3.6.2 in ../shared/kafka (KRaft, broker + controller in one JVM) for
// integration tests, in a fresh temp dir on free loopback ports, or wraps KAFKA_BROKERS when set.
// See test/harness/README.md ("A real Apache Kafka broker"). The JVM dies with the test process
// however it ends: stop(), process exit, SIGINT/SIGTERM, the runner's process-group kill, or a
// SIGKILL of this process alone (a detached watchdog notices within a second).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep, spawnChild } from "./bounded.ts";
import { freePort } from "./net.ts";

/** ../shared/kafka from the repository root. */
export const kafkaHome = fileURLToPath(new URL("../../../shared/kafka", import.meta.url));

export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface StartKafkaOptions {
  /** Client listeners beside PLAINTEXT, by name (e.g. `{ SASL_SSL: "SASL_SSL" }`), each on a free port. */
  listeners?: Record<string, SecurityProtocol>;
  /** Broker settings appended to the generated server.properties (a later key wins), e.g. JAAS, keystores. */
  properties?: Record<string, string | number | boolean>;
  /** SCRAM credentials written at format time (kafka-storage.sh format --add-scram). */
  scramUsers?: { mechanism: ScramMechanism; name: string; password: string }[];
  /**
   * Kafka's StandardAuthorizer with allow.everyone.if.no.acl.found=false. The controller and the
   * inter-broker traffic then use an INTERNAL SASL_PLAINTEXT/PLAIN listener as `User:admin`, the only
   * super user, so that PLAINTEXT clients (`User:ANONYMOUS`) get only what ACLs grant them; `admin`
   * and `tools` use that listener.
   */
  authorizer?: boolean;
  /** [startTimeoutMs=90000] Hang guard for the broker to come up. */
  startTimeoutMs?: number;
}

export interface ToolResult { code: number | null; stdout: string; stderr: string }

export interface KafkaTools {
  /** Runs `bin/<script> ...args`; rejects on a non-zero exit or after `timeoutMs` [60000] (the JVM is killed). */
  run(script: string, args: string[], opts?: { timeoutMs?: number }): Promise<ToolResult>;
  /** kafka-topics.sh against `admin`, e.g. `topics(["--create", "--topic", "t", "--partitions", "3"])`. */
  topics(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  /** kafka-acls.sh against `admin`, e.g. `acls(["--add", "--allow-principal", "User:ANONYMOUS", "--operation", "Write", "--topic", "t"])`. */
  acls(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  /**
   * Reads `topic` from the beginning with kafka-console-consumer.sh (as `admin`) until `maxMessages`
   * arrived or nothing came for `idleMs` [8000]: one `{ key, value }` per record (values without
   * newlines or tabs). `isolation: "read_committed"` hides aborted and open transactions.
   */
  consume(topic: string, opts?: { maxMessages?: number; isolation?: "read_committed" | "read_uncommitted"; idleMs?: number; timeoutMs?: number }): Promise<{ key: string | null; value: string | null }[]>;
}

export interface Kafka {
  /** PLAINTEXT bootstrap, "127.0.0.1:port" (or KAFKA_BROKERS). Unauthenticated clients are `User:ANONYMOUS`. */
  readonly bootstrap: string;
  /** Every client listener by name ("PLAINTEXT", the ones asked for, "INTERNAL" with `authorizer`) → "127.0.0.1:port". */
  readonly listeners: Record<string, string>;
  /** The temp dir holding server.properties, data/ and logs/ (undefined with KAFKA_BROKERS). */
  readonly dir?: string;
  readonly external: boolean;
  /** The super user's way in: bootstrap, Java client properties and kcat (-X) settings. */
  readonly admin: { bootstrap: string; properties: Record<string, string>; kcat: Record<string, string> };
  readonly tools: KafkaTools;
  /** The JVM's pid (undefined with KAFKA_BROKERS). */
  readonly pid?: number;
  /** Kills the broker, waits for it to exit and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

/** Whether this machine can run the real broker: ../shared/kafka and `java` are there, or KAFKA_BROKERS is set. */
export function kafkaAvailable(): boolean {
  if (process.env.KAFKA_BROKERS?.trim()) return true;
  return existsSync(join(kafkaHome, "bin", "kafka-server-start.sh")) && onPath("java");
}

/** Why kafkaAvailable() is false, for skip messages. */
export function kafkaUnavailableReason(): string {
  if (!existsSync(join(kafkaHome, "bin", "kafka-server-start.sh"))) return `no Kafka at ${kafkaHome}`;
  if (!onPath("java")) return "no java on PATH (scripts/setup.sh installs openjdk-17-jre-headless)";
  return "";
}


const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const c = createConnection({ host: "127.0.0.1", port });
  c.once("connect", () => { c.destroy(); resolve(true); });
  c.once("error", () => resolve(false));
});

const ADMIN = { name: "admin", password: "admin-secret" };
const plainJaas = (users: boolean) =>
  `org.apache.kafka.common.security.plain.PlainLoginModule required username="${ADMIN.name}" password="${ADMIN.password}"${users ? ` user_${ADMIN.name}="${ADMIN.password}"` : ""};`;

// Every live broker JVM, killed synchronously however this process ends.
const live = new Map<ChildProcess, ChildProcess | undefined>(); // broker → watchdog
let hooks = false;
function killAll(): void {
  for (const [jvm, dog] of live) {
    try { jvm.kill("SIGKILL"); } catch { /* gone */ }
    try { dog?.kill("SIGKILL"); } catch { /* gone */ }
  }
}
function installHooks(): void {
  if (hooks) return;
  hooks = true;
  process.on("exit", killAll);
  // A signal's default action skips "exit" handlers: kill the brokers, then die as the signal would.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    if (process.listenerCount(sig) === 0) process.once(sig, () => { killAll(); process.kill(process.pid, sig); });
  }
}

const props = (o: Record<string, string | number | boolean>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";

function tail(file: string, lines = 15): string {
  try { return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n"); } catch { return ""; }
}

const NULL = "\u2400null"; // how the console consumer prints a null key or value (not a value tests send)

function makeTools(home: string, bootstrap: string, clientProps: string | undefined, env: NodeJS.ProcessEnv): KafkaTools {
  const run = async (script: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<ToolResult> => {
    if (!/^[a-z0-9-]+\.sh$/.test(script)) throw new TypeError(`Invalid Kafka tool ${JSON.stringify(script)}: a script name in bin/`);
    const child = spawnChild("bash", [join(home, "bin", script), ...args], { env });
    try {
      const code = await child.exited(opts.timeoutMs ?? 60_000);
      const r = { code, stdout: child.stdout, stderr: child.stderr };
      if (code !== 0) throw Object.assign(new Error(`${script} ${args.join(" ")} exited ${code}: ${child.stderr.trim().slice(-2000) || child.stdout.trim().slice(-2000)}`), r);
      return r;
    } finally {
      child.kill();
    }
  };
  const withAdmin = (flag: string, args: string[]) => ["--bootstrap-server", bootstrap, ...(clientProps ? [flag, clientProps] : []), ...args];
  return {
    run,
    topics: async (args, opts) => (await run("kafka-topics.sh", withAdmin("--command-config", args), opts)).stdout,
    acls: async (args, opts) => (await run("kafka-acls.sh", withAdmin("--command-config", args), opts)).stdout,
    consume: async (topic, o = {}) => {
      const args = withAdmin("--consumer.config", [
        "--topic", topic, "--from-beginning", "--timeout-ms", String(o.idleMs ?? 8_000),
        "--isolation-level", o.isolation ?? "read_uncommitted",
        "--property", "print.key=true", "--property", "key.separator=\t", "--property", `null.literal=${NULL}`,
        ...(o.maxMessages !== undefined ? ["--max-messages", String(o.maxMessages)] : []),
      ]);
      // It exits 0 after --max-messages, and also (having printed what it read) when --timeout-ms passes idle.
      const child = spawnChild("bash", [join(home, "bin", "kafka-console-consumer.sh"), ...args], { env });
      try {
        await child.exited(o.timeoutMs ?? 60_000);
      } finally {
        child.kill();
      }
      const nul = (s: string) => (s === NULL ? null : s);
      return child.stdout.split("\n").filter((l) => l.includes("\t")).map((l) => {
        const i = l.indexOf("\t");
        return { key: nul(l.slice(0, i)), value: nul(l.slice(i + 1)) };
      });
    },
  };
}

function toolEnv(dir: string | undefined): NodeJS.ProcessEnv {
  // Small heaps: each tool is its own JVM on a 2-core machine. Tool logs stay out of the broker's.
  return {
    ...process.env, KAFKA_HEAP_OPTS: "-Xmx256m", KAFKA_JVM_PERFORMANCE_OPTS: "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto",
    ...(dir ? { LOG_DIR: join(dir, "logs", "tools") } : {}),
  };
}

function external(list: string): Kafka {
  const first = list.split(",")[0]!.trim();
  const tools = makeTools(kafkaHome, list, undefined, toolEnv(undefined));
  return { bootstrap: list, listeners: { PLAINTEXT: first }, external: true, admin: { bootstrap: list, properties: {}, kcat: {} }, tools, stop: async () => {} };
}

/**
 * Starts a broker (about 4 s, 300 MB) and resolves once it serves; with KAFKA_BROKERS set, wraps that
 * cluster instead (then `authorizer`, `listeners` and `scramUsers` cannot apply: check `external`).
 * Always `await kafka.stop()` in `finally`/`after`.
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<Kafka> {
  const list = process.env.KAFKA_BROKERS?.trim();
  if (list) return external(list);
  if (!kafkaAvailable()) throw new Error(`Cannot start Kafka: ${kafkaUnavailableReason()}`);

  const dir = mkdtempSync(join(tmpdir(), "kafkasm-kafka-"));
  const port = await freePort();
  const controllerPort = await freePort();
  const listeners: Record<string, string> = { PLAINTEXT: `127.0.0.1:${port}` };
  const protocols: Record<string, SecurityProtocol> = { PLAINTEXT: "PLAINTEXT", ...options.listeners };
  if (options.authorizer) protocols.INTERNAL = "SASL_PLAINTEXT";
  for (const name of Object.keys(protocols)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || name === "CONTROLLER") throw new TypeError(`Invalid listener name ${JSON.stringify(name)}`);
    if (name !== "PLAINTEXT") listeners[name] = `127.0.0.1:${await freePort()}`;
  }
  const map = Object.entries(protocols).map(([n, p]) => `${n}:${p}`);
  const base: Record<string, string | number | boolean> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    "listeners": [...Object.entries(listeners).map(([n, a]) => `${n}://${a}`), `CONTROLLER://127.0.0.1:${controllerPort}`].join(","),
    "advertised.listeners": Object.entries(listeners).map(([n, a]) => `${n}://${a}`).join(","),
    "inter.broker.listener.name": options.authorizer ? "INTERNAL" : "PLAINTEXT",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": [...map, `CONTROLLER:${options.authorizer ? "SASL_PLAINTEXT" : "PLAINTEXT"}`].join(","),
    "log.dirs": join(dir, "data"),
    "auto.create.topics.enable": true,
    "num.partitions": 3,
    "default.replication.factor": 1,
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 3, // 50 by default: seconds of a 2-core machine for the first consumer group
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 3,
    "group.initial.rebalance.delay.ms": 0,
  };
  if (options.authorizer) {
    Object.assign(base, {
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "allow.everyone.if.no.acl.found": false,
      "super.users": `User:${ADMIN.name}`,
      "sasl.mechanism.controller.protocol": "PLAIN",
      "sasl.mechanism.inter.broker.protocol": "PLAIN",
      "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
      "listener.name.controller.plain.sasl.jaas.config": plainJaas(true),
      "listener.name.internal.sasl.enabled.mechanisms": "PLAIN",
      "listener.name.internal.plain.sasl.jaas.config": plainJaas(true),
    });
  }
  const serverProps = join(dir, "server.properties");
  writeFileSync(serverProps, props({ ...base, ...options.properties }));
  let clientProps: string | undefined;
  const admin = { bootstrap: listeners.PLAINTEXT!, properties: {} as Record<string, string>, kcat: {} as Record<string, string> };
  if (options.authorizer) {
    admin.bootstrap = listeners.INTERNAL!;
    admin.properties = { "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.jaas.config": plainJaas(false) };
    admin.kcat = { "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN", "sasl.username": ADMIN.name, "sasl.password": ADMIN.password };
    clientProps = join(dir, "admin.properties");
    writeFileSync(clientProps, props(admin.properties));
  }

  const env = {
    ...process.env, LOG_DIR: join(dir, "logs"),
    KAFKA_LOG4J_OPTS: `-Dlog4j.configuration=file:${join(kafkaHome, "config", "log4j.properties")}`,
    KAFKA_JMX_OPTS: "-Djava.rmi.server.hostname=127.0.0.1",
  };
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  const scram = (options.scramUsers ?? []).flatMap((u) => {
    if (/[\],=]/.test(u.name + u.password)) throw new TypeError(`Invalid SCRAM user ${JSON.stringify(u.name)}: no ',', '=' or ']' in name or password`);
    return ["--add-scram", `${u.mechanism}=[name=${u.name},password=${u.password}]`];
  });
  const format = spawnChild("bash", [join(kafkaHome, "bin", "kafka-storage.sh"), "format", "-t", "q1Sh-9_ISia_zwGINzRvyQ", "-c", serverProps, ...scram],
    { env: { ...env, KAFKA_HEAP_OPTS: "-Xmx256m" } });
  try {
    const code = await format.exited(timeoutMs);
    if (code !== 0) throw new Error(`kafka-storage.sh format failed (exit ${code}): ${format.stdout.slice(-1500)} ${format.stderr.slice(-1500)}`);
  } catch (e) {
    format.kill();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  installHooks();
  const out = join(dir, "logs", "kafka.out");
  const fd = openSync(out, "a");
  // Not detached: the test runner's process-group kill reaches the JVM (kafka-run-class.sh execs java).
  const jvm = spawn("bash", [join(kafkaHome, "bin", "kafka-server-start.sh"), serverProps], {
    env: { ...env, KAFKA_HEAP_OPTS: "-Xmx512m -Xms256m" }, stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  jvm.unref();
  // This process SIGKILLed alone runs no handler: a detached watchdog kills the JVM once we are gone.
  const dog = spawn("sh", ["-c", 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -9 "$1" 2>/dev/null', String(process.pid), String(jvm.pid)],
    { detached: true, stdio: "ignore" });
  dog.unref();
  live.set(jvm, dog);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => jvm.once("exit", (code, signal) => { exitCode = code ?? (signal ? -1 : null); resolve(); }));

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    if (exitCode === undefined) {
      jvm.kill("SIGKILL"); // throwaway data: no controlled shutdown to wait for
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
    }
    try { dog.kill("SIGKILL"); } catch { /* gone */ }
    live.delete(jvm);
    if (!process.env.KAFKASM_KEEP_KAFKA) rmSync(dir, { recursive: true, force: true });
  })());

  const serverLog = join(dir, "logs", "server.log");
  const end = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exitCode !== undefined) throw new Error(`Kafka exited (${exitCode}) while starting:\n${tail(out)}\n${tail(serverLog)}`);
      if (existsSync(serverLog) && readFileSync(serverLog, "utf8").includes("Kafka Server started") && await accepts(port)) break;
      if (Date.now() > end) throw new Error(`Kafka did not start within ${timeoutMs} ms:\n${tail(out)}\n${tail(serverLog)}`);
      await sleep(200);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const tools = makeTools(kafkaHome, admin.bootstrap, clientProps, toolEnv(dir));
  return { bootstrap: listeners.PLAINTEXT!, listeners, dir, external: false, admin, tools, pid: jvm.pid, stop };
}
