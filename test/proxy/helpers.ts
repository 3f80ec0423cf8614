// Shared helpers for the proxy tests: TCP "brokers" (echo, sink, scripted) and WebSocket clients.
import { createServer, type Server, type Socket } from "node:net";
import { WebSocket } from "ws";
import { startProxy as startRealProxy, type ProxyLogEntry } from "../../src/proxy/proxy.ts";
import { nextEvent, until as boundedUntil, within } from "../harness/bounded.ts";

export interface TcpServer {
  port: number;
  server: Server;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that calls `onSocket` for each connection. */
export async function tcpServer(onSocket: (s: Socket) => void): Promise<TcpServer> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port, server, sockets,
    close: () => within(new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }), 15_000, "the test TCP server to close"),
  };
}

/** startProxy whose close() fails the test after 30 s instead of hanging it (close itself gives connections 5 s). */
export async function startProxy(...args: Parameters<typeof startRealProxy>): ReturnType<typeof startRealProxy> {
  const proxy = await startRealProxy(...args);
  const close = proxy.close.bind(proxy);
  proxy.close = (options) => within(close(options), 30_000, "proxy.close()");
  return proxy;
}

export const echoServer = () => tcpServer((s) => s.pipe(s));

/** Opens a ws client; resolves with it when open, rejects with the HTTP status on refusal (or after 15 s without an answer). */
export function openWs(url: string, options: { protocols?: string[]; headers?: Record<string, string>; origin?: string } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, origin: options.origin, handshakeTimeout: 15_000 });
    ws.binaryType = "nodebuffer";
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d));
      res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body.trim()}`), { status: res.statusCode, body })));
    });
    ws.once("error", (err) => reject(err));
  });
}

/** Resolves with the HTTP status of a refused handshake (fails if it opened). */
export async function refusedStatus(url: string, options?: Parameters<typeof openWs>[1]): Promise<{ status: number; body: string }> {
  try {
    const ws = await openWs(url, options);
    ws.terminate();
  } catch (err) {
    const e = err as { status?: number; body?: string; message: string };
    if (e.status === undefined) throw err;
    return { status: e.status, body: e.body ?? "" };
  }
  throw new Error(`expected ${url} to be refused, but it opened`);
}

/** The next close of `ws` (call before causing it), bounded by `ms`. */
export function closed(ws: WebSocket, ms = 15_000): Promise<{ code: number; reason: string }> {
  const p = nextEvent<[number, Buffer]>(ws, "close", ms, "the WebSocket to close")
    .then(([code, reason]) => ({ code, reason: reason.toString() }));
  p.catch(() => {}); // see within(): awaiting it still throws
  return p;
}

/** Collects log entries. */
export function logSink(): { entries: ProxyLogEntry[]; log: (e: ProxyLogEntry) => void } {
  const entries: ProxyLogEntry[] = [];
  return { entries, log: (e) => entries.push(e) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it holds; throws after `timeoutMs` (a hang guard, not a measurement: keep it generous). */
export const until = (cond: () => boolean, timeoutMs = 10_000, what = "condition") => boundedUntil(cond, timeoutMs, what);
