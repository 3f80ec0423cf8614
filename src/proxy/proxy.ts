/**
 * A WebSocket-to-Kafka proxy for Node, safe to put in front of a cluster on the internet.
 *
 * Clients open `ws://HOST:PORT/broker/<host>:<port>`; each binary WebSocket message is written to
 * that broker's TCP socket as-is and every TCP chunk from the broker goes back as one binary
 * message (the client reassembles Kafka frames, so chunking does not matter).
 *
 * What keeps it from being an open relay: only the exact `host:port` strings in `allow` can be
 * dialled (no DNS games, no prefix match), an optional bearer token and Origin allow-list, limits on
 * message size, connections and bytes per second per client address and idle time, and a Kafka-aware
 * gate (gate.ts: only the producer's API keys by default, optional topic and transactional-id
 * allow-lists). Every refusal is logged with a stable reason and counted in `stats()`. Nothing is
 * buffered without bound: a slow broker pauses the WebSocket reader, a slow client pauses the TCP
 * reader, and every byte a connection holds is capped.
 *
 * Files: proxy.ts (this entry: options, startProxy), upgrade.ts (HTTP and the WebSocket handshake),
 * connection.ts (one WebSocket ↔ one broker socket), frames.ts (the client's frames: fragment count,
 * unmasking), gate.ts (Kafka requests), limits.ts (per-client limits, rate), clock.ts, upstream.ts
 * (TLS/SASL to the brokers), jwt.ts (JWT tokens and their claims), metrics.ts (Prometheus /metrics).
 *
 * @example
 * ```ts
 * import { startProxy } from "kafkasm/proxy";
 * const proxy = await startProxy({ port: 8080, allow: ["10.0.0.5:9092", "10.0.0.6:9092"], token: process.env.TOKEN });
 * // browsers: new Producer({ brokers: ["10.0.0.5:9092"], transport: websocketTransport({ url: "wss://proxy.example/broker/{host}:{port}", token }) })
 * await proxy.close();
 * ```
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Socket } from "node:net";
import { WebSocketServer } from "ws";
import { ClientError } from "../errors.ts";
import { PRODUCER_API_KEYS, type ConsumerPolicy, type GatePolicy } from "./gate.ts";
import { systemClock, type ProxyClock } from "./clock.ts";
import { ClientTable } from "./limits.ts";
import type { Connection } from "./connection.ts";
import { digest, handlers, SUBPROTOCOL, type ServerContext } from "./upgrade.ts";
import { parseHostPort as parseBrokerTarget } from "../client/address.ts";
import { resolveUpstream, type UpstreamOptions } from "./upstream.ts";
import { JwtVerifier, type JwtOptions } from "./jwt.ts";
import { LatencyHistograms, renderMetrics } from "./metrics.ts";

export { CONSUMER_API_KEYS, PRODUCER_API_KEYS, type ConsumerPolicy } from "./gate.ts";
export { parseHostPort as parseBrokerTarget } from "../client/address.ts";
export type { ProxyClock } from "./clock.ts";
export type { UpstreamOptions } from "./upstream.ts";
export type { JwtOptions, JwtAlgorithm } from "./jwt.ts";

/** Why a connection or message was refused; stable strings, used as keys of `stats().refused` and as WebSocket close reasons. */
export type RefusalReason =
  | "NOT_FOUND"            // not /broker/<host>:<port> (or /stats when disabled)
  | "NOT_WEBSOCKET"        // a plain HTTP request on the WebSocket path
  | "BAD_HTTP_REQUEST"     // a request the proxy cannot parse (`GET //`, `/broker/%`, a malformed request line)
  | "BAD_HANDSHAKE"        // an upgrade that is not a valid WebSocket handshake (POST, Upgrade: h2c, bad key or version)
  | "TARGET_NOT_ALLOWED"   // the broker address is not in the allow-list
  | "BAD_TOKEN"            // token required and missing or wrong
  | "BAD_ORIGIN"           // Origin header present and not in the allow-list (or missing when required)
  | "TOO_MANY_CONNECTIONS" // maxConnectionsPerClient reached for this client address
  | "PROXY_FULL"           // maxConnections reached
  | "BROKER_UNREACHABLE"   // the TCP connection to the broker failed or timed out (or its TLS handshake failed)
  | "UPSTREAM_AUTH_FAILED" // the broker refused the proxy's own SASL credentials (upstream.sasl): 502
  | "TOKEN_EXPIRED"        // close code reason: the client's JWT reached its exp while connected (in-flight requests were answered first)
  | "SESSION_EXPIRED"      // close code reason: the broker's SASL session lifetime (KIP-368) nears its end; reconnect
  | "MESSAGE_TOO_LARGE"    // a WebSocket message over maxMessageBytes
  | "TOO_MANY_FRAGMENTS"   // a WebSocket message in more than maxFragments fragments
  | "CLIENT_TOO_SLOW"      // over maxBufferedBytes queued toward a client that does not read
  | "TEXT_MESSAGE"         // a text message: Kafka bytes travel in binary messages only
  | "API_NOT_ALLOWED"      // a Kafka request whose API key is not allowed (e.g. DeleteTopics)
  | "TOPIC_NOT_ALLOWED"    // Produce/Metadata/AddPartitionsToTxn naming a topic outside the topic allow-list, or Metadata by topic id
  | "TRANSACTIONAL_ID_NOT_ALLOWED" // a transactional request whose id is not in transactionalIds (or none are allowed)
  | "GROUP_NOT_ALLOWED"    // a group request (SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, …) for a group outside consumer.groups
  | "BAD_REQUEST"          // a request frame the gate cannot parse, over maxRequestSize, a duplicate in-flight correlation id, too many topics
  | "BAD_RESPONSE"         // a broker response the gate cannot frame, rewrite, or match to a request
  | "IDLE_TIMEOUT"         // no bytes either way for idleTimeoutMs
  | "SHUTTING_DOWN";       // arrived while the proxy was closing

/** One structured log line. */
export interface ProxyLogEntry {
  event: "listening" | "refused" | "open" | "close" | "throttled" | "shutdown";
  reason?: RefusalReason | string;
  client?: string;
  target?: string;
  detail?: string;
}

export interface ProxyOptions {
  /** Broker addresses that may be dialled, exactly as `host:port` (IPv6 as `[::1]:9092`). Required. */
  allow: readonly string[];
  /** [port=0] TCP port to listen on (0 picks a free one). */
  port?: number;
  /** [host="127.0.0.1"] Interface to listen on; pass "0.0.0.0" to accept remote clients. */
  host?: string;
  /** Bearer token clients must present: `?token=`, `Sec-WebSocket-Protocol: kafkasm.bearer.<token>`, or `Authorization: Bearer`. An empty token is refused (it would disable auth). */
  token?: string;
  /**
   * Verify clients' tokens as JWTs (RS256, ES256, HS256) instead of comparing them with `token`: a
   * bad, expired or wrongly addressed token is 401 BAD_TOKEN (why goes to the log only). The token's
   * `kafka_topics` / `kafka_transactional_ids` claims, when present, narrow `topics` /
   * `transactionalIds` for that connection. A connection whose token expires stops taking requests
   * at `exp`, gets the answers to those in flight, and closes (1008 TOKEN_EXPIRED).
   */
  jwt?: JwtOptions;
  /** Origins allowed (exact, e.g. "https://app.example"). A request with another Origin is refused. */
  origins?: readonly string[];
  /** [requireOrigin=false] Also refuse requests without an Origin header (i.e. non-browser clients). */
  requireOrigin?: boolean;
  /** [maxMessageBytes=4194304] Largest WebSocket message accepted (all its fragments together); bigger closes with 1009. */
  maxMessageBytes?: number;
  /** [maxFragments=1024] Most fragments one WebSocket message may come in (browsers send one); more closes with 1009. */
  maxFragments?: number;
  /** [maxConnectionsPerClient=32] Open (or opening) connections per client address. */
  maxConnectionsPerClient?: number;
  /** [maxConnections=10000] Open connections in total. */
  maxConnections?: number;
  /** [bytesPerSecond=0] Per client address (all its connections together) and per direction; 0 = unlimited. Excess is delayed, never dropped. */
  bytesPerSecond?: number;
  /** [idleTimeoutMs=300000] Close a connection with no traffic either way for this long; 0 = never. */
  idleTimeoutMs?: number;
  /** [connectTimeoutMs=10000] Time allowed for the TCP connection to the broker. */
  connectTimeoutMs?: number;
  /** [highWaterMark=1048576] Bytes queued toward the client before the broker socket is paused (and pings go unanswered), and toward the broker before the WebSocket is. */
  highWaterMark?: number;
  /** [maxBufferedBytes=max(16 MiB, 4 × highWaterMark)] Bytes queued toward a client beyond which it is closed (CLIENT_TOO_SLOW). */
  maxBufferedBytes?: number;
  /** Serve GET `<statsPath>` with `stats()` as JSON (same token rules). Off unless set, e.g. "/stats". */
  statsPath?: string;
  /** Serve GET `<metricsPath>` in Prometheus text format 0.0.4 (same token rules as statsPath). Off unless set, e.g. "/metrics". */
  metricsPath?: string;
  /** Where log lines go. [default: one JSON line per entry on console.error] */
  log?: (entry: ProxyLogEntry) => void;
  /**
   * Behind a trusted reverse proxy (TLS terminator, load balancer) every client shares its address:
   * name the header it appends the client's address to (e.g. "x-forwarded-for"; the last entry is
   * used, the one the trusted proxy added). Never set this without such a proxy: clients could
   * forge the header to dodge per-client limits.
   */
  clientAddressHeader?: string;
  /** The client address used for per-client limits; overrides clientAddressHeader. [default: the TCP peer address] */
  clientAddress?: (request: IncomingMessage) => string;
  /**
   * [apiKeys=PRODUCER_API_KEYS] Kafka API keys clients may send (Produce, Metadata, ApiVersions,
   * InitProducerId and the transaction APIs by default), or "all". A request with another key
   * closes the connection (1008): no DeleteTopics, CreateTopics or Fetch through a producer gateway.
   * "all" without `topics` or `transactionalIds` is a plain byte pipe (no gate at all).
   */
  apiKeys?: readonly number[] | "all";
  /**
   * Topics clients may use: exact names or "prefix*". [default: any] Metadata for another topic is
   * answered with TOPIC_AUTHORIZATION_FAILED for it (the rest of the answer is the broker's), so the
   * producer fails just those records; a Metadata answer for all topics lists only allowed ones.
   */
  topics?: readonly string[];
  /**
   * Transactional ids clients may use: exact or "prefix*". [default: none] InitProducerId with a
   * transactional id, FindCoordinator for a transaction, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
   * TxnOffsetCommit and transactional Produce pass only for these; otherwise the connection closes.
   */
  transactionalIds?: readonly string[];
  /**
   * Let group consumers through (off by default): Fetch, ListOffsets, OffsetCommit, OffsetFetch,
   * FindCoordinator for a group and the group APIs pass, for group ids matching `groups` and topics
   * matching `topics` (default: the proxy's `topics`; both exact or "prefix*"). FindCoordinator,
   * JoinGroup and OffsetFetch for another group are answered with GROUP_AUTHORIZATION_FAILED (30) as a
   * broker's group ACL would; the other group APIs for it close the connection (GROUP_NOT_ALLOWED).
   * Fetch v13+ (topic ids) is refused under a topic allow-list (kafkasm's consumer fetches ≤ v12).
   */
  consumer?: ConsumerPolicy;
  /** [maxRequestSize=8388608] Largest Kafka request frame (the producer's max.request.size); the gate buffers at most one per connection. */
  maxRequestSize?: number;
  /** @deprecated Use maxRequestSize (the producer's name for the same limit). */
  maxRequestBytes?: number;
  /** [maxTopicsPerRequest=1000] Most topics one Metadata or Produce request may name. */
  maxTopicsPerRequest?: number;
  /**
   * How the proxy reaches the brokers: TLS (`ssl`) and SASL with the cluster's credentials (`sasl`),
   * done by the proxy before a client's upgrade completes; clients never see those credentials, and
   * their own SaslHandshake/SaslAuthenticate requests are refused (API_NOT_ALLOWED). A wrong password
   * refuses the upgrade with 502 UPSTREAM_AUTH_FAILED. [default: plaintext, no SASL]
   */
  upstream?: UpstreamOptions;
  /** Serve wss:// with this certificate and key (PEM). [default: plain ws://] */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** @internal Time and timers (idle timeout, rate limit, connect timeout); tests pass a manual clock. */
  clock?: ProxyClock;
}

/** Counters since start; `open` is current. */
export interface ProxyStats {
  connections: { open: number; total: number };
  refused: { total: number; byReason: Partial<Record<RefusalReason, number>> };
  closed: { byReason: Record<string, number> };
  bytes: { toBroker: number; toClient: number };
  /** Times a connection was slowed by the bytesPerSecond limit or by backpressure. */
  throttled: { rate: number; brokerBackpressure: number; clientBackpressure: number };
}

export interface KafkaProxy {
  readonly host: string;
  readonly port: number;
  /** `ws://host:port` (`wss://` with tls) */
  readonly url: string;
  stats(): ProxyStats;
  /** Stops accepting, closes every WebSocket (1001) and broker socket, resolves when all are gone. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const invalid = (message: string) => new ClientError("INVALID_CONFIG", `Cannot start proxy: ${message}`);

/** Starts a proxy and resolves once it listens. Throws ClientError INVALID_CONFIG on bad options. */
export async function startProxy(options: ProxyOptions): Promise<KafkaProxy> {
  const allow = new Set<string>();
  for (const a of options.allow ?? []) {
    const t = typeof a === "string" ? parseBrokerTarget(a.trim()) : undefined;
    if (!t) throw invalid(`allow entry ${JSON.stringify(a)} is not host:port`);
    allow.add(t.key);
  }
  if (allow.size === 0) throw invalid("allow is empty, so no broker could be reached");
  const count = (name: string, v: number | undefined, dflt: number, min = 0): number => {
    const n = v ?? dflt;
    if (typeof n !== "number" || !Number.isFinite(n) || n < min) throw invalid(`${name} is ${v}, expected a number >= ${min}`);
    return n;
  };
  if (options.maxRequestSize !== undefined && options.maxRequestBytes !== undefined && options.maxRequestSize !== options.maxRequestBytes) {
    throw invalid(`maxRequestSize ${options.maxRequestSize} and its deprecated alias maxRequestBytes ${options.maxRequestBytes} differ`);
  }
  const maxMessageBytes = count("maxMessageBytes", options.maxMessageBytes, 4 * 1024 * 1024, 1);
  const maxFragments = count("maxFragments", options.maxFragments, 1024, 1);
  const maxPerClient = count("maxConnectionsPerClient", options.maxConnectionsPerClient, 32);
  const maxConnections = count("maxConnections", options.maxConnections, 10_000);
  const bytesPerSecond = count("bytesPerSecond", options.bytesPerSecond, 0);
  const idleTimeoutMs = count("idleTimeoutMs", options.idleTimeoutMs, 300_000);
  const connectTimeoutMs = count("connectTimeoutMs", options.connectTimeoutMs, 10_000);
  const highWaterMark = count("highWaterMark", options.highWaterMark, 1024 * 1024);
  const maxBufferedBytes = count("maxBufferedBytes", options.maxBufferedBytes, Math.max(16 * 1024 * 1024, 4 * highWaterMark), 2 * highWaterMark);
  const maxRequestSize = count("maxRequestSize", options.maxRequestSize ?? options.maxRequestBytes, 8 * 1024 * 1024, 8);
  const maxTopicsPerRequest = count("maxTopicsPerRequest", options.maxTopicsPerRequest, 1000, 1);
  if (options.token !== undefined && (typeof options.token !== "string" || options.token.trim() === "")) {
    throw invalid("token is empty, which would let every client in; omit it to run without a token, or set a secret");
  }
  if (options.jwt !== undefined && options.token !== undefined) throw invalid("token and jwt are both set; a client presents one token, verified one way");
  for (const [name, path] of [["statsPath", options.statsPath], ["metricsPath", options.metricsPath]] as const) {
    if (path !== undefined && (typeof path !== "string" || !path.startsWith("/") || path.startsWith("/broker/"))) throw invalid(`${name} is ${JSON.stringify(path)}, expected a path like "/${name.slice(0, -4)}"`);
  }
  const upstream = resolveUpstream(options.upstream);
  const clock = options.clock ?? systemClock;
  const jwt = options.jwt === undefined ? undefined : await JwtVerifier.create(options.jwt, clock);
  const apiKeys = options.apiKeys === "all" ? undefined : options.apiKeys ?? PRODUCER_API_KEYS;
  // With upstream SASL there is always a gate: it refuses a client's own SASL requests, and counts
  // in-flight requests so that a connection can drain before its SASL session ends; with JWTs, a
  // token's claims narrow the topics per connection, and an expiring token drains the same way.
  const consumer = options.consumer;
  if (consumer !== undefined) {
    const names = (v: unknown, any: boolean) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x !== "" && (any || x !== "*"));
    // "*" alone would hand every group's offsets (a backend's too) to any page.
    if (typeof consumer !== "object" || consumer === null || !names(consumer.groups, false)) throw invalid("consumer.groups must list group ids (exact or \"prefix*\", not \"*\" alone)");
    if (consumer.topics !== undefined && !names(consumer.topics, true)) throw invalid("consumer.topics must list topics (exact or \"prefix*\"), or be omitted to use topics");
  }
  const gatePolicy: GatePolicy | undefined = apiKeys || options.topics || options.transactionalIds || consumer || upstream.sasl || jwt
    ? { apiKeys, topics: options.topics, transactionalIds: options.transactionalIds, consumer, maxRequestSize, maxTopicsPerRequest, refuseSasl: upstream.sasl !== undefined } : undefined;
  const log = options.log ?? ((e: ProxyLogEntry) => console.error(JSON.stringify({ proxy: true, ...e })));
  const header = options.clientAddressHeader?.toLowerCase();
  const clientAddress = options.clientAddress ?? ((req: IncomingMessage) => {
    const peer = req.socket.remoteAddress ?? "unknown";
    if (!header) return peer;
    const value = req.headers[header];
    const last = (Array.isArray(value) ? value.join(",") : value ?? "").split(",").pop()?.trim();
    return last || peer;
  });

  const stats: ProxyStats = {
    connections: { open: 0, total: 0 },
    refused: { total: 0, byReason: {} },
    closed: { byReason: {} },
    bytes: { toBroker: 0, toClient: 0 },
    throttled: { rate: 0, brokerBackpressure: 0, clientBackpressure: 0 },
  };
  const live = new Set<Connection>();
  const pendingTcp = new Set<Socket>();
  let closing = false;
  const snapshot = (): ProxyStats => structuredClone(stats);
  const latency = new LatencyHistograms();

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxMessageBytes,
    perMessageDeflate: false, // compressing Kafka bytes costs CPU per message and opens zip-bomb tricks
    autoPong: false, // connection.ts answers pings only while little is queued toward the client
    // Browsers fail the handshake unless one offered subprotocol is echoed; never echo the token.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const ctx: ServerContext = {
    clock, stats, log, live, pendingTcp, wss, allow, gatePolicy, clientAddress, snapshot, jwt, latency,
    metrics: () => renderMetrics(stats, latency),
    metricsPath: options.metricsPath,
    countRefusal(reason, client, target, detail) {
      stats.refused.total++;
      stats.refused.byReason[reason] = (stats.refused.byReason[reason] ?? 0) + 1;
      log({ event: "refused", reason, client, target, detail });
    },
    clients: new ClientTable(bytesPerSecond, clock),
    maxMessageBytes, maxFragments, idleTimeoutMs, highWaterMark, maxBufferedBytes,
    tokenDigest: options.token ? digest(options.token) : undefined,
    origins: options.origins && options.origins.length > 0 ? new Set(options.origins) : undefined,
    requireOrigin: options.requireOrigin === true,
    maxPerClient, maxConnections, connectTimeoutMs, upstream,
    statsPath: options.statsPath,
    closing: () => closing,
  };
  const { onRequest, onUpgrade, onClientError } = handlers(ctx);
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(onRequest);
  server.on("upgrade", onUpgrade);
  server.on("clientError", onClientError);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const host = options.host ?? "127.0.0.1";
  log({ event: "listening", detail: `${options.tls ? "wss" : "ws"}://${host}:${port} → ${[...allow].join(",")}` });

  return {
    host,
    port,
    url: `${options.tls ? "wss" : "ws"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    stats: snapshot,
    async close(closeOptions) {
      if (closing) return;
      closing = true;
      log({ event: "shutdown", detail: `${live.size} open connections` });
      const serverClosed = new Promise<void>((r) => server.close(() => r()));
      for (const t of pendingTcp) t.destroy(new Error("proxy shutting down"));
      const conns = [...live];
      for (const c of conns) c.finish("proxy shutting down", 1001, "SHUTTING_DOWN");
      const timeoutMs = closeOptions?.timeoutMs ?? 5000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const all = Promise.all(conns.map((c) => c.gone()));
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
      ]);
      clearTimeout(timer);
      if (timedOut) for (const c of conns) c.kill();
      server.closeAllConnections();
      wss.close();
      await serverClosed;
    },
  };
}
