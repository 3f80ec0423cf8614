/**
 * Transport over `Deno.connect` (and `Deno.connectTls` for the `ssl` option): a read loop feeds
 * `onData`; `write()` resolves when every byte is written.
 */
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";
import { resolveTls, tlsError, type SslOption } from "./tls.ts";

interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}
interface DenoTlsConn extends DenoConn {
  handshake(): Promise<unknown>;
}
declare const Deno: {
  connect(options: { hostname: string; port: number; transport?: "tcp" }): Promise<DenoConn>;
  connectTls(options: { hostname: string; port: number; caCerts?: string[]; cert?: string; key?: string }): Promise<DenoTlsConn>;
};

class DenoSocket implements TransportSocket {
  #conn: DenoConn;
  #closed = false;
  #closedByUs = false;
  // Writes are chained so that concurrent write() calls never interleave their bytes.
  #tail: Promise<void> = Promise.resolve();
  #handlers: TransportHandlers;
  #address: BrokerAddress;
  constructor(conn: DenoConn, handlers: TransportHandlers, address: BrokerAddress) {
    this.#conn = conn;
    this.#handlers = handlers;
    this.#address = address;
    void this.#readLoop();
  }
  async #readLoop(): Promise<void> {
    let error: Error | undefined;
    try {
      for (;;) {
        const buf = new Uint8Array(65536);
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#handlers.onData(buf.subarray(0, n));
      }
      if (!this.#closedByUs) error = new Error(`Connection to ${this.#address.host}:${this.#address.port} closed by the broker`);
    } catch (e) {
      if (!this.#closedByUs) error = e instanceof Error ? e : new Error(String(e));
    }
    this.#finish(error);
  }
  #finish(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    try { this.#conn.close(); } catch { /* already closed */ }
    this.#handlers.onClose(error);
  }
  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot write: the socket is closed"));
    const p = this.#tail.then(async () => {
      let off = 0;
      while (off < data.length) off += await this.#conn.write(data.subarray(off));
    });
    this.#tail = p.catch(() => {});
    return p;
  }
  close(): void {
    this.#closedByUs = true;
    this.#finish();
  }
}

/** Opens a TCP connection with `Deno.connect`. */
export const denoTransport: Transport = async (address: BrokerAddress, handlers: TransportHandlers) => {
  let conn: DenoConn;
  try {
    conn = await Deno.connect({ hostname: address.host, port: address.port, transport: "tcp" });
  } catch (e) {
    throw new Error(`Cannot connect to ${address.host}:${address.port}: ${(e as Error).message}`, { cause: e });
  }
  conn.setNoDelay?.(true);
  return new DenoSocket(conn, handlers, address);
};

/**
 * A Transport over `Deno.connectTls` with the `ssl` option's settings (validated now: ClientError
 * INVALID_CONFIG). Deno checks the certificate against the host dialled and always verifies it, so
 * `servername` and `rejectUnauthorized: false` are refused. A certificate or handshake failure rejects
 * with a non-retriable ClientError CONNECTION_ERROR saying why.
 */
export function denoTlsTransport(ssl: SslOption = true): Transport {
  const tls = resolveTls(ssl, {
    servername: "Deno checks the certificate against the broker's host name, with no override",
    rejectUnauthorized: "Deno always verifies certificates (use ssl.ca to trust a private CA)",
  });
  if (!tls) return denoTransport;
  return async (address: BrokerAddress, handlers: TransportHandlers) => {
    const name = `${address.host}:${address.port}`;
    let conn: DenoTlsConn;
    try {
      conn = await Deno.connectTls({ hostname: address.host, port: address.port, caCerts: tls.ca, cert: tls.cert, key: tls.key });
    } catch (e) {
      throw tlsError(name, e, false);
    }
    try {
      // Without this, a certificate failure would surface only as the first read's error.
      await conn.handshake();
    } catch (e) {
      try { conn.close(); } catch { /* already closed */ }
      throw tlsError(name, e, true);
    }
    return new DenoSocket(conn, handlers, address);
  };
}
