// Shared helpers for the proxy tests: TCP "brokers" (echo, sink, scripted) and WebSocket clients.
import { createServer, type Server, type Socket } from "node:net";
import { WebSocket } from "ws";
import type { ProxyLogEntry } from "../../src/proxy/proxy.ts";

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
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

export const echoServer = () => tcpServer((s) => s.pipe(s));

/** Opens a ws client; resolves with it when open, rejects with the HTTP status on refusal. */
export function openWs(url: string, options: { protocols?: string[]; headers?: Record<string, string>; origin?: string } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, origin: options.origin });
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

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
}

/** Collects log entries. */
export function logSink(): { entries: ProxyLogEntry[]; log: (e: ProxyLogEntry) => void } {
  const entries: ProxyLogEntry[] = [];
  return { entries, log: (e) => entries.push(e) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
