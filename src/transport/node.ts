/**
 * Transport over `node:net` (Node and Bun): Nagle off, `write()` resolves when the socket accepted the
 * bytes; `nodeTlsTransport(ssl)` is the same over `node:tls`.
 */
import { connect as netConnect, isIP, type Socket } from "node:net";
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";
import { resolveTls, tlsError, type ResolvedTls, type SslOption } from "./tls.ts";

const ACCEPTED = Promise.resolve();

class NodeSocket implements TransportSocket {
  #socket: Socket;
  #closed = false;
  /** Writers waiting for 'drain'; settled on drain or close. */
  #waiting: { resolve(): void; reject(e: Error): void }[] = [];
  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("drain", () => this.#settle());
  }
  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot write: the socket is closed"));
    // No write callback (it costs a closure, a promise and stream bookkeeping per request): write()'s
    // result says whether the buffer is below its high-water mark; above it, wait for 'drain'.
    if (this.#socket.write(data)) return ACCEPTED;
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }
  close(): void {
    if (this.#closed) return;
    this.markClosed();
    this.#socket.end();
    this.#socket.destroy();
  }
  markClosed(): void {
    this.#closed = true;
    this.#settle(new Error("Cannot write: the socket is closed"));
  }
  #settle(error?: Error): void {
    const w = this.#waiting;
    this.#waiting = [];
    for (const x of w) error ? x.reject(error) : x.resolve();
  }
}

// Loaded at the first TLS connection: importing node:tls costs every plaintext client ~10 ms of start-up and ~4 MB of RSS.
let tlsModule: Promise<typeof import("node:tls")> | undefined;

function open(address: BrokerAddress, handlers: TransportHandlers, tls?: ResolvedTls, tlsConnect?: typeof import("node:tls").connect): Promise<TransportSocket> {
  return new Promise<TransportSocket>((resolve, reject) => {
    const name = `${address.host}:${address.port}`;
    const socket = tls
      ? tlsConnect!({
        host: address.host, port: address.port, ca: tls.ca, cert: tls.cert, key: tls.key,
        // SNI takes host names only; the certificate is still checked against an IP host.
        servername: tls.servername ?? (isIP(address.host) ? undefined : address.host),
        rejectUnauthorized: tls.rejectUnauthorized,
      })
      : netConnect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    let opened = false;
    let closed = false;
    let lastError: Error | undefined;
    const wrapper = new NodeSocket(socket);
    socket.once(tls ? "secureConnect" : "connect", () => {
      opened = true;
      resolve(wrapper);
    });
    socket.on("data", (chunk: Buffer) => handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    socket.on("error", (err) => {
      lastError = err;
      if (!opened) reject(tls ? tlsError(name, err, socket.connecting === false) : new Error(`Cannot connect to ${name}: ${err.message}`, { cause: err }));
    });
    socket.on("close", () => {
      wrapper.markClosed();
      if (!opened) {
        // A broker requiring a client certificate may just close the socket during the handshake.
        if (!lastError) reject(tls ? tlsError(name, new Error("the broker closed the connection during the TLS handshake"), true) : new Error(`Cannot connect to ${name}: connection closed`));
        return;
      }
      if (closed) return;
      closed = true;
      // TLS 1.3: a broker refuses a missing client certificate after the client's handshake ended.
      handlers.onClose(tls && lastError ? tlsError(name, lastError, false) : lastError);
    });
    socket.on("end", () => {
      if (!lastError) lastError = new Error(`Connection to ${name} closed by the broker`);
    });
  });
}

/** Opens a TCP connection with `node:net`. */
export const nodeTransport: Transport = (address: BrokerAddress, handlers: TransportHandlers) => open(address, handlers);

/**
 * A Transport over `node:tls` with the `ssl` option's settings (validated now: ClientError INVALID_CONFIG).
 * A certificate or handshake failure rejects with a non-retriable ClientError CONNECTION_ERROR saying why.
 */
export function nodeTlsTransport(ssl: SslOption = true): Transport {
  const tls = resolveTls(ssl);
  if (!tls) return nodeTransport;
  return async (address, handlers) => open(address, handlers, tls, (await (tlsModule ??= import("node:tls"))).connect);
}
