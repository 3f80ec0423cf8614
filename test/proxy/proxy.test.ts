// The WebSocket-to-Kafka proxy: forwarding, every refusal and limit, backpressure, broker loss, shutdown.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { parseBrokerTarget } from "../../src/proxy/proxy.ts";
import { websocketTransport } from "../../src/transport/websocket.ts";
import { ClientError } from "../../src/errors.ts";
import { nextEvent, within, exitAfterSuite } from "../harness/bounded.ts";
import { closed, echoServer, logSink, openWs, refusedStatus, sleep, startProxy, tcpServer, until } from "./helpers.ts";

test("parseBrokerTarget accepts host:port and [v6]:port and rejects everything else", () => {
  assert.equal(parseBrokerTarget("127.0.0.1:9092")?.key, "127.0.0.1:9092");
  assert.equal(parseBrokerTarget("Kafka-1.example:9092")?.key, "kafka-1.example:9092");
  assert.equal(parseBrokerTarget("[::1]:9092")?.host, "::1");
  for (const bad of ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "a:b", "user@host:1", "host:1/x", "host:1?x", "", ":9092"]) {
    assert.is(parseBrokerTarget(bad), undefined, bad);
  }
});

test("forwards bytes both ways unchanged, through the websocket transport, to an allow-listed broker", async () => {
  const echo = await echoServer();
  const { log } = logSink();
  const proxy = await startProxy({ apiKeys: "all", allow: [`127.0.0.1:${echo.port}`], log });
  const transport = websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never });
  const received: Buffer[] = [];
  let closeErr: Error | undefined | null = null;
  const sock = await transport({ host: "127.0.0.1", port: echo.port, nodeId: -1 }, {
    onData: (c) => received.push(Buffer.from(c)),
    onClose: (e) => (closeErr = e),
  });
  const payload = randomBytes(300_000);
  for (let i = 0; i < payload.length; i += 7_001) await within(sock.write(payload.subarray(i, i + 7_001)), 10_000, "a transport write");
  await until(() => received.reduce((n, b) => n + b.length, 0) >= payload.length, 10_000, "echo");
  assert.ok(Buffer.concat(received).equals(payload), "echoed bytes equal the sent bytes");
  assert.equal(proxy.stats().bytes.toBroker, payload.length);
  assert.equal(proxy.stats().bytes.toClient, payload.length);
  assert.equal(proxy.stats().connections.open, 1);
  sock.close();
  assert.is(closeErr, undefined, "a local close reports no error");
  await until(() => proxy.stats().connections.open === 0, 10_000, "proxy to notice the close");
  await proxy.close();
  await echo.close();
});

test("refuses broker addresses not in the allow-list (no open relay, no SSRF), logging and counting each", async () => {
  const echo = await echoServer();
  const other = await echoServer();
  const sink = logSink();
  const proxy = await startProxy({ apiKeys: "all", allow: [`127.0.0.1:${echo.port}`], log: sink.log });
  const targets = [
    `127.0.0.1:${other.port}`,            // another port on the same host
    `localhost:${echo.port}`,             // same socket by another name: exact match only
    `127.0.0.2:${echo.port}`,
    `127.0.0.1:${echo.port}%2F..%2F`,     // encoded path tricks
    `169.254.169.254:80`,                 // cloud metadata
    `[::1]:${echo.port}`,
  ];
  for (const t of targets) {
    const r = await refusedStatus(`${proxy.url}/broker/${t}`);
    assert.equal(r.status, 403, t);
    assert.match(r.body, /TARGET_NOT_ALLOWED/);
  }
  assert.equal((await refusedStatus(`${proxy.url}/elsewhere`)).status, 404);
  assert.equal(other.sockets.size, 0, "no connection reached the non-allowed server");
  const s = proxy.stats();
  assert.equal(s.refused.byReason.TARGET_NOT_ALLOWED, targets.length);
  assert.equal(s.refused.byReason.NOT_FOUND, 1);
  assert.equal(sink.entries.filter((e) => e.event === "refused" && e.reason === "TARGET_NOT_ALLOWED").length, targets.length);
  await proxy.close();
  await echo.close();
  await other.close();
});

test("requires the bearer token when set: query, subprotocol or Authorization header; wrong or missing is 401", async () => {
  const echo = await echoServer();
  const proxy = await startProxy({ apiKeys: "all", allow: [`127.0.0.1:${echo.port}`], token: "s3cret-token", log: () => {} });
  const base = `${proxy.url}/broker/127.0.0.1:${echo.port}`;
  assert.equal((await refusedStatus(base)).status, 401);
  assert.equal((await refusedStatus(`${base}?token=wrong`)).status, 401);
  assert.equal((await refusedStatus(base, { protocols: ["kafkasm", "kafkasm.bearer.s3cret-tokeX"] })).status, 401);
  assert.equal((await refusedStatus(base, { headers: { authorization: "Bearer nope" } })).status, 401);
  const a = await openWs(`${base}?token=s3cret-token`);
  const b = await openWs(base, { protocols: ["kafkasm", "kafkasm.bearer.s3cret-token"] });
  assert.equal(b.protocol, "kafkasm", "the token subprotocol is never echoed back");
  const c = await openWs(base, { headers: { authorization: "Bearer s3cret-token" } });
  assert.equal(proxy.stats().refused.byReason.BAD_TOKEN, 4);
  assert.equal(proxy.stats().connections.open, 3);
  for (const ws of [a, b, c]) ws.close();
  await proxy.close();
  await echo.close();
});

test("enforces the Origin allow-list; requests without Origin pass unless requireOrigin", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], origins: ["https://app.example"], log: () => {} });
  assert.equal((await refusedStatus(`${proxy.url}/broker/${target}`, { origin: "https://evil.example" })).status, 403);
  const ok = await openWs(`${proxy.url}/broker/${target}`, { origin: "https://app.example" });
  const noOrigin = await openWs(`${proxy.url}/broker/${target}`);
  ok.close(); noOrigin.close();
  assert.equal(proxy.stats().refused.byReason.BAD_ORIGIN, 1);
  await proxy.close();
  const strict = await startProxy({ apiKeys: "all", allow: [target], origins: ["https://app.example"], requireOrigin: true, log: () => {} });
  assert.equal((await refusedStatus(`${strict.url}/broker/${target}`)).status, 403);
  await strict.close();
  await echo.close();
});

test("closes with 1009 on a message over maxMessageBytes and with 1003 on a text message", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], maxMessageBytes: 1000, log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const echoed: Buffer[] = [];
  ws.on("message", (d: Buffer) => echoed.push(d));
  ws.send(Buffer.alloc(1000, 1));
  await until(() => echoed.length === 1, 10_000, "the 1000-byte message to come back");
  const done = closed(ws);
  ws.send(Buffer.alloc(1001, 2));
  assert.equal((await done).code, 1009);
  await until(() => proxy.stats().refused.byReason.MESSAGE_TOO_LARGE === 1, 10_000, "count");
  await until(() => echo.sockets.size === 0, 10_000, "the broker socket to close too");

  const ws2 = await openWs(`${proxy.url}/broker/${target}`);
  const done2 = closed(ws2);
  ws2.send("hello");
  assert.equal((await done2).code, 1003);
  assert.equal(proxy.stats().refused.byReason.TEXT_MESSAGE, 1);
  await proxy.close();
  await echo.close();
});

test("limits connections per client address (429) and frees the slot when one closes", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], maxConnectionsPerClient: 2, log: () => {} });
  const url = `${proxy.url}/broker/${target}`;
  const a = await openWs(url);
  const b = await openWs(url);
  const r = await refusedStatus(url);
  assert.equal(r.status, 429);
  assert.match(r.body, /TOO_MANY_CONNECTIONS/);
  const gone = closed(a);
  a.close();
  await gone;
  await until(() => proxy.stats().connections.open === 1, 10_000, "slot freed");
  const c = await openWs(url);
  assert.equal(proxy.stats().refused.byReason.TOO_MANY_CONNECTIONS, 1);
  b.close(); c.close();
  await proxy.close();
  await echo.close();
});

test("limits connections in total (503 PROXY_FULL) whatever the client address", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  let n = 0;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], maxConnections: 2, clientAddress: () => `client-${n++}`, log: () => {} });
  const url = `${proxy.url}/broker/${target}`;
  const a = await openWs(url);
  const b = await openWs(url);
  const r = await refusedStatus(url);
  assert.equal(r.status, 503);
  assert.match(r.body, /PROXY_FULL/);
  a.close(); b.close();
  await proxy.close();
  await echo.close();
});

test("bytesPerSecond slows a connection down instead of dropping bytes", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const rate = 200_000;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], bytesPerSecond: rate, log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const got: Buffer[] = [];
  ws.on("message", (d: Buffer) => got.push(d));
  const payload = randomBytes(500_000);
  const started = Date.now();
  for (let i = 0; i < payload.length; i += 10_000) ws.send(payload.subarray(i, i + 10_000));
  await until(() => got.reduce((n, b) => n + b.length, 0) >= payload.length, 30_000, "all bytes");
  const elapsed = Date.now() - started;
  if (process.env.DEBUG_PROXY) console.log("elapsed", elapsed);
  // 200 kB burst, then 300 kB at 200 kB/s: ~1.5 s, less at most one 64 KiB socket chunk read before the pause.
  assert.ok(elapsed >= 1150, `took ${elapsed} ms, expected >= 1150`);
  assert.ok(Buffer.concat(got).equals(payload), "every byte arrived, in order");
  assert.ok(proxy.stats().throttled.rate > 0);
  assert.equal(ws.readyState, WebSocket.OPEN, "still open: throttled, not dropped");
  ws.close();
  await proxy.close();
  await echo.close();
});

// The idle timeout is proven on a manual clock in attacks.test.ts.

test("a broker that disappears mid-stream closes the WebSocket with 1014 and a reason; the transport reports an error", async () => {
  let kill!: () => void;
  const broker = await tcpServer((s) => {
    s.once("data", () => { s.write(Buffer.from("partial")); kill = () => s.destroy(); });
  });
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], log: () => {} });
  const transport = websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never });
  let closeErr: Error | undefined;
  let onClosed = false;
  const data: Buffer[] = [];
  const sock = await transport({ host: "127.0.0.1", port: broker.port, nodeId: 1 }, {
    onData: (c) => data.push(Buffer.from(c)),
    onClose: (e) => { closeErr = e; onClosed = true; },
  });
  await sock.write(new Uint8Array([0, 0, 0, 1, 9]));
  await until(() => data.length > 0, 10_000, "partial bytes");
  kill();
  await until(() => onClosed, 10_000, "onClose");
  assert.ok(closeErr instanceof Error);
  assert.match(closeErr!.message, /1014/);
  assert.match(closeErr!.message, /BROKER_CLOSED/);
  try { await sock.write(new Uint8Array([1])); assert.unreachable("write after close must reject"); }
  catch (e) { assert.match((e as Error).message, /closed/); }
  await until(() => proxy.stats().connections.open === 0, 10_000, "proxy cleaned up");
  await proxy.close();
  await broker.close();
});

test("an unreachable broker refuses the handshake with 502 and the websocket transport rejects naming the address", async () => {
  const gone = await tcpServer(() => {});
  const port = gone.port;
  // Closed only once the proxy listens, so the proxy cannot be given the same port (and dial itself).
  const proxy = await startProxy({ apiKeys: "all", allow: [`127.0.0.1:${port}`], log: () => {} });
  await gone.close();
  const r = await refusedStatus(`${proxy.url}/broker/127.0.0.1:${port}`);
  assert.equal(r.status, 502);
  assert.match(r.body, /BROKER_UNREACHABLE/);
  const transport = websocketTransport({ url: `${proxy.url}/broker/{host}:{port}`, WebSocket: WebSocket as never });
  try {
    await transport({ host: "127.0.0.1", port, nodeId: -1 }, { onData() {}, onClose() {} });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, new RegExp(`Cannot connect to broker 127\\.0\\.0\\.1:${port}`));
  }
  assert.equal(proxy.stats().refused.byReason.BROKER_UNREACHABLE, 2);
  await proxy.close();
});

/**
 * A broker that reads nothing until `resume()` (the kernel takes what its buffers hold, the rest waits
 * in the proxy), behind a proxy with `highWaterMark`, and a WebSocket client connected through it.
 */
async function pausedBrokerBehindProxy(highWaterMark?: number) {
  let brokerSocket: import("node:net").Socket | undefined;
  let received = 0;
  const broker = await tcpServer((s) => { brokerSocket = s; s.pause(); s.on("data", (d) => (received += d.length)); });
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], ...(highWaterMark ? { highWaterMark } : {}), log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  return {
    proxy, ws,
    resume: () => brokerSocket!.resume(),
    brokerBytes: () => received,
    close: async () => { ws.close(); await proxy.close(); await broker.close(); },
  };
}

test("a broker that does not read pauses the WebSocket reader: the proxy holds a bounded amount, then delivers everything", async () => {
  const { proxy, ws, resume, brokerBytes, close } = await pausedBrokerBehindProxy();
  const chunk = Buffer.alloc(64 * 1024, 7);
  const total = 48 * 1024 * 1024;
  for (let sent = 0; sent < total; sent += chunk.length) ws.send(chunk);
  // Until the broker socket pushes back, then long enough for an unbounded proxy to keep reading.
  await until(() => proxy.stats().throttled.brokerBackpressure > 0, 30_000, "TCP backpressure from the broker");
  await sleep(700);
  const held = proxy.stats().bytes.toBroker;
  if (process.env.DEBUG_PROXY) console.log("held", held, "buffered", ws.bufferedAmount);
  assert.ok(proxy.stats().throttled.brokerBackpressure > 0, "TCP backpressure was seen");
  assert.ok(held < 24 * 1024 * 1024, `proxy forwarded ${held} bytes to a broker that reads nothing (bounded by socket buffers)`);
  assert.ok(ws.bufferedAmount > 0, "the excess waits on the client side");
  resume();
  await until(() => brokerBytes() === total, 60_000, "all bytes at the broker");
  await close();
});

test("bytes waiting for the broker beyond the socket's 16 KiB but under highWaterMark do not pause the client's reader", async () => {
  const { proxy, ws, resume, brokerBytes, close } = await pausedBrokerBehindProxy(64 * 1024 * 1024);
  const total = 16 * 1024 * 1024;
  for (let i = 0; i < 16; i++) ws.send(Buffer.alloc(1024 * 1024, 9));
  await until(() => proxy.stats().bytes.toBroker === total, 30_000, "the message at the proxy");
  assert.is(proxy.stats().throttled.brokerBackpressure, 0, "no pause under highWaterMark");
  resume();
  await until(() => brokerBytes() === total, 30_000, "all bytes at the broker");
  await close();
});

test("a client that does not read pauses the broker socket: bounded, then everything arrives", async () => {
  const total = 32 * 1024 * 1024;
  const broker = await tcpServer((s) => {
    s.once("data", async () => {
      const chunk = Buffer.alloc(64 * 1024, 3);
      for (let sent = 0; sent < total; sent += chunk.length) {
        if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
      }
    });
  });
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], highWaterMark: 256 * 1024, log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  let got = 0;
  ws.on("message", (d: Buffer) => (got += d.length));
  ws.pause();
  ws.send(Buffer.from([1]));
  await until(() => proxy.stats().throttled.clientBackpressure > 0, 30_000, "WebSocket backpressure from the client");
  await sleep(700);
  const forwarded = proxy.stats().bytes.toClient;
  if (process.env.DEBUG_PROXY) console.log("forwarded", forwarded);
  assert.ok(proxy.stats().throttled.clientBackpressure > 0, "WebSocket backpressure was seen");
  assert.ok(forwarded < 20 * 1024 * 1024, `proxy took ${forwarded} bytes from the broker for a client that reads nothing`);
  ws.resume();
  await until(() => got === total, 60_000, "all bytes at the client");
  ws.close();
  await proxy.close();
  await broker.close();
});

test("close() shuts down cleanly: clients get 1001, broker sockets end, new connections are refused", async () => {
  const echo = await echoServer();
  let brokerEnds = 0;
  echo.server.on("connection", (s) => s.on("end", () => brokerEnds++));
  const target = `127.0.0.1:${echo.port}`;
  const sink = logSink();
  const proxy = await startProxy({ apiKeys: "all", allow: [target], log: sink.log });
  const a = await openWs(`${proxy.url}/broker/${target}`);
  const b = await openWs(`${proxy.url}/broker/${target}`);
  const ca = closed(a), cb = closed(b);
  await proxy.close();
  assert.equal((await ca).code, 1001);
  assert.equal((await cb).code, 1001);
  await until(() => brokerEnds === 2 && echo.sockets.size === 0, 10_000, "broker sockets ended");
  assert.equal(proxy.stats().connections.open, 0);
  assert.ok(sink.entries.some((e) => e.event === "shutdown"));
  try { await openWs(`${proxy.url}/broker/${target}`); assert.unreachable(); }
  catch (e) { assert.match((e as Error).message, /ECONNREFUSED/); }
  await echo.close();
});

test("GET /stats serves the counters (token-protected) and plain HTTP on /broker is 426", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], token: "t0k", statsPath: "/stats", log: () => {} });
  const base = `http://127.0.0.1:${proxy.port}`;
  const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(15_000) });
  assert.equal((await get(`${base}/stats`)).status, 401);
  const res = await get(`${base}/stats?token=t0k`);
  assert.equal(res.status, 200);
  const body = await res.json() as { refused: { byReason: Record<string, number> } };
  assert.equal(body.refused.byReason.BAD_TOKEN, 1);
  assert.equal((await get(`${base}/broker/${target}`)).status, 426);
  await proxy.close();
  await echo.close();
});

test("clientAddressHeader: per-client limits use the last X-Forwarded-For entry (the trusted proxy's), not the shared peer address", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], maxConnectionsPerClient: 1, clientAddressHeader: "X-Forwarded-For", log: () => {} });
  const url = `${proxy.url}/broker/${target}`;
  const a = await openWs(url, { headers: { "x-forwarded-for": "203.0.113.1" } });
  // A forged first entry does not help: the last one is what the trusted proxy saw.
  const b = await openWs(url, { headers: { "x-forwarded-for": "203.0.113.1, 198.51.100.7" } });
  assert.equal((await refusedStatus(url, { headers: { "x-forwarded-for": "9.9.9.9, 203.0.113.1" } })).status, 429);
  a.close(); b.close();
  await proxy.close();
  await echo.close();
});

test("tls: serves wss:// with the given certificate and forwards as before", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-tls-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      "-days", "1", "-subj", "/CN=127.0.0.1"], { stdio: "ignore", timeout: 60_000 });
    const echo = await echoServer();
    const target = `127.0.0.1:${echo.port}`;
    const proxy = await startProxy({ apiKeys: "all", allow: [target], tls: { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) }, log: () => {} });
    assert.match(proxy.url, /^wss:\/\//);
    const ws = new WebSocket(`${proxy.url}/broker/${target}`, { rejectUnauthorized: false, handshakeTimeout: 15_000 });
    await new Promise((r, j) => { ws.once("open", r); ws.once("error", j); });
    const got = nextEvent<[Buffer]>(ws, "message", 10_000, "the echoed bytes over wss");
    ws.send(Buffer.from([7, 8]));
    assert.equal([...(await got)[0]], [7, 8]);
    ws.close();
    await proxy.close();
    await echo.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("startProxy rejects an empty or malformed allow-list with ClientError INVALID_CONFIG, like new Producer()", async () => {
  for (const allow of [[], ["nohost"], ["h:99999"]]) {
    try { await startProxy({ allow, log: () => {} }); assert.unreachable(); }
    catch (e) { assert.instance(e, ClientError); assert.equal((e as ClientError).code, "INVALID_CONFIG"); }
  }
});

test("startProxy refuses an empty or blank token (it would silently disable auth)", async () => {
  for (const token of ["", "  "]) {
    try { await startProxy({ allow: ["127.0.0.1:9092"], token, log: () => {} }); assert.unreachable(); }
    catch (e) { assert.instance(e, ClientError); assert.match((e as Error).message, /token is empty/); }
  }
});

exitAfterSuite(test);
test.run();
