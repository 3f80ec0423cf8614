// The workerd transport's connection budget: Workers allow 6 simultaneous connections per request and
// queue a 7th until one closes, so a producer with more brokers than that would wait forever. The
// transport closes an idle socket (every request answered) for a new one, or after evictAfterMs a
// busy one; the producer reconnects as it needs. `connect` here is workerd's API over the fake cluster.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { workerdTransport, type WorkerdConnect, type WorkerdSocket } from "../../src/transport/workerd.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { Producer } from "../../src/index.ts";
import { ClientError } from "../../src/errors.ts";
import { FakeCluster } from "../fake/cluster.ts";
import { within, exitAfterSuite } from "../harness/bounded.ts";

/** workerd's connect() over a kafkasm Transport (the fake cluster's), counting sockets open at once. */
function workerdConnectOver(transport: Transport) {
  const stats = { open: 0, maxOpen: 0, opened: 0 };
  const connect: WorkerdConnect = (address) => {
    let push!: (b: Uint8Array) => void, end!: () => void;
    const readable = new ReadableStream<Uint8Array>({ start(c) { push = (b) => c.enqueue(b.slice()); end = () => { try { c.close(); } catch {} }; } });
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    let done = false;
    const down = () => { if (done) return; done = true; stats.open--; end(); closedResolve(); };
    const socketP = transport({ host: address.hostname, port: address.port, nodeId: -1 }, { onData: (b) => push(b), onClose: () => down() });
    const opened = socketP.then(() => { stats.open++; stats.opened++; stats.maxOpen = Math.max(stats.maxOpen, stats.open); });
    const writable = new WritableStream<Uint8Array>({ write: async (b) => { await (await socketP).write(b); } });
    const socket: WorkerdSocket = { readable, writable, opened, closed, close: async () => { (await socketP).close(); down(); } };
    return socket;
  };
  return { connect, stats };
}

test("a producer to 8 partitions led by 8 brokers, with a budget of 3 connections: never more than 3 open, every record delivered once", async () => {
  const cluster = new FakeCluster({ brokers: 8, topics: [{ name: "t", partitions: 8 }] });
  const { connect, stats } = workerdConnectOver(cluster.transport);
  const producer = new Producer({ brokers: cluster.bootstrap, transport: workerdTransport(connect, { maxConnections: 3, evictAfterMs: 50 }), lingerMs: 1 });
  try {
    const metas = await within(producer.sendBatch(Array.from({ length: 400 }, (_, i) => ({ topic: "t", partition: i % 8, value: `v${i}` }))), 60_000, "400 sends");
    assert.is(metas.length, 400);
    assert.ok(stats.maxOpen <= 3, `at most 3 sockets open at once, saw ${stats.maxOpen}`);
    assert.ok(stats.opened > 3, `sockets were closed and reopened to reach 8 brokers (${stats.opened} opened)`);
    for (let p = 0; p < 8; p++) assert.is(cluster.partition("t", p).logEndOffset, 50, `partition ${p}: 50 records, no duplicates`);
  } finally {
    await within(producer.close(), 10_000, "close");
  }
});

test("an idle socket is closed at once for a new connection; with every socket busy, the new one waits evictAfterMs, then the least recently used is closed", async () => {
  const closes: (Error | undefined)[] = [];
  const sockets: { respond(): void; peerClose(): void }[] = [];
  const connect: WorkerdConnect = () => {
    let push!: (b: Uint8Array) => void;
    const readable = new ReadableStream<Uint8Array>({ start(c) { push = (b) => c.enqueue(b); } });
    const writable = new WritableStream<Uint8Array>({ write() {} });
    let closeR!: () => void;
    const closed = new Promise<void>((r) => (closeR = r));
    sockets.push({ respond: () => push(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 1])), peerClose: () => closeR() });
    return { readable, writable, opened: Promise.resolve(), closed, close: async () => closeR() };
  };
  const t = workerdTransport(connect, { maxConnections: 2, evictAfterMs: 150 });
  const open = () => t({ host: "h", port: 1, nodeId: -1 }, { onData() {}, onClose: (e) => closes.push(e) });
  const a = await open();
  const b = await open();
  await a.write(new Uint8Array([0, 0, 0, 4, 1, 2, 3, 4])); // a: one request in flight
  await b.write(new Uint8Array([0, 0, 0, 4, 1, 2, 3, 4]));
  sockets[1].respond(); // b answered: idle
  await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  const c = await open(); // closes b (idle) at once, although a is older
  assert.ok(Date.now() - started < 100, "no wait when a socket is idle");
  assert.is(closes.length, 1);
  assert.match(String(closes[0]?.message), /connection budget \(maxConnections 2\)/);
  // a and c busy: the next waits evictAfterMs, then closes a (least recently used).
  await c.write(new Uint8Array([0, 0, 0, 4, 1, 2, 3, 4]));
  const busyStart = Date.now();
  const d = open();
  await new Promise((r) => setTimeout(r, 50));
  assert.is(closes.length, 1, "still waiting while every socket is busy");
  await d;
  assert.ok(Date.now() - busyStart >= 140, `waited evictAfterMs (${Date.now() - busyStart} ms)`);
  assert.is(closes.length, 2);
  await a.write(new Uint8Array([0, 0, 0, 4, 1, 2, 3, 4])).then(() => assert.unreachable("a was evicted"), (e: Error) => assert.match(e.message, /closed/));
});

test("invalid budget options are ClientError INVALID_CONFIG naming the option", () => {
  const connect = (() => { throw new Error("unused"); }) as unknown as WorkerdConnect;
  for (const [k, v] of [["maxConnections", 0], ["maxConnections", 2.5], ["evictAfterMs", -1]] as const) {
    try { workerdTransport(connect, { [k]: v }); assert.unreachable(k); }
    catch (e) { assert.instance(e, ClientError); assert.match((e as Error).message, new RegExp(`option ${k}:`)); }
  }
});

exitAfterSuite(test);
test.run();
