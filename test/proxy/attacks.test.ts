// The proxy under attack over real sockets: malformed HTTP, bad upgrades, long close reasons,
// fragment and ping floods (memory measured in the proxy's own process), duplicate correlation ids,
// topic ids, huge Metadata requests, transactional ids, and rate limits per client across connections.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "node:net";
import { decodeResponseFrame, encodeRequestFrame } from "../../src/protocol/frame.ts";
import { Metadata } from "../../src/protocol/metadata.ts";
import { Produce } from "../../src/protocol/produce.ts";
import { InitProducerId } from "../../src/protocol/init-producer-id.ts";
import { Writer } from "../../src/protocol/wire.ts";
import { nextEvent, spawnChild, within, exitAfterSuite } from "../harness/bounded.ts";
import {
  clientFrame, closed, echoServer, kafkaStub, manualClock, openWs, rawWebSocket, refusedStatus, rssOf, sleep, startProxy, tcpServer, until,
} from "./helpers.ts";

/** Sends raw bytes over TCP and resolves with everything the server answered until it closed (or 10 s). */
async function rawHttp(port: number, text: string): Promise<string> {
  const s = connect({ host: "127.0.0.1", port });
  s.on("error", () => {});
  let got = "";
  s.on("data", (d) => (got += d.toString("latin1")));
  await nextEvent(s, "connect", 10_000, "connect");
  s.write(text);
  await within(new Promise((r) => s.once("close", r)), 10_000, "the proxy to answer and close");
  return got;
}

async function echoWorks(url: string): Promise<void> {
  const ws = await openWs(url);
  const got = nextEvent<[Buffer]>(ws, "message", 10_000, "the echo");
  ws.send(Buffer.from([1, 2, 3]));
  assert.equal([...(await got)[0]], [1, 2, 3], "another client is still served");
  ws.close();
}

test("GET // (curl --path-as-is) is a counted 404; /broker/% and a garbage request line get 400 BAD_HTTP_REQUEST, counted; the proxy lives", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], log: () => {} });
  const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  // `//` is a well-formed path (an empty segment) that new URL() threw on: not found, like any other path.
  assert.match(await rawHttp(proxy.port, "GET // HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 404/);
  assert.match(await rawHttp(proxy.port, `GET // HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`), /^HTTP\/1\.1 404/);
  assert.match(await rawHttp(proxy.port, `GET /broker/% HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`), /^HTTP\/1\.1 400/);
  assert.match(await rawHttp(proxy.port, "\x00\x01 garbage\r\n\r\n"), /^HTTP\/1\.1 400/);
  assert.equal(proxy.stats().refused.byReason.NOT_FOUND, 2);
  assert.equal(proxy.stats().refused.byReason.BAD_HTTP_REQUEST, 2);
  await echoWorks(`${proxy.url}/broker/${target}`);
  await proxy.close();
  await echo.close();
});

test("40 refused upgrades (POST, Upgrade: h2c, bad key, bad version) from one address dial no broker and leak no slot: a good one still opens", async () => {
  let dialled = 0;
  const echo = await tcpServer((s) => { dialled++; s.pipe(s); });
  const target = `127.0.0.1:${echo.port}`;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], maxConnectionsPerClient: 32, log: () => {} });
  const head = (method: string, headers: string) => `${method} /broker/${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n${headers}\r\n`;
  const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const bad = [
    head("POST", `Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 13\r\n`),
    head("GET", `Upgrade: h2c\r\n${key}Sec-WebSocket-Version: 13\r\n`),
    head("GET", "Upgrade: websocket\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n"),
    head("GET", `Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 99\r\n`),
  ];
  for (let i = 0; i < 40; i++) assert.match(await rawHttp(proxy.port, bad[i % 4]), /^HTTP\/1\.1 4\d\d/);
  assert.equal(dialled, 0, "no broker socket was opened for a refused handshake");
  assert.equal(proxy.stats().refused.byReason.BAD_HANDSHAKE, 40);
  await echoWorks(`${proxy.url}/broker/${target}`);
  assert.equal(proxy.stats().refused.byReason.TOO_MANY_CONNECTIONS, undefined);
  await proxy.close();
  await echo.close();
});

test("a forbidden topic with a long multi-byte name closes with 1008 and a short fixed reason, and the proxy lives", async () => {
  const broker = await kafkaStub();
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ allow: [target], topics: ["events"], apiKeys: [0, 3, 18], log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const done = closed(ws);
  ws.send(encodeRequestFrame(Produce, 9, 1, "c", { transactionalId: null, acks: -1, timeoutMs: 1000,
    topics: [{ name: "ü".repeat(240), partitions: [{ index: 0, records: new Uint8Array([1]) }] }] }));
  const c = await done;
  assert.equal(c.code, 1008);
  assert.equal(c.reason, "TOPIC_NOT_ALLOWED");
  assert.equal(broker.requests.length, 0);
  const ok = await openWs(`${proxy.url}/broker/${target}`);
  ok.close();
  await proxy.close();
  await broker.close();
});

const metadataV12 = (correlationId: number, topics: string[]) => encodeRequestFrame(Metadata, 12, correlationId, "c", { topics, allowAutoTopicCreation: false });

test("a duplicate in-flight correlation id closes with 1008 BAD_REQUEST (it would let a second Metadata answer pass unfiltered)", async () => {
  const broker = await kafkaStub({ silent: true });
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ allow: [target], topics: ["events"], log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const done = closed(ws);
  ws.send(metadataV12(5, ["events"]));
  ws.send(metadataV12(5, ["events"]));
  const c = await done;
  assert.equal([c.code, c.reason], [1008, "BAD_REQUEST"]);
  assert.equal(broker.requests.length, 1, "only the first reached the broker");
  await proxy.close();
  await broker.close();
});

test("answered correlation ids may be reused; a broker answer to no request is BAD_RESPONSE", async () => {
  const broker = await kafkaStub();
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ allow: [target], log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const answers: Buffer[] = [];
  ws.on("message", (d: Buffer) => answers.push(d));
  for (let i = 0; i < 3; i++) {
    ws.send(metadataV12(5, ["a"]));
    await until(() => answers.length === i + 1, 10_000, "the answer");
  }
  const done = closed(ws);
  broker.sockets.forEach((s) => s.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 77])));
  assert.equal((await done).code, 1014);
  assert.equal(proxy.stats().refused.byReason.BAD_RESPONSE, 1);
  await proxy.close();
  await broker.close();
});

test("Metadata v10+ by topic id is refused with a topic allow-list (it cannot be checked)", async () => {
  const broker = await kafkaStub();
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ allow: [target], topics: ["events"], log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const done = closed(ws);
  // Metadata v12 naming one topic by id: compact array of 1, uuid, null name, tags; then flags and tags.
  const w = new Writer(64);
  w.int32(0).int16(3).int16(12).int32(9).string("c").uvarint(0);
  w.uvarint(2).raw(new Uint8Array(16).fill(7)).uvarint(0).uvarint(0);
  w.bool(false).bool(false).uvarint(0);
  w.setInt32(0, w.pos - 4);
  ws.send(w.finish());
  assert.equal(await done, { code: 1008, reason: "TOPIC_NOT_ALLOWED" });
  assert.equal(broker.requests.length, 0);
  await proxy.close();
  await broker.close();
});

test("a Metadata request naming 2 million topics is refused (over maxTopicsPerRequest) before they are decoded", async () => {
  const broker = await kafkaStub();
  const target = `127.0.0.1:${broker.port}`;
  const proxy = await startProxy({ allow: [target], topics: ["events"], maxMessageBytes: 8 << 20, log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const done = closed(ws, 30_000);
  const n = 2_000_000;
  const w = new Writer(8 + 3 * n + 64);
  w.int32(0).int16(3).int16(9).int32(1).string("c").uvarint(0).uvarint(n + 1);
  for (let i = 0; i < n; i++) w.uvarint(2).int8(97).uvarint(0); // name "a", no tags
  w.bool(false).bool(false).uvarint(0);
  w.setInt32(0, w.pos - 4);
  ws.send(w.finish());
  assert.equal(await done, { code: 1008, reason: "BAD_REQUEST" });
  assert.equal(broker.requests.length, 0);
  await proxy.close();
  await broker.close();
});

const initProducerId = (correlationId: number, transactionalId: string | null) =>
  encodeRequestFrame(InitProducerId, 4, correlationId, "c", { transactionalId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });

test("transactional ids: InitProducerId with one is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED by default (as a broker's ACL would) and never reaches the broker; passes only when allow-listed; idempotent (null id) always passes", async () => {
  const broker = await kafkaStub();
  const target = `127.0.0.1:${broker.port}`;
  for (const [transactionalIds, id, passes] of [[undefined, "other-app", false], [["web-*"], "other-app", false], [["web-*"], "web-1", true], [undefined, null, true]] as const) {
    const proxy = await startProxy({ allow: [target], transactionalIds, log: () => {} });
    const ws = await openWs(`${proxy.url}/broker/${target}`);
    const before = broker.requests.length;
    const got = nextEvent<[Buffer]>(ws, "message", 10_000, "the answer");
    ws.send(initProducerId(3, id));
    const [answer] = await got;
    if (passes) {
      assert.equal(broker.requests.length, before + 1);
    } else {
      const res = decodeResponseFrame(InitProducerId, 4, new Uint8Array(answer).subarray(4));
      assert.equal(res, { throttleTimeMs: 0, errorCode: 53, producerId: -1, producerEpoch: -1 }, String(id));
      assert.equal(broker.requests.length, before, "nothing reached the broker");
      assert.is(proxy.stats().refused.byReason.TRANSACTIONAL_ID_NOT_ALLOWED, 1, "counted as a refusal");
      assert.is(ws.readyState, ws.OPEN, "the connection stays open, as with a broker's ACL");
    }
    ws.close();
    await proxy.close();
  }
  await broker.close();
});

test("bytesPerSecond holds per client across its connections, and a large message waits for its tokens (manual clock)", async () => {
  const got = { bytes: 0 };
  const broker = await tcpServer((s) => s.on("data", (d: Buffer) => (got.bytes += d.length)));
  const target = `127.0.0.1:${broker.port}`;
  const clock = manualClock();
  const rate = 100_000;
  const proxy = await startProxy({ apiKeys: "all", allow: [target], bytesPerSecond: rate, clock, log: () => {} });
  const a = await openWs(`${proxy.url}/broker/${target}`);
  const b = await openWs(`${proxy.url}/broker/${target}`);
  a.send(Buffer.alloc(400_000, 1)); // four seconds' worth in one message
  b.send(Buffer.alloc(80_000, 2));
  await until(() => got.bytes >= rate, 10_000, "the first second's worth");
  await sleep(300); // an unbounded proxy would forward the rest now
  assert.equal(got.bytes, rate, "both connections of one client share one bucket: one second's worth passed");
  for (let second = 2; second <= 4; second++) {
    clock.advance(1000);
    // Released in slices of 16 KiB as tokens accrue: most of a second's worth, never more.
    await until(() => got.bytes >= second * rate - 16_384, 10_000, `second ${second}`);
    await sleep(100);
    assert.ok(got.bytes <= second * rate, `at most ${second * rate} bytes after ${second} s, got ${got.bytes}`);
  }
  clock.advance(1000);
  await until(() => got.bytes === 480_000, 10_000, "everything, in the end");
  assert.ok(proxy.stats().throttled.rate > 0);
  a.close(); b.close();
  await proxy.close();
  await broker.close();
});

test("idleTimeoutMs on a manual clock: traffic keeps a connection open past the limit, silence closes it with 1001 IDLE_TIMEOUT", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const clock = manualClock();
  const proxy = await startProxy({ apiKeys: "all", allow: [target], idleTimeoutMs: 2000, clock, log: () => {} });
  const ws = await openWs(`${proxy.url}/broker/${target}`);
  const done = closed(ws);
  for (let i = 0; i < 4; i++) {
    clock.advance(1500);
    const echoed = nextEvent(ws, "message", 10_000, "the echo");
    ws.send(Buffer.from([i]));
    await echoed;
  }
  assert.equal(ws.readyState, ws.OPEN, "6 s of traffic every 1.5 s against a 2 s limit: still open");
  clock.advance(2001);
  assert.equal(await done, { code: 1001, reason: "IDLE_TIMEOUT" });
  await proxy.close();
  await echo.close();
});

/** Starts the proxy in a child process and returns it with its url. */
async function childProxy(options: object) {
  const child = spawnChild(process.execPath, ["--import", "tsx", "test/proxy/proxy-child.ts", JSON.stringify(options)]);
  await until(() => /listening (\S+)/.test(child.stdout), 30_000, "the child proxy to listen");
  return { child, url: /listening (\S+)/.exec(child.stdout)![1], port: Number(/:(\d+)$/.exec(/listening (\S+)/.exec(child.stdout)![1])![1]) };
}

/** Runs `attack` while sampling the RSS of `pid`; resolves with the peak growth over the baseline in bytes. */
async function peakGrowth(pid: number, attack: () => Promise<void>): Promise<number> {
  const base = rssOf(pid);
  let peak = base;
  const timer = setInterval(() => { try { peak = Math.max(peak, rssOf(pid)); } catch { /* exited */ } }, 20);
  try { await attack(); await sleep(300); peak = Math.max(peak, rssOf(pid)); } finally { clearInterval(timer); }
  return peak - base;
}

/** Writes `chunk` `times` times, waiting for drain; stops early when the socket closes. */
async function flood(socket: import("node:net").Socket, chunk: Buffer, times: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  const gone = new Promise((r) => socket.once("close", r));
  for (let i = 0; i < times && !socket.destroyed && Date.now() < end; i++) {
    if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once("drain", r)), gone]);
  }
}

test("one message in millions of 1-byte fragments: the client is closed after maxFragments and the proxy's memory stays bounded", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const { child, url, port } = await childProxy({ apiKeys: "all", allow: [target] });
  try {
    const { socket } = await rawWebSocket(port, `/broker/${target}`);
    const one = new Uint8Array([7]);
    const fragments = Buffer.concat(Array.from({ length: 20_000 }, () => clientFrame(0, false, one)));
    const growth = await peakGrowth(child.process.pid!, async () => {
      socket.write(clientFrame(2, false, one));
      await flood(socket, fragments, 150, 30_000); // 3 million fragments, 21 MB
    });
    if (process.env.DEBUG_PROXY) console.log("fragment flood growth", growth);
    assert.ok(socket.destroyed || (await within(new Promise((r) => socket.once("close", r)), 10_000, "the abuser's socket to close"), true));
    assert.ok(growth < 64 * 1024 * 1024, `proxy RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
    await echoWorks(`${url}/broker/${target}`);
    socket.destroy();
  } finally {
    child.kill();
    await child.exited(10_000);
    await echo.close();
  }
});

test("a client that pings and never reads: pongs stop at highWaterMark, the proxy's memory stays bounded, others are served", async () => {
  const echo = await echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const { child, url, port } = await childProxy({ apiKeys: "all", allow: [target] });
  try {
    const { socket } = await rawWebSocket(port, `/broker/${target}`); // paused: it reads nothing
    const pings = Buffer.concat(Array.from({ length: 8_000 }, () => clientFrame(9, true, new Uint8Array(125))));
    const growth = await peakGrowth(child.process.pid!, () => flood(socket, pings, 200, 30_000)); // 1.6 million pings, 210 MB
    if (process.env.DEBUG_PROXY) console.log("ping flood growth", growth);
    assert.ok(growth < 64 * 1024 * 1024, `proxy RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
    await echoWorks(`${url}/broker/${target}`);
    socket.destroy();
  } finally {
    child.kill();
    await echo.close();
  }
});

exitAfterSuite(test);
test.run();
