/**
 * Transport over `Bun.connect` (Bun's native TCP). Bun's `socket.write` may accept only part of the
 * bytes (it returns how many); the rest waits in a queue flushed on `drain`, and `write()` resolves
 * once all of its bytes were accepted: the backpressure signal.
 */
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";
import { resolveTls, tlsError, type ResolvedTls, type SslOption } from "./tls.ts";

interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  setNoDelay?(noDelay?: boolean): boolean;
}
interface BunSocketHandler {
  open?(s: BunSocket): void;
  data?(s: BunSocket, data: Uint8Array): void;
  drain?(s: BunSocket): void;
  close?(s: BunSocket, error?: Error): void;
  end?(s: BunSocket): void;
  error?(s: BunSocket, error: Error): void;
  connectError?(s: BunSocket, error: Error): void;
  handshake?(s: BunSocket, success: boolean, authorizationError: Error | null): void;
}
interface BunTls { ca?: string[]; cert?: string; key?: string; serverName?: string; rejectUnauthorized?: boolean }
declare const Bun: { connect(options: { hostname: string; port: number; socket: BunSocketHandler; tls?: BunTls }): Promise<BunSocket> };

/** Opens a TCP connection with `Bun.connect`. */
export const bunTransport: Transport = (address: BrokerAddress, handlers: TransportHandlers) => open(address, handlers);

/**
 * A Transport over `Bun.connect({ tls })` with the `ssl` option's settings (validated now: ClientError
 * INVALID_CONFIG). A certificate or handshake failure rejects with a non-retriable ClientError
 * CONNECTION_ERROR saying why.
 */
export function bunTlsTransport(ssl: SslOption = true): Transport {
  const tls = resolveTls(ssl);
  if (!tls) return bunTransport;
  return (address, handlers) => open(address, handlers, tls);
}

async function open(address: BrokerAddress, handlers: TransportHandlers, tls?: ResolvedTls): Promise<TransportSocket> {
  const name = `${address.host}:${address.port}`;
  const queue: { data: Uint8Array; resolve: () => void; reject: (e: Error) => void }[] = [];
  let socket: BunSocket | undefined;
  let ended = false;
  let closedByUs = false;
  let lastError: Error | undefined;
  let socketReady = false;

  const flush = () => {
    while (socket && queue.length > 0) {
      const head = queue[0];
      const n = socket.write(head.data);
      if (n < 0) { finish(new Error(`Cannot write to broker ${name}: the socket is closed`)); return; }
      if (n < head.data.length) { head.data = head.data.subarray(n); return; } // wait for drain
      queue.shift();
      head.resolve();
    }
  };

  const finish = (error?: Error) => {
    if (ended) return;
    ended = true;
    const err = error ?? new Error(`Connection to broker ${name} closed`);
    for (const w of queue.splice(0)) w.reject(err);
    try { socket?.end(); } catch { /* already closed */ }
    if (socket && socketReady) handlers.onClose(closedByUs ? undefined : error);
  };

  // With TLS, the socket is usable once the handshake succeeded (Bun.connect resolves before it).
  let handshake: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const shaken = tls ? new Promise<void>((resolve, reject) => { handshake = { resolve, reject }; }) : undefined;
  shaken?.catch(() => {}); // awaited below; it may fail before that
  const failHandshake = (e: unknown) => { const h = handshake; handshake = undefined; h?.reject(e); };
  try {
    socket = await Bun.connect({
      hostname: address.host,
      port: address.port,
      tls: tls && { ca: tls.ca, cert: tls.cert, key: tls.key, serverName: tls.servername, rejectUnauthorized: tls.rejectUnauthorized },
      socket: {
        data: (_s, data) => { if (!ended) handlers.onData(data); },
        drain: () => flush(),
        error: (_s, e) => { lastError = e; failHandshake(e); },
        end: () => { lastError ??= new Error(`Connection to broker ${name} closed by the broker`); },
        close: (_s, e) => {
          failHandshake(e ?? lastError ?? new Error("the broker closed the connection during the TLS handshake"));
          if (!handshake && shaken && !socketReady) return;
          finish(e ?? lastError ?? new Error(`Connection to broker ${name} closed by the broker`));
        },
        handshake: (_s, success, authorizationError) => {
          const h = handshake;
          handshake = undefined;
          if (success && (!authorizationError || !tls!.rejectUnauthorized)) h?.resolve();
          else h?.reject(authorizationError ?? new Error("the TLS handshake failed"));
        },
      },
    });
  } catch (e) {
    throw tls ? tlsError(name, e, false) : new Error(`Cannot connect to broker ${name}: ${(e as Error).message}`, { cause: e });
  }
  if (shaken) {
    try {
      await shaken;
    } catch (e) {
      ended = true;
      try { socket.end(); } catch { /* already closed */ }
      throw tlsError(name, e, true);
    }
  }
  socketReady = true;
  socket.setNoDelay?.(true);
  return {
    write(data: Uint8Array): Promise<void> {
      if (ended) return Promise.reject(new Error(`Cannot write to broker ${name}: the socket is closed`));
      return new Promise<void>((resolve, reject) => {
        queue.push({ data, resolve, reject });
        if (queue.length === 1) flush();
      });
    },
    close(): void {
      closedByUs = true;
      finish();
    },
  } satisfies TransportSocket;
}
