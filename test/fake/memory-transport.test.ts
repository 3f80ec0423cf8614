import { test } from "uvu";
import * as assert from "uvu/assert";
import { MemoryNetwork } from "../../src/transport/memory.ts";
import { FrameAccumulator } from "../../src/protocol/frame.ts";

const addr = { host: "127.0.0.1", port: 9092, nodeId: 1 };
const tick = () => new Promise((r) => setTimeout(r, 0));

test("bytes flow both ways in order, asynchronously, and are copied from the writer's buffer", async () => {
  const net = new MemoryNetwork();
  const serverGot: number[] = [];
  net.listen("127.0.0.1", 9092, (a) => {
    a.setHandlers({ onData: (c) => { serverGot.push(...c); void a.socket.write(c.map((x) => x + 1)); }, onClose: () => {} });
  });
  const clientGot: number[] = [];
  const sock = await net.transport(addr, { onData: (c) => clientGot.push(...c), onClose: () => {} });
  const buf = new Uint8Array([1, 2, 3]);
  const written = sock.write(buf);
  buf[0] = 99; // the write was copied
  assert.is(serverGot.length, 0, "delivery is asynchronous");
  await written;
  await sock.write(new Uint8Array([4]));
  await tick();
  assert.equal(serverGot, [1, 2, 3, 4]);
  assert.equal(clientGot, [2, 3, 4, 5]);
});

test("connecting to an address nobody listens on rejects naming the address", async () => {
  const net = new MemoryNetwork();
  try {
    await net.transport({ host: "127.0.0.1", port: 1, nodeId: -1 }, { onData() {}, onClose() {} });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /127\.0\.0\.1:1/);
  }
});

test("chunk splitting delivers frames in pieces that FrameAccumulator reassembles", async () => {
  const net = new MemoryNetwork({ maxChunkBytes: 3 });
  const frames: number[][] = [];
  const chunks: number[] = [];
  const acc = new FrameAccumulator();
  net.listen("127.0.0.1", 9092, (a) => a.setHandlers({
    onData: (c) => { chunks.push(c.length); acc.push(c, (f) => frames.push([...f])); }, onClose() {},
  }));
  const sock = await net.transport(addr, { onData() {}, onClose() {} });
  await sock.write(new Uint8Array([0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 2, 7]));
  await sock.write(new Uint8Array([8]));
  await tick();
  assert.ok(chunks.every((n) => n <= 3));
  assert.equal(frames, [[1, 2, 3, 4, 5], [], [7, 8]]);
});

test("closing one end delivers pending data, then onClose: no error locally, an Error at the peer", async () => {
  const net = new MemoryNetwork();
  const events: string[] = [];
  net.listen("127.0.0.1", 9092, (a) => a.setHandlers({
    onData: (c) => events.push(`server data ${c.length}`), onClose: (e) => events.push(`server close ${e ? "error" : "clean"}`),
  }));
  const sock = await net.transport(addr, { onData() {}, onClose: (e) => events.push(`client close ${e ? "error" : "clean"}`) });
  await sock.write(new Uint8Array(2));
  sock.close();
  sock.close(); // idempotent
  await tick();
  assert.equal(events.sort(), ["client close clean", "server close error", "server data 2"]);
  try {
    await sock.write(new Uint8Array(1));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /closed/);
  }
});

test("a server-side close reaches the client's onClose with the given error", async () => {
  const net = new MemoryNetwork();
  net.listen("127.0.0.1", 9092, (a) => { a.setHandlers({ onData() {}, onClose() {} }); a.socket.close(new Error("broker down")); });
  let err: Error | undefined;
  await net.transport(addr, { onData() {}, onClose: (e) => { err = e; } });
  await tick();
  assert.is(err?.message, "broker down");
});

test("FrameAccumulator rejects a negative or oversized frame size with PROTOCOL_ERROR", () => {
  const acc = new FrameAccumulator(100);
  assert.throws(() => acc.push(new Uint8Array([0, 0, 1, 0]), () => {}), (e: any) => e.code === "PROTOCOL_ERROR");
  assert.throws(() => new FrameAccumulator().push(new Uint8Array([0xff, 0, 0, 0]), () => {}), (e: any) => e.code === "PROTOCOL_ERROR");
});

test.run();
