import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type Socket } from "node:net";
import { nodeTransport } from "../../src/transport/node.ts";

test("node transport: writes reach the peer, bytes come back through onData, peer close reaches onClose with an error", async () => {
  let peer: Socket | undefined;
  const server = createServer((s) => { peer = s; s.on("data", (d) => s.write(d)); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const got: number[] = [];
  let closed: Error | undefined | "no" = "no";
  const sock = await nodeTransport({ host: "127.0.0.1", port, nodeId: -1 }, {
    onData: (c) => got.push(...c),
    onClose: (e) => { closed = e; },
  });
  const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  await sock.write(new Uint8Array([1, 2, 3]));
  await sock.write(big);
  while (got.length < 3 + big.length) await new Promise((r) => setTimeout(r, 5));
  assert.equal(got.slice(0, 5), [1, 2, 3, 0, 1]);
  assert.is(got[3 + 300], 300 & 0xff);
  peer!.destroy();
  while (closed === "no") await new Promise((r) => setTimeout(r, 5));
  assert.instance(closed, Error);
  await sock.write(new Uint8Array([1])).then(() => assert.unreachable(), (e) => assert.match(String(e), /closed/));
  server.close();
});

test("node transport: a refused connection rejects naming the address; local close() reports no error", async () => {
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  let closed: unknown = "no";
  const sock = await nodeTransport({ host: "127.0.0.1", port, nodeId: -1 }, { onData: () => {}, onClose: (e) => { closed = e; } });
  sock.close();
  while (closed === "no") await new Promise((r) => setTimeout(r, 5));
  assert.is(closed, undefined);
  await new Promise<void>((r) => server.close(() => r()));
  const e = await nodeTransport({ host: "127.0.0.1", port, nodeId: -1 }, { onData: () => {}, onClose: () => {} }).catch((e) => e);
  assert.match(String(e.message), new RegExp(`127\\.0\\.0\\.1:${port}`));
});

test.run();
