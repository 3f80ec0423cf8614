/**
 * Transport over `Bun.connect` (Bun's native TCP). Bun's `socket.write` may accept only part of the
 * bytes (it returns how many); the rest waits in a queue flushed on `drain`, and `write()` resolves
 * once all of its bytes were accepted: the backpressure signal.
 */
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";

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
}
declare const Bun: { connect(options: { hostname: string; port: number; socket: BunSocketHandler }): Promise<BunSocket> };

/** Opens a TCP connection with `Bun.connect`. */
export const bunTransport: Transport = async (address: BrokerAddress, handlers: TransportHandlers) => {
  const name = `${address.host}:${address.port}`;
  const queue: { data: Uint8Array; resolve: () => void; reject: (e: Error) => void }[] = [];
  let socket: BunSocket | undefined;
  let ended = false;
  let closedByUs = false;
  let lastError: Error | undefined;

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
    if (socket) handlers.onClose(closedByUs ? undefined : error);
  };

  try {
    socket = await Bun.connect({
      hostname: address.host,
      port: address.port,
      socket: {
        data: (_s, data) => { if (!ended) handlers.onData(data); },
        drain: () => flush(),
        error: (_s, e) => { lastError = e; },
        end: () => { lastError ??= new Error(`Connection to broker ${name} closed by the broker`); },
        close: (_s, e) => finish(e ?? lastError ?? new Error(`Connection to broker ${name} closed by the broker`)),
      },
    });
  } catch (e) {
    throw new Error(`Cannot connect to broker ${name}: ${(e as Error).message}`, { cause: e });
  }
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
};
