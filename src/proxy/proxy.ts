/**
 * A WebSocket-to-Kafka proxy for Node, safe to put in front of a cluster on the internet.
 *
 * Clients open `ws://HOST:PORT/broker/<host>:<port>`; each binary WebSocket message is written to
 * that broker's TCP socket as-is and every TCP chunk from the broker goes back as one binary
 * message (the client reassembles Kafka frames, so chunking does not matter).
 *
 * What keeps it from being an open relay: only the exact `host:port` strings in `allow` can be
 * dialled (no DNS games, no prefix match), an optional bearer token and Origin allow-list, and
 * limits on message size, connections per client address, bytes per second and idle time, and a
 * Kafka-aware gate (gate.ts: only the producer's API keys by default, optional topic allow-list). Every
 * refusal is logged with a stable reason and counted in `stats()`. Nothing is buffered without
 * bound: a slow broker pauses the WebSocket reader, a slow client pauses the TCP reader.
 *
 * @example
 * ```ts
 * import { startProxy } from "kafkasm/proxy";
 * const proxy = await startProxy({ port: 8080, allow: ["10.0.0.5:9092", "10.0.0.6:9092"], token: process.env.TOKEN });
 * // browsers: new Producer({ brokers: ["10.0.0.5:9092"], transport: websocketTransport({ url: "wss://proxy.example/broker/{host}:{port}", token }) })
 * await proxy.close();
 * ```
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createHash, timingSafeEqual } from "node:crypto";
import { WebSocketServer, type WebSocket } from "ws";
import { PRODUCER_API_KEYS, RequestGate, type GatePolicy } from "./gate.ts";

export { PRODUCER_API_KEYS } from "./gate.ts";

/** Why a connection or message was refused; stable strings, used as keys of `stats().refused`. */
export type RefusalReason =
  | "NOT_FOUND"            // not /broker/<host>:<port> (or /stats when disabled)
  | "NOT_WEBSOCKET"        // a plain HTTP request on the WebSocket path
  | "TARGET_NOT_ALLOWED"   // the broker address is not in the allow-list
  | "BAD_TOKEN"            // token required and missing or wrong
  | "BAD_ORIGIN"           // Origin header present and not in the allow-list (or missing when required)
  | "TOO_MANY_CONNECTIONS" // maxConnectionsPerClient reached for this client address
  | "PROXY_FULL"           // maxConnections reached
  | "BROKER_UNREACHABLE"   // the TCP connection to the broker failed or timed out
  | "MESSAGE_TOO_LARGE"    // a WebSocket message over maxMessageBytes
  | "TEXT_MESSAGE"         // a text message: Kafka bytes travel in binary messages only
  | "API_NOT_ALLOWED"      // a Kafka request whose API key is not allowed (e.g. DeleteTopics)
  | "TOPIC_NOT_ALLOWED"    // Produce/Metadata naming a topic outside the topic allow-list
  | "BAD_REQUEST"          // a request frame the gate cannot parse, or over maxRequestBytes
  | "BAD_RESPONSE"         // a broker response the gate cannot frame or rewrite (topic allow-list only)
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
  /** Bearer token clients must present: `?token=`, `Sec-WebSocket-Protocol: kafkasm.bearer.<token>`, or `Authorization: Bearer`. */
  token?: string;
  /** Origins allowed (exact, e.g. "https://app.example"). A request with another Origin is refused. */
  origins?: readonly string[];
  /** [requireOrigin=false] Also refuse requests without an Origin header (i.e. non-browser clients). */
  requireOrigin?: boolean;
  /** [maxMessageBytes=4194304] Largest WebSocket message accepted; bigger closes with 1009. */
  maxMessageBytes?: number;
  /** [maxConnectionsPerClient=32] Open (or opening) connections per client IP address. */
  maxConnectionsPerClient?: number;
  /** [maxConnections=10000] Open connections in total. */
  maxConnections?: number;
  /** [bytesPerSecond=0] Per connection and per direction; 0 = unlimited. Excess is delayed, never dropped. */
  bytesPerSecond?: number;
  /** [idleTimeoutMs=300000] Close a connection with no traffic either way for this long; 0 = never. */
  idleTimeoutMs?: number;
  /** [connectTimeoutMs=10000] Time allowed for the TCP connection to the broker. */
  connectTimeoutMs?: number;
  /** [highWaterMark=1048576] Bytes queued toward the client before the broker socket is paused. */
  highWaterMark?: number;
  /** Serve GET `<statsPath>` with `stats()` as JSON (same token rules). Off unless set, e.g. "/stats". */
  statsPath?: string;
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
   */
  apiKeys?: readonly number[] | "all";
  /**
   * Topics clients may use: exact names or "prefix*". [default: any] Metadata for another topic is
   * answered with TOPIC_AUTHORIZATION_FAILED for it (the rest of the answer is the broker's), so the
   * producer fails just those records; a Metadata answer for all topics lists only allowed ones.
   */
  topics?: readonly string[];
  /** [maxRequestBytes=8388608] Largest Kafka request frame; the gate buffers at most one per connection. */
  maxRequestBytes?: number;
  /** Serve wss:// with this certificate and key (PEM). [default: plain ws://] */
  tls?: { cert: string | Buffer; key: string | Buffer };
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

const SUBPROTOCOL = "kafkasm";
const TOKEN_SUBPROTOCOL_PREFIX = "kafkasm.bearer.";
const STATUS: Record<RefusalReason, [number, string]> = {
  NOT_FOUND: [404, "Not Found"],
  NOT_WEBSOCKET: [426, "Upgrade Required"],
  TARGET_NOT_ALLOWED: [403, "Forbidden"],
  BAD_TOKEN: [401, "Unauthorized"],
  BAD_ORIGIN: [403, "Forbidden"],
  TOO_MANY_CONNECTIONS: [429, "Too Many Requests"],
  PROXY_FULL: [503, "Service Unavailable"],
  BROKER_UNREACHABLE: [502, "Bad Gateway"],
  MESSAGE_TOO_LARGE: [413, "Payload Too Large"],
  TEXT_MESSAGE: [400, "Bad Request"],
  API_NOT_ALLOWED: [403, "Forbidden"],
  TOPIC_NOT_ALLOWED: [403, "Forbidden"],
  BAD_REQUEST: [400, "Bad Request"],
  BAD_RESPONSE: [502, "Bad Gateway"],
  IDLE_TIMEOUT: [408, "Request Timeout"],
  SHUTTING_DOWN: [503, "Service Unavailable"],
};

/** Parses "host:port" / "[v6]:port"; returns the normalised "host:port" or undefined. */
export function parseBrokerTarget(text: string): { host: string; port: number; key: string } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1].toLowerCase();
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port, key: `${host}:${port}` };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Starts a proxy and resolves once it listens. */
export async function startProxy(options: ProxyOptions): Promise<KafkaProxy> {
  const allow = new Set<string>();
  for (const a of options.allow ?? []) {
    const t = parseBrokerTarget(a.trim());
    if (!t) throw new TypeError(`Cannot start proxy: allow entry "${a}" is not host:port`);
    allow.add(t.key);
  }
  if (allow.size === 0) throw new TypeError("Cannot start proxy: allow is empty, so no broker could be reached");
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    const n = v ?? dflt;
    if (!Number.isFinite(n) || n < 0) throw new TypeError(`Cannot start proxy: ${name} is ${v}, expected a number >= 0`);
    return n;
  };
  const maxMessageBytes = positive("maxMessageBytes", options.maxMessageBytes, 4 * 1024 * 1024);
  const maxPerClient = positive("maxConnectionsPerClient", options.maxConnectionsPerClient, 32);
  const maxConnections = positive("maxConnections", options.maxConnections, 10_000);
  const bytesPerSecond = positive("bytesPerSecond", options.bytesPerSecond, 0);
  const idleTimeoutMs = positive("idleTimeoutMs", options.idleTimeoutMs, 300_000);
  const connectTimeoutMs = positive("connectTimeoutMs", options.connectTimeoutMs, 10_000);
  const highWaterMark = positive("highWaterMark", options.highWaterMark, 1024 * 1024);
  const maxRequestBytes = positive("maxRequestBytes", options.maxRequestBytes, 8 * 1024 * 1024);
  const apiKeys = options.apiKeys === "all" ? undefined : options.apiKeys ?? PRODUCER_API_KEYS;
  const gatePolicy: GatePolicy | undefined = apiKeys || options.topics
    ? { apiKeys, topics: options.topics, maxRequestBytes } : undefined;
  const tokenDigest = options.token ? digest(options.token) : undefined;
  const origins = options.origins && options.origins.length > 0 ? new Set(options.origins) : undefined;
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
  const perClient = new Map<string, number>();
  const live = new Set<Connection>();
  const pendingTcp = new Set<Socket>();
  let closing = false;

  function countRefusal(reason: RefusalReason, client: string, target?: string, detail?: string): void {
    stats.refused.total++;
    stats.refused.byReason[reason] = (stats.refused.byReason[reason] ?? 0) + 1;
    log({ event: "refused", reason, client, target, detail });
  }

  function refuseHttp(socket: Duplex, reason: RefusalReason, client: string, target?: string, detail?: string): void {
    countRefusal(reason, client, target, detail);
    const [code, text] = STATUS[reason];
    const body = `${reason}${detail ? `: ${detail}` : ""}\n`;
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  function presentedToken(req: IncomingMessage, url: URL): string | undefined {
    const q = url.searchParams.get("token");
    if (q) return q;
    const auth = req.headers.authorization;
    if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, "");
    for (const p of String(req.headers["sec-websocket-protocol"] ?? "").split(",")) {
      const t = p.trim();
      if (t.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return t.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    }
    return undefined;
  }

  /** Checks token and origin; returns the refusal reason or undefined. */
  function authorize(req: IncomingMessage, url: URL): RefusalReason | undefined {
    const origin = req.headers.origin;
    if (origins) {
      if (origin === undefined ? options.requireOrigin === true : !origins.has(origin)) return "BAD_ORIGIN";
    }
    if (tokenDigest) {
      const t = presentedToken(req, url);
      // Compare digests so the comparison time does not depend on where the strings differ.
      if (t === undefined || !timingSafeEqual(digest(t), tokenDigest)) return "BAD_TOKEN";
    }
    return undefined;
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxMessageBytes,
    perMessageDeflate: false, // compressing Kafka bytes costs CPU per message and opens zip-bomb tricks
    // Browsers fail the handshake unless one offered subprotocol is echoed; never echo the token.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const onRequest: RequestListener = (req, res) => {
    const client = clientAddress(req);
    const url = new URL(req.url ?? "/", "http://proxy");
    if (options.statsPath && url.pathname === options.statsPath && req.method === "GET") {
      const denied = authorize(req, url);
      if (denied) {
        countRefusal(denied, client);
        res.writeHead(STATUS[denied][0], { "content-type": "text/plain" }).end(`${denied}\n`);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(snapshot()));
      return;
    }
    const reason: RefusalReason = url.pathname.startsWith("/broker/") ? "NOT_WEBSOCKET" : "NOT_FOUND";
    countRefusal(reason, client, undefined, `${req.method} ${url.pathname}`);
    res.writeHead(STATUS[reason][0], { "content-type": "text/plain", connection: "close" }).end(`${reason}\n`);
  };
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(onRequest);

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const client = clientAddress(req);
    socket.on("error", () => {}); // a client resetting mid-handshake must not crash the proxy
    if (closing) return refuseHttp(socket, "SHUTTING_DOWN", client);
    const url = new URL(req.url ?? "/", "http://proxy");
    const m = /^\/broker\/([^/]+)$/.exec(url.pathname);
    if (!m) return refuseHttp(socket, "NOT_FOUND", client, undefined, url.pathname);
    const target = parseBrokerTarget(decodeURIComponent(m[1]));
    if (!target || !allow.has(target.key)) {
      return refuseHttp(socket, "TARGET_NOT_ALLOWED", client, m[1].slice(0, 300));
    }
    const denied = authorize(req, url);
    if (denied) return refuseHttp(socket, denied, client, target.key);
    const mine = perClient.get(client) ?? 0;
    if (maxPerClient > 0 && mine >= maxPerClient) {
      return refuseHttp(socket, "TOO_MANY_CONNECTIONS", client, target.key, `${mine} open, limit ${maxPerClient}`);
    }
    if (live.size + pendingTcp.size >= maxConnections) {
      return refuseHttp(socket, "PROXY_FULL", client, target.key, `limit ${maxConnections}`);
    }
    perClient.set(client, mine + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (perClient.get(client) ?? 1) - 1;
      if (n <= 0) perClient.delete(client); else perClient.set(client, n);
    };

    // Connect to the broker first, so a client only sees an open WebSocket when the broker is there.
    const tcp = connect({ host: target.host, port: target.port });
    tcp.setNoDelay(true);
    pendingTcp.add(tcp);
    const timer = setTimeout(() => tcp.destroy(new Error(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs);
    const abandon = () => tcp.destroy(); // the client went away while we were dialling
    socket.once("close", abandon);
    tcp.once("error", (err) => {
      if (!pendingTcp.delete(tcp)) return;
      clearTimeout(timer);
      socket.off("close", abandon);
      release();
      refuseHttp(socket, "BROKER_UNREACHABLE", client, target.key, err.message);
    });
    tcp.once("connect", () => {
      pendingTcp.delete(tcp);
      clearTimeout(timer);
      socket.off("close", abandon);
      if (closing || socket.destroyed) {
        tcp.destroy();
        release();
        if (!socket.destroyed) refuseHttp(socket, "SHUTTING_DOWN", client, target.key);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = new Connection(ws, tcp, client, target.key, release);
        live.add(conn);
        stats.connections.open++;
        stats.connections.total++;
        log({ event: "open", client, target: target.key });
      });
    });
  });

  function snapshot(): ProxyStats {
    return structuredClone(stats);
  }

  /** One WebSocket paired with one broker socket. */
  class Connection {
    private closed = false;
    private idleTimer: ReturnType<typeof setTimeout> | undefined;
    private lastActivity = Date.now();
    // Pause reasons per side: a side resumes only when none is left.
    private wsPause = new Set<string>();
    private tcpPause = new Set<string>();
    private upTokens = bytesPerSecond;
    private downTokens = bytesPerSecond;
    private lastRefill = Date.now();
    private timers = new Set<ReturnType<typeof setTimeout>>();
    private gate = gatePolicy
      ? new RequestGate({ ...gatePolicy, onTopicsDenied: (detail) => countRefusal("TOPIC_NOT_ALLOWED", this.client, this.target, detail) })
      : undefined;
    private tcpOk = true;
    private toClient: Uint8Array[] = [];
    private afterSend = () => {
      if (this.ws.bufferedAmount < highWaterMark / 2) this.resumeSide("tcp", "ws-backpressure");
    };
    private forwardFrame = (prefix: Uint8Array, frame: Uint8Array) => {
      this.tcp.cork();
      this.tcp.write(prefix);
      this.tcpOk = this.tcp.write(frame);
      this.tcp.uncork();
    };

    constructor(private ws: WebSocket, private tcp: Socket, readonly client: string, readonly target: string,
                private release: () => void) {
      ws.on("message", (data: Buffer, isBinary: boolean) => this.fromClient(data, isBinary));
      ws.on("close", (code: number, reason: Buffer) => this.finish(`client closed (${code}${reason.length ? ` ${reason}` : ""})`));
      ws.on("error", (err: Error & { code?: string }) => {
        if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
          countRefusal("MESSAGE_TOO_LARGE", client, target, `limit ${maxMessageBytes} bytes`);
          this.finish("message too large", 1009); // ws already sent 1009; this closes the broker side
        } else {
          this.finish(`client error: ${err.message}`);
        }
      });
      tcp.on("data", (chunk: Buffer) => this.fromBroker(chunk));
      tcp.on("drain", () => this.resumeSide("ws", "tcp-backpressure"));
      tcp.on("error", (err) => this.finish(`broker error: ${err.message}`, 1014, `Broker ${target} failed: ${err.message}`));
      tcp.on("close", () => this.finish("broker closed", 1014, `Broker ${target} closed the connection`));
      this.armIdle();
    }

    private touch(): void {
      this.lastActivity = Date.now();
    }

    private armIdle(): void {
      if (idleTimeoutMs <= 0 || this.closed) return;
      const wait = Math.max(0, this.lastActivity + idleTimeoutMs - Date.now());
      this.idleTimer = setTimeout(() => {
        if (Date.now() - this.lastActivity >= idleTimeoutMs) {
          countRefusal("IDLE_TIMEOUT", this.client, this.target, `no traffic for ${idleTimeoutMs} ms`);
          this.finish("idle timeout", 1001, `Idle for ${idleTimeoutMs} ms`);
        } else {
          this.armIdle();
        }
      }, wait + 1);
    }

    /** Token bucket: returns how long to wait before more bytes may pass (0 = go on). */
    private charge(direction: "up" | "down", n: number): number {
      if (bytesPerSecond <= 0) return 0;
      const now = Date.now();
      const refill = ((now - this.lastRefill) / 1000) * bytesPerSecond;
      this.lastRefill = now;
      this.upTokens = Math.min(bytesPerSecond, this.upTokens + refill);
      this.downTokens = Math.min(bytesPerSecond, this.downTokens + refill);
      if (direction === "up") this.upTokens -= n; else this.downTokens -= n;
      const deficit = -(direction === "up" ? this.upTokens : this.downTokens);
      return deficit > 0 ? Math.ceil((deficit / bytesPerSecond) * 1000) : 0;
    }

    private pauseSide(side: "ws" | "tcp", reason: string): void {
      const set = side === "ws" ? this.wsPause : this.tcpPause;
      if (set.has(reason)) return;
      set.add(reason);
      if (set.size === 1) { if (side === "ws") this.ws.pause(); else this.tcp.pause(); }
    }

    private resumeSide(side: "ws" | "tcp", reason: string): void {
      const set = side === "ws" ? this.wsPause : this.tcpPause;
      if (!set.delete(reason) || set.size > 0 || this.closed) return;
      if (side === "ws") this.ws.resume(); else this.tcp.resume();
    }

    /**
     * Pauses the reading side of `direction` until its bucket is back to zero. Bytes already read
     * (up to one socket chunk) still pass, so the rate can overshoot by that much, never more.
     */
    private throttle(direction: "up" | "down", wait: number): void {
      const side = direction === "up" ? "ws" : "tcp";
      if (wait <= 0 || (side === "ws" ? this.wsPause : this.tcpPause).has("rate")) return;
      stats.throttled.rate++;
      this.pauseSide(side, "rate");
      const check = () => {
        const more = this.charge(direction, 0);
        if (more > 0) this.later(more, check); else this.resumeSide(side, "rate");
      };
      this.later(wait, check);
    }

    private later(ms: number, fn: () => void): void {
      const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
      this.timers.add(t);
    }

    private fromClient(data: Buffer, isBinary: boolean): void {
      if (this.closed) return;
      if (!isBinary) {
        countRefusal("TEXT_MESSAGE", this.client, this.target);
        this.finish("text message", 1003, "Binary messages only");
        return;
      }
      this.touch();
      stats.bytes.toBroker += data.length;
      if (this.gate) {
        this.tcpOk = true;
        const refused = this.gate.push(data, this.forwardFrame);
        if (refused) {
          countRefusal(refused.reason, this.client, this.target, refused.detail);
          this.finish(refused.reason, 1008, refused.detail);
          return;
        }
      } else {
        this.tcpOk = this.tcp.write(data);
      }
      if (!this.tcpOk) {
        stats.throttled.brokerBackpressure++;
        this.pauseSide("ws", "tcp-backpressure");
      }
      this.throttle("up", this.charge("up", data.length));
    }

    private fromBroker(chunk: Buffer): void {
      if (this.closed) return;
      this.touch();
      stats.bytes.toClient += chunk.length;
      if (this.gate?.tracksResponses) {
        const out = this.toClient;
        out.length = 0;
        const refused = this.gate.pushResponse(chunk, (bytes) => out.push(bytes));
        if (out.length > 0) this.ws.send(out.length === 1 ? out[0] : Buffer.concat(out), { binary: true }, this.afterSend);
        if (refused) {
          countRefusal(refused.reason, this.client, this.target, refused.detail);
          this.finish(refused.reason, 1014, refused.detail);
          return;
        }
      } else {
        this.ws.send(chunk, { binary: true }, this.afterSend);
      }
      if (this.ws.bufferedAmount >= highWaterMark) {
        stats.throttled.clientBackpressure++;
        this.pauseSide("tcp", "ws-backpressure");
      }
      this.throttle("down", this.charge("down", chunk.length));
    }

    /** Closes both sides once; `code`/`reason` go to the client if its socket is still open. */
    finish(why: string, code = 1000, reason = ""): void {
      if (this.closed) return;
      this.closed = true;
      clearTimeout(this.idleTimer);
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      live.delete(this);
      stats.connections.open--;
      const key = why.replace(/\s*[(:].*$/, "");
      stats.closed.byReason[key] = (stats.closed.byReason[key] ?? 0) + 1;
      this.release();
      log({ event: "close", client: this.client, target: this.target, detail: why });
      // Let queued bytes reach the broker (end), then make sure the socket is gone.
      this.tcp.end();
      const t = setTimeout(() => this.tcp.destroy(), 2000);
      t.unref();
      this.tcp.once("close", () => clearTimeout(t));
      if (this.ws.readyState === this.ws.OPEN) {
        this.ws.close(code, reason.slice(0, 120)); // close reasons are limited to 123 bytes
        const k = setTimeout(() => this.ws.terminate(), 2000);
        k.unref();
        this.ws.once("close", () => clearTimeout(k));
      } else if (this.ws.readyState !== this.ws.CLOSED) {
        this.ws.terminate();
      }
    }

    /** Resolves when both sockets are gone. */
    gone(): Promise<void> {
      const wsDone = this.ws.readyState === this.ws.CLOSED ? Promise.resolve() : new Promise<void>((r) => this.ws.once("close", () => r()));
      const tcpDone = this.tcp.destroyed ? Promise.resolve() : new Promise<void>((r) => this.tcp.once("close", () => r()));
      return Promise.all([wsDone, tcpDone]).then(() => undefined);
    }

    kill(): void {
      this.ws.terminate();
      this.tcp.destroy();
    }
  }

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
      for (const c of conns) c.finish("proxy shutting down", 1001, "Proxy shutting down");
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
