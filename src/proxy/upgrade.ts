/**
 * The HTTP side of the proxy: plain requests (/stats, everything else refused) and WebSocket
 * upgrades. Every check that can refuse runs before the broker is dialled, and nothing a client
 * sends may throw out of a handler: a malformed request is a counted 400 (BAD_HTTP_REQUEST).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createHash, timingSafeEqual } from "node:crypto";
import type { WebSocketServer } from "ws";
import { Connection, type ProxyContext } from "./connection.ts";
import type { ClientTable } from "./limits.ts";
import type { RefusalReason } from "./proxy.ts";
import { parseHostPort as parseBrokerTarget } from "../client/address.ts";
import { dialUpstream, type ResolvedUpstream, type Upstream } from "./upstream.ts";
import type { JwtVerifier, TokenGrant } from "./jwt.ts";

export const SUBPROTOCOL = "kafkasm";
const TOKEN_SUBPROTOCOL_PREFIX = "kafkasm.bearer.";

export const STATUS: Record<RefusalReason, [number, string]> = {
  NOT_FOUND: [404, "Not Found"],
  NOT_WEBSOCKET: [426, "Upgrade Required"],
  BAD_HTTP_REQUEST: [400, "Bad Request"],
  BAD_HANDSHAKE: [400, "Bad Request"],
  TARGET_NOT_ALLOWED: [403, "Forbidden"],
  BAD_TOKEN: [401, "Unauthorized"],
  BAD_ORIGIN: [403, "Forbidden"],
  TOKEN_EXPIRED: [401, "Unauthorized"],
  TOO_MANY_CONNECTIONS: [429, "Too Many Requests"],
  PROXY_FULL: [503, "Service Unavailable"],
  BROKER_UNREACHABLE: [502, "Bad Gateway"],
  UPSTREAM_AUTH_FAILED: [502, "Bad Gateway"],
  SESSION_EXPIRED: [503, "Service Unavailable"],
  MESSAGE_TOO_LARGE: [413, "Payload Too Large"],
  TOO_MANY_FRAGMENTS: [413, "Payload Too Large"],
  CLIENT_TOO_SLOW: [408, "Request Timeout"],
  TEXT_MESSAGE: [400, "Bad Request"],
  API_NOT_ALLOWED: [403, "Forbidden"],
  TOPIC_NOT_ALLOWED: [403, "Forbidden"],
  TRANSACTIONAL_ID_NOT_ALLOWED: [403, "Forbidden"],
  GROUP_NOT_ALLOWED: [403, "Forbidden"],
  BAD_REQUEST: [400, "Bad Request"],
  BAD_RESPONSE: [502, "Bad Gateway"],
  IDLE_TIMEOUT: [408, "Request Timeout"],
  SHUTTING_DOWN: [503, "Service Unavailable"],
};

export function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Path and query of a request target, without `new URL` (which throws on `//`); undefined if malformed. */
function requestTarget(raw: string | undefined): { path: string; query: URLSearchParams } | undefined {
  if (!raw || raw[0] !== "/") return undefined;
  const q = raw.indexOf("?");
  return { path: q < 0 ? raw : raw.slice(0, q), query: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)) };
}

function decode(s: string): string | undefined {
  try { return decodeURIComponent(s); } catch { return undefined; }
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What ws's handleUpgrade would refuse, checked before the broker is dialled; undefined if valid. */
function handshakeProblem(req: IncomingMessage): string | undefined {
  if (req.method !== "GET") return `method ${req.method}`;
  if (req.headers.upgrade?.toLowerCase() !== "websocket") return "Upgrade is not websocket";
  const key = req.headers["sec-websocket-key"];
  if (key === undefined || !KEY.test(key)) return "missing or invalid Sec-WebSocket-Key";
  const version = Number(req.headers["sec-websocket-version"]);
  if (version !== 13 && version !== 8) return "missing or invalid Sec-WebSocket-Version";
  const protocols = req.headers["sec-websocket-protocol"];
  if (protocols !== undefined) {
    const list = protocols.split(",").map((p) => p.trim());
    if (list.some((p) => !TOKEN.test(p)) || new Set(list).size !== list.length) return "invalid Sec-WebSocket-Protocol";
  }
  return undefined;
}

export interface ServerContext extends ProxyContext {
  readonly allow: ReadonlySet<string>;
  readonly clients: ClientTable;
  readonly pendingTcp: Set<Socket>;
  readonly wss: WebSocketServer;
  readonly tokenDigest: Buffer | undefined;
  readonly origins: ReadonlySet<string> | undefined;
  readonly requireOrigin: boolean;
  readonly maxPerClient: number;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly upstream: ResolvedUpstream;
  readonly statsPath: string | undefined;
  readonly metricsPath: string | undefined;
  readonly metrics: () => string;
  readonly jwt: JwtVerifier | undefined;
  readonly clientAddress: (req: IncomingMessage) => string;
  readonly closing: () => boolean;
  readonly snapshot: () => unknown;
}

export function handlers(ctx: ServerContext) {
  const { countRefusal, clock } = ctx;

  function refuseHttp(socket: Duplex, reason: RefusalReason, client: string, target?: string, detail?: string): void {
    countRefusal(reason, client, target, detail);
    const [code, text] = STATUS[reason];
    const body = `${reason}\n`; // details go to the log only
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body}`);
    }
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  function presentedToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
    const q = query.get("token");
    if (q) return q;
    const auth = req.headers.authorization;
    if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, "");
    for (const p of String(req.headers["sec-websocket-protocol"] ?? "").split(",")) {
      const t = p.trim();
      if (t.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return t.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    }
    return undefined;
  }

  type Auth = { denied?: RefusalReason; detail?: string; grant?: TokenGrant };

  /** Checks token and origin: synchronously, or a promise when the token is a JWT to verify. */
  function authorize(req: IncomingMessage, query: URLSearchParams): Auth | Promise<Auth> {
    const origin = req.headers.origin;
    if (ctx.origins) {
      if (origin === undefined ? ctx.requireOrigin : !ctx.origins.has(origin)) return { denied: "BAD_ORIGIN" };
    }
    if (ctx.tokenDigest) {
      const t = presentedToken(req, query);
      // Compare digests so the comparison time does not depend on where the strings differ.
      if (t === undefined || !timingSafeEqual(digest(t), ctx.tokenDigest)) return { denied: "BAD_TOKEN" };
    }
    if (ctx.jwt) {
      const t = presentedToken(req, query);
      if (t === undefined) return { denied: "BAD_TOKEN", detail: "no token" };
      // The reason goes to the log; the token itself never does.
      return ctx.jwt.verify(t).then((v) => (v.ok ? { grant: v.grant } : { denied: "BAD_TOKEN", detail: `JWT refused: ${v.why}` }),
        (e) => ({ denied: "BAD_TOKEN", detail: `JWT refused: ${e instanceof Error ? e.message : String(e)}` }));
    }
    return {};
  }

  /** Runs `then` with the outcome of authorize, synchronously when it is. */
  function authorized(req: IncomingMessage, query: URLSearchParams, then: (auth: Auth) => void, onError: (e: unknown) => void): void {
    const auth = authorize(req, query);
    if (auth instanceof Promise) auth.then(then).catch(onError); else then(auth);
  }

  const clientOf = (req: IncomingMessage): string => {
    try { return ctx.clientAddress(req); } catch { return req.socket.remoteAddress ?? "unknown"; }
  };

  function request(req: IncomingMessage, res: ServerResponse): void {
    const client = clientOf(req);
    const reply = (reason: RefusalReason, detail?: string) => {
      countRefusal(reason, client, undefined, detail);
      res.writeHead(STATUS[reason][0], { "content-type": "text/plain", connection: "close" }).end(`${reason}\n`);
    };
    const url = requestTarget(req.url);
    if (!url) return reply("BAD_HTTP_REQUEST", `${req.method} ${String(req.url).slice(0, 200)}`);
    const served = url.path === ctx.statsPath ? "stats" : url.path === ctx.metricsPath ? "metrics" : undefined;
    if (served && req.method === "GET") {
      authorized(req, url.query, ({ denied, detail }) => {
        if (denied) return reply(denied, detail);
        if (served === "stats") res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(ctx.snapshot()));
        else res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(ctx.metrics());
      }, () => res.destroy());
      return;
    }
    reply(url.path.startsWith("/broker/") ? "NOT_WEBSOCKET" : "NOT_FOUND", `${req.method} ${url.path.slice(0, 200)}`);
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const client = clientOf(req);
    if (ctx.closing()) return refuseHttp(socket, "SHUTTING_DOWN", client);
    const url = requestTarget(req.url);
    if (!url) return refuseHttp(socket, "BAD_HTTP_REQUEST", client, undefined, String(req.url).slice(0, 200));
    const m = /^\/broker\/([^/]+)$/.exec(url.path);
    if (!m) return refuseHttp(socket, "NOT_FOUND", client, undefined, url.path.slice(0, 200));
    const problem = handshakeProblem(req);
    if (problem) return refuseHttp(socket, "BAD_HANDSHAKE", client, undefined, problem);
    const decoded = decode(m[1]);
    if (decoded === undefined) return refuseHttp(socket, "BAD_HTTP_REQUEST", client, undefined, `malformed escape in ${m[1].slice(0, 200)}`);
    const target = parseBrokerTarget(decoded);
    if (!target || !ctx.allow.has(target.key)) return refuseHttp(socket, "TARGET_NOT_ALLOWED", client, m[1].slice(0, 200));
    authorized(req, url.query, ({ denied, detail, grant }) => {
      if (denied) return refuseHttp(socket, denied, client, target.key, detail);
      if (socket.destroyed) return; // left while its token was verified
      if (ctx.closing()) return refuseHttp(socket, "SHUTTING_DOWN", client, target.key);
      admit(req, socket, head, client, target, grant);
    }, (e) => {
      try { refuseHttp(socket, "BAD_HTTP_REQUEST", client, target.key, e instanceof Error ? e.message : String(e)); } catch { socket.destroy(); }
    });
  }

  /** An authorized upgrade: per-client and total limits, then the broker, then the WebSocket. */
  function admit(req: IncomingMessage, socket: Duplex, head: Buffer, client: string, target: { host: string; port: number; key: string }, grant: TokenGrant | undefined): void {
    const mine = ctx.clients.connections(client);
    if (ctx.maxPerClient > 0 && mine >= ctx.maxPerClient) {
      return refuseHttp(socket, "TOO_MANY_CONNECTIONS", client, target.key, `${mine} open, limit ${ctx.maxPerClient}`);
    }
    if (ctx.live.size + ctx.pendingTcp.size >= ctx.maxConnections) {
      return refuseHttp(socket, "PROXY_FULL", client, target.key, `limit ${ctx.maxConnections}`);
    }
    const limits = ctx.clients.acquire(client);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      ctx.clients.release(client);
    };

    // Connect (TLS, SASL with the cluster's credentials) to the broker first, so a client only sees
    // an open WebSocket when the broker is there and has accepted the proxy.
    let tcp!: Socket;
    const dialled = dialUpstream(target, ctx.upstream, ctx.connectTimeoutMs, clock, (s) => { tcp = s; ctx.pendingTcp.add(s); });
    let conn: Connection | undefined;
    // Until a Connection owns them, the client's socket closing (it left, or ws aborted the handshake)
    // releases the broker socket and the client's slot.
    socket.once("close", () => {
      if (conn) return;
      ctx.pendingTcp.delete(tcp);
      tcp.destroy();
      release();
    });
    dialled.then((up: Upstream) => {
      if (!ctx.pendingTcp.delete(tcp)) { tcp.destroy(); return; }
      if (ctx.closing() || socket.destroyed) {
        tcp.destroy();
        release();
        if (!socket.destroyed) refuseHttp(socket, "SHUTTING_DOWN", client, target.key);
        return;
      }
      ctx.wss.handleUpgrade(req, socket, head, (ws) => {
        try {
          conn = new Connection(ctx, ws, socket, tcp, client, target.key, limits, release, up.sessionLifetimeMs, grant);
        } catch (e) {
          ws.terminate();
          tcp.destroy();
          release();
          ctx.log({ event: "close", client, target: target.key, detail: `internal error: ${e instanceof Error ? e.message : String(e)}` });
          return;
        }
        ctx.live.add(conn);
        ctx.stats.connections.open++;
        ctx.stats.connections.total++;
        ctx.log({ event: "open", client, target: target.key });
      });
    }, (err: Error & { auth?: boolean }) => {
      if (!ctx.pendingTcp.delete(tcp)) return;
      release();
      // The message names the mechanism, the broker and its reason, never the credentials.
      refuseHttp(socket, err.auth ? "UPSTREAM_AUTH_FAILED" : "BROKER_UNREACHABLE", client, target.key, err.message);
    });
  }

  /** Wraps a handler so that nothing a client sends can throw out of it into the process. */
  const guarded = <A extends unknown[]>(fn: (...args: A) => void, socketOf: (...args: A) => Duplex) => (...args: A): void => {
    try {
      fn(...args);
    } catch (e) {
      const socket = socketOf(...args);
      try {
        refuseHttp(socket, "BAD_HTTP_REQUEST", "unknown", undefined, e instanceof Error ? e.message : String(e));
      } catch {
        socket.destroy();
      }
    }
  };

  const onRequest: RequestListener = guarded(request, (req) => req.socket);
  const onUpgrade = guarded((req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {}); // a client resetting mid-handshake must not crash the proxy
    upgrade(req, socket, head);
  }, (_req, socket) => socket);

  /** The HTTP parser refused the bytes (malformed request line, headers too large): 400 and a counted refusal. */
  const onClientError = (err: Error & { code?: string }, socket: Duplex): void => {
    socket.on("error", () => {});
    if (err.code === "ECONNRESET" || !socket.writable) { socket.destroy(); return; }
    countRefusal("BAD_HTTP_REQUEST", (socket as Socket).remoteAddress ?? "unknown", undefined, err.code ?? err.message);
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 17\r\n\r\nBAD_HTTP_REQUEST\n");
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  return { onRequest, onUpgrade, onClientError };
}
