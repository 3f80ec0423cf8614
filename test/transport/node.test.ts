// The node:net transport's write(): its promise is the backpressure signal. Below the socket's
// high-water mark it resolves at once; above it, it waits until the peer has read enough for a
// 'drain'; a write waiting for 'drain' rejects when the socket closes, and so does one after close.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type Server, type Socket } from "node:net";
import { exitAfterSuite, sleep, within } from "../harness/bounded.ts";
import { nodeTransport } from "../../src/transport/node.ts";
import type { TransportSocket } from "../../src/transport/transport.ts";

interface Peer { port: number; accepted: Promise<Socket>; server: Server }

/** A TCP server that accepts one connection and does not read until told to. */
async function peer(): Promise<Peer> {
  let accept!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (accept = r));
  const server = createServer({ pauseOnConnect: true }, accept);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, accepted, server };
}

const settled = (p: Promise<unknown>) => {
  const s = { done: false, error: undefined as unknown };
  p.then(() => (s.done = true), (e) => { s.done = true; s.error = e; });
  return s;
};

/** Writes 1 MiB chunks to a peer that reads nothing until one write's promise stays pending; that write's state. */
async function writeUntilBlocked(sock: TransportSocket): Promise<ReturnType<typeof settled> | undefined> {
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < 256; i++) {
    const s = settled(sock.write(big));
    await sleep(0);
    if (!s.done) return s;
  }
  return undefined;
}

test("write() resolves at once below the high-water mark and waits for the peer to read above it", async () => {
  const p = await peer();
  const sock = await nodeTransport({ host: "127.0.0.1", port: p.port, nodeId: 0 }, { onData: () => {}, onClose: () => {} });
  const remote = await p.accepted;
  try {
    await within(sock.write(new Uint8Array(1024)), 2000, "a small write");
    // The peer reads nothing: the kernel buffers fill, then the socket's own buffer passes its mark.
    const blocked = await writeUntilBlocked(sock);
    assert.ok(blocked, "some write waited while the peer read nothing");
    await sleep(50);
    assert.is(blocked!.done, false, "still waiting: the peer has not read");
    remote.resume();
    await within((async () => { while (!blocked!.done) await sleep(5); })(), 5000, "the write to resolve after the peer read");
    assert.is(blocked!.error, undefined);
  } finally {
    sock.close();
    remote.destroy();
    p.server.close();
  }
});

test("a write waiting for 'drain' rejects when the socket closes, and a write after close rejects", async () => {
  const p = await peer();
  const sock = await nodeTransport({ host: "127.0.0.1", port: p.port, nodeId: 0 }, { onData: () => {}, onClose: () => {} });
  const remote = await p.accepted;
  try {
    const blocked = await writeUntilBlocked(sock);
    assert.ok(blocked, "some write waited");
    sock.close();
    await within((async () => { while (!blocked!.done) await sleep(5); })(), 2000, "the waiting write to settle");
    assert.instance(blocked!.error, Error);
    let rejected = false;
    await sock.write(new Uint8Array(1)).catch(() => (rejected = true));
    assert.ok(rejected, "a write after close rejects");
  } finally {
    remote.destroy();
    p.server.close();
  }
});

exitAfterSuite(test);
test.run();
