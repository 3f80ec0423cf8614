/**
 * `kafkasm proxy`: the WebSocket-to-Kafka proxy (src/proxy/proxy.ts) as a command. Runs until
 * SIGINT/SIGTERM, then closes every connection cleanly. Prints one line when listening:
 * `kafkasm proxy listening on ws://HOST:PORT` (port 0 picks a free port); log lines (JSON) go to stderr.
 */
import { readFileSync } from "node:fs";
import { formatHelp, parseArgs, UsageError, type OptionSpecs } from "./args.ts";
import { startProxy, parseBrokerTarget, type KafkaProxy } from "../proxy/proxy.ts";
import type { SaslConfig } from "../client/sasl/index.ts";

const specs = {
  listen: { type: "string", description: "interface and port to listen on", default: "127.0.0.1:8080", valueName: "HOST:PORT" },
  allow: { type: "string", description: "broker addresses clients may reach, exactly as host:port", required: true, valueName: "H:P[,H:P]" },
  token: { type: "string", description: "bearer token clients must present (or env KAFKASM_PROXY_TOKEN)", valueName: "TOKEN" },
  origin: { type: "string", description: "allowed browser Origins (exact match)", valueName: "O[,O]" },
  "require-origin": { type: "boolean", description: "also refuse clients that send no Origin", default: false },
  "max-message-bytes": { type: "number", description: "largest WebSocket message", default: 4 * 1024 * 1024, integer: true, min: 1 },
  "max-connections-per-client": { type: "number", description: "connections per client IP", default: 32, integer: true, min: 1 },
  "max-connections": { type: "number", description: "connections in total", default: 10_000, integer: true, min: 1 },
  "bytes-per-second": { type: "number", description: "per client address (all its connections) and direction, 0 = unlimited (excess is delayed, not dropped)", default: 0, min: 0 },
  "idle-timeout-ms": { type: "number", description: "close connections idle this long, 0 = never", default: 300_000, integer: true, min: 0 },
  "api-keys": { type: "string", description: "Kafka APIs clients may use: producer (Produce, Metadata, ApiVersions, InitProducerId, transactions), all, or a list of API keys", default: "producer", valueName: "producer|all|K[,K]" },
  topics: { type: "string", description: "topics Produce/Metadata may name: exact or prefix* (default: any)", valueName: "T[,T]" },
  "consumer-groups": { type: "string", description: "let group consumers through for these group ids: exact or prefix* (default: off, no Fetch or group APIs)", valueName: "G[,G]" },
  "consumer-topics": { type: "string", description: "topics consumers may read and commit: exact or prefix* (default: --topics); needs --consumer-groups", valueName: "T[,T]" },
  "transactional-ids": { type: "string", description: "transactional ids clients may use: exact or prefix* (default: none, so transactions are refused)", valueName: "T[,T]" },
  "max-request-size": { type: "number", description: "largest Kafka request frame (the producer's max.request.size)", default: 8 * 1024 * 1024, integer: true, min: 8 },
  "max-request-bytes": { type: "number", description: "deprecated: --max-request-size", integer: true, min: 8 },
  "tls-cert": { type: "string", description: "serve wss:// with this PEM certificate file (with --tls-key)", valueName: "FILE" },
  "tls-key": { type: "string", description: "PEM private key file for --tls-cert", valueName: "FILE" },
  "client-address-header": { type: "string", description: "behind a trusted reverse proxy only: header whose last entry is the client address (e.g. x-forwarded-for)", valueName: "NAME" },
  stats: { type: "boolean", description: "serve GET /stats (JSON counters; token-protected like the WebSocket path)", default: false },
  metrics: { type: "boolean", description: "serve GET /metrics (Prometheus text format; token-protected like /stats)", default: false },
  "upstream-ssl": { type: "boolean", description: "connect to the brokers over TLS (implied by --upstream-ca/--upstream-cert)", default: false },
  "upstream-ca": { type: "string", description: "PEM file of the CA(s) the brokers' certificates chain to (default: the system's)", valueName: "FILE" },
  "upstream-cert": { type: "string", description: "PEM client certificate file for mTLS to the brokers (with --upstream-key)", valueName: "FILE" },
  "upstream-key": { type: "string", description: "PEM private key file for --upstream-cert", valueName: "FILE" },
  "upstream-sasl-mechanism": { type: "string", description: "SASL to the brokers with the cluster's credentials: plain, scram-sha-256 or scram-sha-512", valueName: "NAME" },
  "upstream-sasl-username": { type: "string", description: "SASL user name (the password: env KAFKASM_UPSTREAM_SASL_PASSWORD or --upstream-sasl-password-file)", valueName: "NAME" },
  "upstream-sasl-password-file": { type: "string", description: "file holding the SASL password (one line; never pass a secret as a flag value)", valueName: "FILE" },
  "jwt-jwks": { type: "string", description: "verify client tokens as JWTs against this JWKS file (RS256, ES256, HS256 keys)", valueName: "FILE" },
  "jwt-secret-file": { type: "string", description: "verify client tokens as HS256 JWTs with the secret in this file (or env KAFKASM_JWT_SECRET)", valueName: "FILE" },
  "jwt-issuer": { type: "string", description: "required JWT iss (one of)", valueName: "ISS[,ISS]" },
  "jwt-audience": { type: "string", description: "required JWT aud (one of)", valueName: "AUD[,AUD]" },
  "jwt-topics-claim": { type: "string", description: "JWT claim listing the topics a token may use, within --topics", default: "kafka_topics", valueName: "NAME" },
  "jwt-clock-tolerance": { type: "number", description: "seconds of leeway for JWT exp/nbf/iat", default: 0, min: 0 },
  quiet: { type: "boolean", description: "log refusals only (not every open/close)", default: false },
} as const satisfies OptionSpecs;

function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`Option --listen expects HOST:PORT, got "${value}"`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/** Starts the proxy from command-line arguments; exported for tests (which stop it with `signal`). */
export async function startFromArgs(argv: readonly string[], env: Record<string, string | undefined> = process.env): Promise<KafkaProxy | undefined> {
  const { options, help } = parseArgs(argv, specs);
  if (help) {
    process.stdout.write(formatHelp("kafkasm proxy --allow H:P[,H:P] [options]",
      "WebSocket-to-Kafka proxy: clients open ws://HOST:PORT/broker/<host>:<port>; only allow-listed brokers are reachable.",
      specs, [
        "Token: clients send it as ?token=…, as the subprotocol kafkasm.bearer.<token>, or as Authorization: Bearer.",
        "Example: kafkasm proxy --listen 0.0.0.0:8080 --allow kafka1:9092,kafka2:9092 --origin https://app.example --token $T",
        "Secured cluster: KAFKASM_UPSTREAM_SASL_PASSWORD=… kafkasm proxy --allow b1:9096 --upstream-ca ca.pem --upstream-sasl-mechanism scram-sha-512 --upstream-sasl-username app",
        "Browser consumers: kafkasm proxy --allow b1:9092 --consumer-groups web-* --consumer-topics clicks",
        "JWTs: kafkasm proxy --allow b1:9092 --jwt-jwks jwks.json --jwt-issuer https://issuer.example --jwt-audience kafkasm --topics web-*",
      ]));
    return undefined;
  }
  if (options.consumerTopics !== undefined && options.consumerGroups === undefined) throw new UsageError("Option --consumer-topics needs --consumer-groups");
  const allow = options.allow.split(",").map((s) => s.trim()).filter(Boolean);
  for (const a of allow) if (!parseBrokerTarget(a)) throw new UsageError(`Option --allow: "${a}" is not host:port`);
  if (allow.length === 0) throw new UsageError("Option --allow needs at least one host:port");
  const { host, port } = parseListen(options.listen);
  const quiet = options.quiet;
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new UsageError("Options --tls-cert and --tls-key go together");
  let apiKeys: number[] | "all" | undefined;
  if (options.apiKeys === "all") apiKeys = "all";
  else if (options.apiKeys !== "producer") {
    apiKeys = options.apiKeys.split(",").map((k) => Number(k.trim()));
    if (apiKeys.some((k) => !Number.isInteger(k) || k < 0 || k > 32767)) throw new UsageError(`Option --api-keys expects producer, all or API keys like 0,3,18, got "${options.apiKeys}"`);
  }
  const token = options.token ?? env.KAFKASM_PROXY_TOKEN;
  if (token !== undefined && token.trim() === "") {
    throw new UsageError("Option --token (or KAFKASM_PROXY_TOKEN) is empty, which would let every client in: set a secret, or leave both unset to run without a token");
  }
  const tls = options.tlsCert && options.tlsKey ? { cert: readFileSync(options.tlsCert), key: readFileSync(options.tlsKey) } : undefined;
  const list = (v: string | undefined) => v?.split(",").map((s) => s.trim()).filter(Boolean);
  // A secret comes from a file or the environment, never from a flag value (which ps and shell history show).
  const secretFile = (flag: string, file: string) => {
    try { return readFileSync(file, "utf8").replace(/\r?\n$/, ""); } catch (e) { throw new UsageError(`Option ${flag}: cannot read ${file}: ${(e as Error).message}`); }
  };
  if ((options.upstreamCert === undefined) !== (options.upstreamKey === undefined)) throw new UsageError("Options --upstream-cert and --upstream-key go together");
  const upstreamSsl = options.upstreamSsl || options.upstreamCa !== undefined || options.upstreamCert !== undefined
    ? { ca: options.upstreamCa && readFileSync(options.upstreamCa, "utf8"), cert: options.upstreamCert && readFileSync(options.upstreamCert, "utf8"), key: options.upstreamKey && readFileSync(options.upstreamKey, "utf8") }
    : undefined;
  let upstreamSasl: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string } | undefined;
  const mechanism = options.upstreamSaslMechanism?.toLowerCase();
  if (mechanism !== undefined) {
    if (mechanism !== "plain" && mechanism !== "scram-sha-256" && mechanism !== "scram-sha-512") {
      throw new UsageError(`Option --upstream-sasl-mechanism expects plain, scram-sha-256 or scram-sha-512, got "${options.upstreamSaslMechanism}"`);
    }
    if (!options.upstreamSaslUsername) throw new UsageError("Option --upstream-sasl-mechanism needs --upstream-sasl-username");
    const password = options.upstreamSaslPasswordFile !== undefined ? secretFile("--upstream-sasl-password-file", options.upstreamSaslPasswordFile) : env.KAFKASM_UPSTREAM_SASL_PASSWORD;
    if (!password) throw new UsageError("Option --upstream-sasl-mechanism needs a password: env KAFKASM_UPSTREAM_SASL_PASSWORD or --upstream-sasl-password-file");
    upstreamSasl = { mechanism, username: options.upstreamSaslUsername, password };
  } else if (options.upstreamSaslUsername !== undefined || options.upstreamSaslPasswordFile !== undefined) {
    throw new UsageError("Options --upstream-sasl-username/--upstream-sasl-password-file need --upstream-sasl-mechanism");
  }
  const jwtSecret = options.jwtSecretFile !== undefined ? secretFile("--jwt-secret-file", options.jwtSecretFile) : env.KAFKASM_JWT_SECRET;
  let jwtKeys: unknown;
  if (options.jwtJwks !== undefined) {
    try { jwtKeys = JSON.parse(readFileSync(options.jwtJwks, "utf8")); } catch (e) { throw new UsageError(`Option --jwt-jwks: ${options.jwtJwks} is not a readable JWKS (JSON): ${(e as Error).message}`); }
  }
  const jwt = jwtKeys !== undefined || jwtSecret !== undefined ? {
    keys: jwtKeys as never, secret: jwtSecret, issuer: list(options.jwtIssuer), audience: list(options.jwtAudience),
    topicsClaim: options.jwtTopicsClaim, clockToleranceSec: options.jwtClockTolerance,
  } : undefined;
  if (jwt && token !== undefined) throw new UsageError("Options --token (KAFKASM_PROXY_TOKEN) and --jwt-jwks/--jwt-secret-file (KAFKASM_JWT_SECRET) exclude each other");
  return startProxy({
    host, port, allow,
    token,
    origins: options.origin?.split(",").map((s) => s.trim()).filter(Boolean),
    requireOrigin: options.requireOrigin,
    maxMessageBytes: options.maxMessageBytes,
    maxConnectionsPerClient: options.maxConnectionsPerClient,
    maxConnections: options.maxConnections,
    bytesPerSecond: options.bytesPerSecond,
    idleTimeoutMs: options.idleTimeoutMs,
    statsPath: options.stats ? "/stats" : undefined,
    metricsPath: options.metrics ? "/metrics" : undefined,
    upstream: upstreamSsl || upstreamSasl ? { ssl: upstreamSsl, sasl: upstreamSasl as SaslConfig | undefined } : undefined,
    jwt,
    tls,
    apiKeys,
    topics: options.topics?.split(",").map((s) => s.trim()).filter(Boolean),
    maxRequestSize: options.maxRequestBytes ?? options.maxRequestSize,
    transactionalIds: options.transactionalIds?.split(",").map((s) => s.trim()).filter(Boolean),
    consumer: options.consumerGroups === undefined ? undefined : { groups: list(options.consumerGroups)!, topics: list(options.consumerTopics) },
    clientAddressHeader: options.clientAddressHeader,
    log: (e) => {
      if (quiet && e.event !== "refused") return;
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    },
  });
}

/** `kafkasm proxy …`: resolves with the exit code after SIGINT/SIGTERM and a clean shutdown. */
export async function run(argv: string[]): Promise<number> {
  const proxy = await startFromArgs(argv);
  if (!proxy) return 0;
  process.stdout.write(`kafkasm proxy listening on ${proxy.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => { process.off("SIGINT", stop); process.off("SIGTERM", stop); resolve(); };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await proxy.close();
  const s = proxy.stats();
  process.stderr.write(`kafkasm proxy: closed (${s.connections.total} connections, ${s.refused.total} refused)\n`);
  return 0;
}
