/**
 * Transport over the TCP sockets API of Cloudflare Workers / workerd (`connect()` from
 * `cloudflare:sockets`). The `connect` function is passed in rather than imported, so this leaf
 * loads (and is testable) outside workerd; `src/workerd.ts` passes the real one.
 *
 * @example
 * ```ts
 * import { connect } from "cloudflare:sockets";
 * import { workerdTransport } from "kafkasm"; // through the "workerd" export condition
 * const transport = workerdTransport(connect);
 * ```
 */
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";

/** The parts of a `cloudflare:sockets` Socket this transport uses. */
export interface WorkerdSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<unknown>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}
export type WorkerdConnect = (
  address: { hostname: string; port: number },
  options?: { secureTransport?: "off" | "on" | "starttls"; allowHalfOpen?: boolean },
) => WorkerdSocket;

export interface WorkerdTransportOptions {
  /** [tls=false] Use TLS (`secureTransport: "on"`). */
  tls?: boolean;
}

/** Creates a Transport from workerd's `connect`. */
export function workerdTransport(connect: WorkerdConnect, options: WorkerdTransportOptions = {}): Transport {
  return async (address: BrokerAddress, handlers: TransportHandlers): Promise<TransportSocket> => {
    const name = `${address.host}:${address.port}`;
    let socket: WorkerdSocket;
    try {
      socket = connect({ hostname: address.host, port: address.port },
        { secureTransport: options.tls ? "on" : "off", allowHalfOpen: false });
      await socket.opened;
    } catch (e) {
      throw new Error(`Cannot connect to broker ${name}: ${(e as Error).message}`, { cause: e });
    }
    const writer = socket.writable.getWriter();
    const reader = socket.readable.getReader();
    let ended = false;
    let closedByUs = false;

    const finish = (error?: Error) => {
      if (ended) return;
      ended = true;
      reader.cancel().catch(() => {});
      writer.abort().catch(() => {});
      socket.close().catch(() => {});
      handlers.onClose(closedByUs ? undefined : error);
    };

    void (async () => {
      let error: Error | undefined;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value && value.byteLength > 0) handlers.onData(value);
        }
        error = new Error(`Connection to broker ${name} closed by the broker`);
      } catch (e) {
        error = new Error(`Connection to broker ${name} failed: ${(e as Error).message}`, { cause: e });
      }
      finish(error);
    })();

    return {
      async write(data: Uint8Array): Promise<void> {
        if (ended) throw new Error(`Cannot write to broker ${name}: the socket is closed`);
        // WritableStream queues writes in order; awaiting ready + write is the backpressure signal.
        await writer.ready;
        await writer.write(data);
      },
      close(): void {
        closedByUs = true;
        finish();
      },
    };
  };
}
