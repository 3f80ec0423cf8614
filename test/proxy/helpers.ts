// Shared helpers for the proxy tests: TCP "brokers" (echo, sink, scripted) and WebSocket clients.
import { connect as netConnect, createServer, type Server, type Socket, type Socket as NetSocket } from "node:net";
import { readFileSync } from "node:fs";
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

/** A clock that moves only when told: `advance(ms)` runs the timers that fall due, in order. */
export function manualClock(start = 1_000_000) {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => { const id = ++seq; timers.set(id, { at: now + Math.max(0, ms), fn }); return id; },
    clearTimeout: (id: unknown) => { timers.delete(id as number); },
    /** Moves time forward by `ms`, firing due timers (and timers they set that fall due too). */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
      }
      now = end;
    },
    get pending() { return timers.size; },
  };
}

/** A stand-in broker that frames Kafka requests and answers each with a bare response header (its correlation id), unless `silent`. */
export async function kafkaStub(options: { silent?: boolean } = {}) {
  const requests: { apiKey: number; correlationId: number; size: number }[] = [];
  const server = await tcpServer((s) => {
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const size = buf.readInt32BE(0);
        const frame = buf.subarray(4, 4 + size);
        buf = buf.subarray(4 + size);
        const correlationId = frame.readInt32BE(4);
        requests.push({ apiKey: frame.readInt16BE(0), correlationId, size });
        if (!options.silent) { const r = Buffer.alloc(8); r.writeInt32BE(4, 0); r.writeInt32BE(correlationId, 4); s.write(r); }
      }
    });
  });
  return Object.assign(server, { requests });
}

/** The resident set size of process `pid` in bytes (Linux: /proc/<pid>/status). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** A raw TCP client that completes a WebSocket handshake by hand (so a test can send any frame and choose never to read). */
export async function rawWebSocket(port: number, path: string): Promise<{ socket: NetSocket; response: string }> {
  const socket = netConnect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await nextEvent(socket, "connect", 10_000, "the raw socket to connect");
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let response = "";
  await within(new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      response += d.toString("latin1");
      if (response.includes("\r\n\r\n")) { socket.off("data", onData); socket.pause(); resolve(); }
    };
    socket.on("data", onData);
  }), 10_000, "the handshake response");
  return { socket, response };
}

/** One masked client frame (mask 0: payload bytes stay as they are). */
export function clientFrame(opcode: number, fin: boolean, payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | n])
    : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, n >> 8, n & 0xff]);
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/** A stand-in broker that answers a request (a bare response header) only when the test says so. */
export async function heldStub() {
  const pending: { correlationId: number; apiKey: number; socket: Socket }[] = [];
  const server = await tcpServer((s) => {
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        pending.push({ apiKey: frame.readInt16BE(0), correlationId: frame.readInt32BE(4), socket: s });
      }
    });
  });
  return Object.assign(server, {
    pending,
    /** Answers the oldest unanswered request. */
    answerNext() {
      const p = pending.shift();
      if (!p) throw new Error("no request to answer");
      const r = Buffer.alloc(8); r.writeInt32BE(4, 0); r.writeInt32BE(p.correlationId, 4); p.socket.write(r);
    },
  });
}
