// TLS in the Node transport (node:tls), against a fake Kafka cluster behind a node:tls front made here
// with test certificates: records land over TLS; an untrusted certificate, a host name mismatch and a
// missing client certificate fail with a non-retriable CONNECTION_ERROR saying why; the `ssl` option
// is validated at construction, and workerd refuses what its connect() cannot do.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { FakeCluster } from "../fake/cluster.ts";
import { exitAfterSuite, within } from "../harness/bounded.ts";
import { ClientError, Producer } from "../../src/index.ts";
import { nodeTlsTransport } from "../../src/transport/node.ts";
import { workerdTransport, type WorkerdConnect } from "../../src/transport/workerd.ts";
import { makePki, type Pki } from "./certs.ts";

const pki: Pki = makePki();

interface TlsFront { bootstrap: string[]; handshakes: number; close(): Promise<void> }

/** Puts `cluster` behind node:tls servers (one per broker) with the given certificate. */
async function tlsFront(cluster: FakeCluster, opts: { cert: string; key: string; requestCert?: boolean }): Promise<TlsFront> {
  const servers: Server[] = [];
  const sockets = new Set<TLSSocket>();
  const front = { bootstrap: [] as string[], handshakes: 0, close: async () => {} };
  for (const b of cluster.brokers) {
    const server = createServer({ cert: opts.cert, key: opts.key, ca: pki.ca, requestCert: opts.requestCert, rejectUnauthorized: opts.requestCert ?? false }, (sock) => {
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
      sock.on("error", () => {});
      sock.pause();
      void cluster.transport({ host: b.host, port: b.port, nodeId: b.nodeId }, {
        onData: (chunk) => { sock.write(chunk); },
        onClose: () => { sock.destroy(); },
      }).then((mem) => {
        sock.on("data", (chunk: Buffer) => { mem.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)).catch(() => sock.destroy()); });
        sock.on("close", () => mem.close());
        sock.resume();
      }, () => sock.destroy());
    });
    server.on("connection", () => { front.handshakes++; });
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    b.advertisedHost = "127.0.0.1";
    b.advertisedPort = (server.address() as { port: number }).port;
    front.bootstrap.push(`127.0.0.1:${b.advertisedPort}`);
  }
  front.close = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  return front;
}

const cluster = () => new FakeCluster({ brokers: 2, topics: [{ name: "tls", partitions: 2 }] });
const values = (c: FakeCluster) => [0, 1].flatMap((p) => c.values("tls", p)).sort();

test("a Producer with ssl: { ca } sends over node:tls to brokers whose certificate that CA signed", async () => {
  const c = cluster();
  const front = await tlsFront(c, pki.broker);
  const producer = new Producer({ brokers: front.bootstrap, ssl: { ca: pki.ca }, lingerMs: 1 });
  try {
    const metas = await within(Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic: "tls", key: `k${i}`, value: `v${i}` }))), 30_000, "sends over TLS");
    assert.is(metas.length, 50);
    assert.equal(values(c), Array.from({ length: 50 }, (_, i) => `v${i}`).sort());
  } finally {
    await producer.close({ timeoutMs: 5000 });
    await front.close();
  }
});

test("the Node TLS transport refuses an untrusted certificate with a non-retriable CONNECTION_ERROR naming the cause", async () => {
  const front = await tlsFront(cluster(), pki.broker);
  try {
    const [host, port] = front.bootstrap[0]!.split(":");
    const err = await nodeTlsTransport({ ca: pki.otherCa })({ host: host!, port: Number(port), nodeId: -1 }, { onData() {}, onClose() {} }).then(() => null, (e) => e);
    assert.instance(err, ClientError);
    assert.is(err.code, "CONNECTION_ERROR");
    assert.is(err.retriable, false);
    assert.match(err.message, /certificate is not trusted/);
    // ssl: true trusts Node's bundled CAs only: the test CA is not one of them.
    const err2 = await nodeTlsTransport(true)({ host: host!, port: Number(port), nodeId: -1 }, { onData() {}, onClose() {} }).then(() => null, (e) => e);
    assert.match(err2?.message, /certificate is not trusted/);
  } finally {
    await front.close();
  }
});

test("the Node TLS transport refuses a certificate for another host name with a non-retriable CONNECTION_ERROR", async () => {
  const front = await tlsFront(cluster(), pki.wrongHost);
  try {
    const [host, port] = front.bootstrap[0]!.split(":");
    const err = await nodeTlsTransport({ ca: pki.ca })({ host: host!, port: Number(port), nodeId: -1 }, { onData() {}, onClose() {} }).then(() => null, (e) => e);
    assert.instance(err, ClientError);
    assert.is(err.code, "CONNECTION_ERROR");
    assert.is(err.retriable, false);
    assert.match(err.message, /does not match the host name/);
    // servername names the host the certificate is for: then it matches.
    const sock = await nodeTlsTransport({ ca: pki.ca, servername: "wrong.example" })({ host: host!, port: Number(port), nodeId: -1 }, { onData() {}, onClose() {} });
    sock.close();
  } finally {
    await front.close();
  }
});

test("a Producer whose broker certificate is not trusted fails its send with the TLS reason, retrying at the backoff pace rather than in a tight loop", async () => {
  const front = await tlsFront(cluster(), pki.broker);
  const producer = new Producer({ brokers: front.bootstrap, ssl: { ca: pki.otherCa }, maxBlockMs: 2000, retryBackoffMs: 200, retryBackoffMaxMs: 200 });
  try {
    const err = await within(producer.send({ topic: "tls", value: "x" }).then(() => null, (e) => e), 30_000, "the send to fail");
    assert.ok(err, "the send failed");
    assert.match(err.message, /TLS to 127\.0\.0\.1:\d+ failed: the broker's certificate is not trusted/);
    // 2 s of metadata attempts spaced by 200 ms over 2 bootstrap brokers: a few dozen at most, not thousands.
    assert.ok(front.handshakes >= 1 && front.handshakes <= 40, `${front.handshakes} TLS handshakes in 2 s`);
  } finally {
    await producer.close({ timeoutMs: 1000 });
    await front.close();
  }
});

test("mutual TLS: without a client certificate the handshake fails saying one is required; with ssl.cert/key records land", async () => {
  const c = cluster();
  const front = await tlsFront(c, { ...pki.broker, requestCert: true });
  try {
    const [host, port] = front.bootstrap[0]!.split(":");
    // TLS 1.3 ends the client's handshake before the server checks: the refusal may come as the close.
    let closed!: (e?: Error) => void;
    const closing = new Promise<Error | undefined>((r) => { closed = r; });
    const err = await nodeTlsTransport({ ca: pki.ca })({ host: host!, port: Number(port), nodeId: -1 }, { onData() {}, onClose: closed })
      .then(() => within(closing, 10_000, "the broker to close the connection"), (e) => e);
    assert.instance(err, ClientError);
    assert.is(err.code, "CONNECTION_ERROR");
    assert.match(err.message, /requires a client certificate/);
    const producer = new Producer({ brokers: front.bootstrap, ssl: { ca: pki.ca, cert: pki.client.cert, key: new TextEncoder().encode(pki.client.key) } });
    try {
      await within(producer.send({ topic: "tls", value: "mtls" }), 30_000, "send over mutual TLS");
      assert.equal(values(c), ["mtls"]);
    } finally {
      await producer.close({ timeoutMs: 5000 });
    }
  } finally {
    await front.close();
  }
});

test("the ssl option is validated when the Producer is made: INVALID_CONFIG naming the setting", () => {
  const bad: [unknown, RegExp][] = [
    ["yes", /ssl: expected true or/],
    [{ ca: 42 }, /ca\[0\]: expected PEM/],
    [{ cert: pki.client.cert }, /cert and key go together/],
    [{ servername: "" }, /servername: expected a non-empty string/],
    [{ rejectUnauthorized: "no" }, /rejectUnauthorized: expected a boolean/],
    [{ cafile: "x" }, /unknown setting "cafile"/],
  ];
  for (const [ssl, re] of bad) {
    try {
      new Producer({ brokers: ["127.0.0.1:1"], ssl: ssl as never });
      assert.unreachable(`accepted ${JSON.stringify(ssl)}`);
    } catch (e) {
      assert.instance(e, ClientError);
      assert.is((e as ClientError).code, "INVALID_CONFIG");
      assert.match((e as Error).message, re);
    }
  }
});

test("workerd's TLS transport refuses client certificates, private CAs, servername and rejectUnauthorized: false (INVALID_CONFIG), and dials with secureTransport on", async () => {
  const calls: unknown[] = [];
  const connect: WorkerdConnect = (address, options) => {
    calls.push(options);
    const opened = Promise.reject(new Error("stop here"));
    opened.catch(() => {});
    return { opened, closed: Promise.resolve(), close: async () => {}, readable: new ReadableStream(), writable: new WritableStream() };
  };
  for (const [tls, re] of [[{ cert: "c", key: "k" }, /cert is not supported here: workerd's connect\(\) has no client certificates/], [{ ca: pki.ca }, /ca is not supported here/], [{ servername: "x" }, /servername is not supported/], [{ rejectUnauthorized: false }, /rejectUnauthorized is not supported/]] as const) {
    try {
      workerdTransport(connect, { tls });
      assert.unreachable(`accepted ${JSON.stringify(tls)}`);
    } catch (e) {
      assert.is((e as ClientError).code, "INVALID_CONFIG");
      assert.match((e as Error).message, re);
    }
  }
  await workerdTransport(connect, { tls: true })({ host: "h", port: 1, nodeId: -1 }, { onData() {}, onClose() {} }).catch(() => {});
  await workerdTransport(connect, { tls: { rejectUnauthorized: true } })({ host: "h", port: 1, nodeId: -1 }, { onData() {}, onClose() {} }).catch(() => {});
  await workerdTransport(connect)({ host: "h", port: 1, nodeId: -1 }, { onData() {}, onClose() {} }).catch(() => {});
  assert.equal(calls.map((o) => (o as { secureTransport: string }).secureTransport), ["on", "on", "off"]);
});

test.after(() => pki.remove());
exitAfterSuite(test);
test.run();
