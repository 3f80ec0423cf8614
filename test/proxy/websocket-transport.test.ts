// The websocket transport's own behaviour: URL mapping, token subprotocol, write backpressure, errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WebSocket, WebSocketServer } from "ws";
import { brokerUrl, websocketTransport } from "../../src/transport/websocket.ts";
import { ClientError } from "../../src/errors.ts";
import { within, exitAfterSuite } from "../harness/bounded.ts";
import { until } from "./helpers.ts";

const listening = (wss: WebSocketServer) => within(new Promise((r) => wss.once("listening", r)), 10_000, "the WebSocket server to listen");
const closeServer = (wss: WebSocketServer) => within(new Promise((r) => wss.close(r)), 15_000, "the WebSocket server to close");

const b = (host: string, port: number, nodeId = -1) => ({ host, port, nodeId });

test("brokerUrl fills {host}, {port}, {nodeId}, brackets IPv6, and looks up per-broker maps (websockify)", () => {
  assert.equal(brokerUrl("wss://p.example/broker/{host}:{port}", b("kafka1", 9092)), "wss://p.example/broker/kafka1:9092");
  assert.equal(brokerUrl("ws://gw:{port}/n{nodeId}", b("h", 1, 3)), "ws://gw:1/n3");
  assert.equal(brokerUrl("ws://p/broker/{host}:{port}", b("::1", 9092)), "ws://p/broker/[::1]:9092");
  const map = { "kafka1:9092": "ws://gw:8001", "kafka2:9092": "ws://gw:8002" };
  assert.equal(brokerUrl(map, b("kafka2", 9092, 2)), "ws://gw:8002");
  assert.throws(() => brokerUrl(map, b("kafka3", 9092)), /no WebSocket URL for it/);
  assert.equal(brokerUrl((a) => `ws://x/${a.nodeId}`, b("h", 1, 7)), "ws://x/7");
});

test("an unmapped broker rejects the connect promise (no throw) naming the broker", async () => {
  const t = websocketTransport({ url: {}, WebSocket: WebSocket as never });
  try { await t(b("kafka9", 9092), { onData() {}, onClose() {} }); assert.unreachable(); }
  catch (e) { assert.match((e as Error).message, /Cannot connect to broker kafka9:9092/); }
});

test("invalid options are ClientError INVALID_CONFIG naming the option, at construction (as new Producer() does)", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ token: "has space" }, "token"],
    [{ highWaterMark: 0 }, "highWaterMark"],
    [{ connectTimeoutMs: -5 }, "connectTimeoutMs"],
    [{ maxMessageBytes: 1.5 }, "maxMessageBytes"],
    [{ maxMessageBytes: "big" }, "maxMessageBytes"],
  ];
  for (const [extra, option] of cases) {
    try {
      websocketTransport({ url: "ws://x/{host}:{port}", WebSocket: WebSocket as never, ...extra } as never);
      assert.unreachable(option);
    } catch (e) {
      assert.instance(e, ClientError, option);
      assert.is((e as ClientError).code, "INVALID_CONFIG");
      assert.match((e as Error).message, new RegExp(`option ${option}:`));
    }
  }
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  delete g.WebSocket;
  try {
    assert.throws(() => websocketTransport({ url: "ws://x" }), (e: unknown) => e instanceof ClientError && /option WebSocket:/.test(e.message));
  } finally {
    if (saved !== undefined) g.WebSocket = saved;
  }
});

test("offers the token as the kafkasm.bearer.<token> subprotocol and rejects tokens that cannot be a subprotocol", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (p) => (p.has("kafkasm") ? "kafkasm" : false) });
  await listening(wss);
  const port = (wss.address() as { port: number }).port;
  let offered = "";
  wss.on("connection", (_ws, req) => (offered = String(req.headers["sec-websocket-protocol"])));
  const t = websocketTransport({ url: `ws://127.0.0.1:${port}/`, token: "abc_DEF-1", WebSocket: WebSocket as never });
  const s = await t(b("h", 1), { onData() {}, onClose() {} });
  assert.equal(offered.split(/,\s*/), ["kafkasm", "kafkasm.bearer.abc_DEF-1"]);
  s.close();
  assert.throws(() => websocketTransport({ url: "ws://x", token: "has space", WebSocket: WebSocket as never }), /token/);
  await closeServer(wss);
});

test("write() resolves only once bufferedAmount is back under highWaterMark, and data arrives as Uint8Array", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await listening(wss);
  const port = (wss.address() as { port: number }).port;
  let serverWs: WebSocket | undefined;
  let serverGot = 0;
  wss.on("connection", (ws) => { serverWs = ws; ws.on("message", (d: Buffer) => (serverGot += d.length)); });
  const chunks: Uint8Array[] = [];
  const t = websocketTransport({ url: `ws://127.0.0.1:${port}/`, WebSocket: WebSocket as never, highWaterMark: 64 * 1024 });
  const s = await t(b("h", 1), { onData: (c) => chunks.push(c), onClose() {} });
  await until(() => serverWs !== undefined, 10_000, "server side");
  (serverWs as unknown as { pause(): void }).pause(); // the peer stops reading: the client buffer must fill
  const big = new Uint8Array(8 * 1024 * 1024);
  let resolved = false;
  const p = s.write(big).then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 200));
  assert.is(resolved, false, "write waits while the peer does not read");
  (serverWs as unknown as { resume(): void }).resume();
  await within(p, 30_000, "the write to resolve once the peer reads");
  assert.ok(resolved);
  await until(() => serverGot === big.length, 10_000, "all bytes at the server");
  serverWs!.send(Buffer.from([5, 6]));
  await until(() => chunks.length === 1, 10_000, "data back");
  assert.instance(chunks[0], Uint8Array);
  assert.equal([...chunks[0]], [5, 6]);
  s.close();
  await closeServer(wss);
});

test("writes over maxMessageBytes are split into several binary messages, bytes unchanged", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await listening(wss);
  const port = (wss.address() as { port: number }).port;
  const messages: Buffer[] = [];
  wss.on("connection", (ws) => ws.on("message", (d: Buffer) => messages.push(d)));
  const t = websocketTransport({ url: `ws://127.0.0.1:${port}/`, WebSocket: WebSocket as never, maxMessageBytes: 1000 });
  const s = await t(b("h", 1), { onData() {}, onClose() {} });
  const data = new Uint8Array(2500).map((_, i) => i * 7);
  await within(s.write(data), 10_000, "the first write");
  await within(s.write(data.subarray(0, 1000)), 10_000, "the second write");
  await until(() => messages.length === 4, 10_000, "4 messages");
  assert.equal(messages.map((m) => m.length), [1000, 1000, 500, 1000]);
  assert.ok(Buffer.concat(messages.slice(0, 3)).equals(Buffer.from(data)));
  assert.throws(() => websocketTransport({ url: "ws://x", maxMessageBytes: 0, WebSocket: WebSocket as never }), /maxMessageBytes/);
  s.close();
  await closeServer(wss);
});

test("a non-binary message from the peer closes the socket with an error", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await listening(wss);
  const port = (wss.address() as { port: number }).port;
  wss.on("connection", (ws) => ws.send("text"));
  let err: Error | undefined;
  let closed = false;
  const t = websocketTransport({ url: `ws://127.0.0.1:${port}/`, WebSocket: WebSocket as never });
  await t(b("h", 1), { onData() {}, onClose: (e) => { err = e; closed = true; } });
  await until(() => closed, 10_000, "close");
  assert.match(err!.message, /non-binary/);
  await closeServer(wss);
});

exitAfterSuite(test);
test.run();
