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
import { ClientError } from "../errors.ts";
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
  /**
   * [maxConnections=6] Sockets this transport keeps open at once: Workers allow 6 simultaneous
   * connections per request and queue a 7th until one closes, which would deadlock a producer that
   * holds 6 broker connections and needs a 7th. At the budget, a new connection first closes the
   * least recently used socket that is idle (every request written has been answered); if none is,
   * it waits up to `evictAfterMs`, then closes the least recently used one anyway (its requests fail
   * as a lost connection and are retried). One transport is shared by the producers that use it.
   */
  maxConnections?: number;
  /** [evictAfterMs=1000] How long a connection waits for an idle socket before evicting a busy one. */
  evictAfterMs?: number;
}

/** One open socket, as the budget sees it. */
interface Slot {
  lastUsed: number;
  /** Request frames written minus response frames read (Produce with acks 0 is never answered: stays busy). */
  pending: number;
  close(): void;
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
  const { maxConnections = 6, evictAfterMs = 1000 } = options;
  for (const [k, v] of [["maxConnections", maxConnections], ["evictAfterMs", evictAfterMs]] as const) {
    if (!Number.isInteger(v) || v < (k === "maxConnections" ? 1 : 0)) {
      throw new ClientError("INVALID_CONFIG", `Invalid workerdTransport option ${k}: ${String(v)} is not a ${k === "maxConnections" ? "positive" : "non-negative"} integer`);
    }
  }
  const open = new Set<Slot>();
  let opening = 0;
  let waiters: (() => void)[] = [];
  const freed = () => { const w = waiters; waiters = []; for (const f of w) f(); };
  const lru = (idleOnly: boolean) => {
    let pick: Slot | undefined;
    for (const s of open) if ((!idleOnly || s.pending <= 0) && (!pick || s.lastUsed < pick.lastUsed)) pick = s;
    return pick;
  };
  /** Waits for room under the budget, closing an idle (or, after evictAfterMs, any) socket for it. */
  const reserve = async (): Promise<void> => {
    const since = Date.now();
    while (open.size + opening >= maxConnections) {
      const victim = lru(true) ?? (Date.now() - since >= evictAfterMs ? lru(false) : undefined);
      if (victim) { victim.close(); continue; }
      await new Promise<void>((r) => {
        const t = setTimeout(done, Math.max(1, evictAfterMs - (Date.now() - since)));
        function done() { clearTimeout(t); r(); }
        waiters.push(done);
      });
    }
    opening++;
  };

  return async (address: BrokerAddress, handlers: TransportHandlers): Promise<TransportSocket> => {
    const name = `${address.host}:${address.port}`;
    await reserve();
    const slot: Slot = { lastUsed: Date.now(), pending: 0, close: () => {} };
    let socket: WorkerdSocket;
    try {
      socket = connect({ hostname: address.host, port: address.port },
        { secureTransport: tls ? "on" : "off", allowHalfOpen: false });
      await socket.opened;
    } catch (e) {
      opening--;
      freed();
      // workerd reports a failed handshake through `opened` too, with its reason in the message.
      throw tls ? tlsError(name, e, false) : new Error(`Cannot connect to broker ${name}: ${(e as Error).message}`, { cause: e });
    }
    opening--;
    open.add(slot);
    // Response frames are counted from their size prefixes, so the budget knows an idle socket.
    let header = 0, headerFill = 0, skip = 0;
    const countResponses = (chunk: Uint8Array) => {
      for (let i = 0; i < chunk.length;) {
        if (skip > 0) { const n = Math.min(skip, chunk.length - i); skip -= n; i += n; if (skip === 0) slot.pending--; continue; }
        header = (header << 8) | chunk[i++];
        if (++headerFill === 4) { skip = header; header = 0; headerFill = 0; if (skip <= 0) { skip = 0; slot.pending--; } }
      }
    };
    const writer = socket.writable.getWriter();
    const reader = socket.readable.getReader();
    let ended = false;
    let closedByUs = false;

    const finish = (error?: Error) => {
      if (ended) return;
      ended = true;
      if (open.delete(slot)) freed();
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
          if (value && value.byteLength > 0) {
            slot.lastUsed = Date.now();
            countResponses(value);
            handlers.onData(value);
          }
        }
        error = new Error(`Connection to broker ${name} closed by the broker`);
      } catch (e) {
        error = new Error(`Connection to broker ${name} failed: ${(e as Error).message}`, { cause: e });
      }
      finish(error);
    })();

    slot.close = () => {
      // Evicted for another broker: the owner sees a lost connection and reconnects when it needs one.
      finish(new Error(`Connection to broker ${name} closed to stay within the Workers connection budget (maxConnections ${maxConnections})`));
    };
    return {
      async write(data: Uint8Array): Promise<void> {
        if (ended) throw new Error(`Cannot write to broker ${name}: the socket is closed`);
        slot.lastUsed = Date.now();
        slot.pending++; // the connection writes one whole request frame per write()
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
