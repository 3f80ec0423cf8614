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
import { resolveTls, tlsError, type SslOption } from "./tls.ts";

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
  /**
   * [tls=false] TLS (`secureTransport: "on"`), as the `ssl` option: `true`, or `{}` (workerd verifies
   * against its own trust store, so `ca`, `cert`, `key`, `servername` and `rejectUnauthorized: false`
   * are refused with INVALID_CONFIG: no client certificates, so no mutual-TLS listeners).
   */
  tls?: SslOption;
}

const unsupported = {
  ca: "workerd trusts its own certificate store only (in workerd itself: the network service's tlsOptions.trustedCertificates)",
  cert: "workerd's connect() has no client certificates (mutual-TLS listeners are out of reach)",
  key: "workerd's connect() has no client certificates (mutual-TLS listeners are out of reach)",
  servername: "workerd's connect() checks the certificate against the host dialled",
  rejectUnauthorized: "workerd's connect() always verifies certificates",
};

/** Creates a Transport from workerd's `connect` (options validated now: ClientError INVALID_CONFIG). */
export function workerdTransport(connect: WorkerdConnect, options: WorkerdTransportOptions = {}): Transport {
  const tls = resolveTls(options.tls, unsupported) !== undefined;
  return async (address: BrokerAddress, handlers: TransportHandlers): Promise<TransportSocket> => {
    const name = `${address.host}:${address.port}`;
    let socket: WorkerdSocket;
    try {
      socket = connect({ hostname: address.host, port: address.port },
        { secureTransport: tls ? "on" : "off", allowHalfOpen: false });
      await socket.opened;
    } catch (e) {
      // workerd reports a failed handshake through `opened` too, with its reason in the message.
      throw tls ? tlsError(name, e, false) : new Error(`Cannot connect to broker ${name}: ${(e as Error).message}`, { cause: e });
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
