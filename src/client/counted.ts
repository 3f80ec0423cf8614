/**
 * Observer plumbing shared by producer and consumer metrics: connection counting (with the
 * connect/disconnect hooks) and guarded hook calls.
 */
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "../transport/transport.ts";

/** What a broker's connections have done so far. */
export interface ConnectionCounters {
  connections: number;
  connects: number;
  disconnects: number;
  bytesIn: number;
  bytesOut: number;
}

/** Opens one socket through `transport`, counting it in `c` and telling `onConnect` / `onDisconnect`. */
export function dialCounted(transport: Transport, address: BrokerAddress, handlers: TransportHandlers, c: ConnectionCounters,
  onConnect: () => void, onDisconnect: (error: Error | undefined) => void): Promise<TransportSocket> {
  return transport(address, {
    onData: (chunk) => {
      // The connection's own handler deals with a transport handing it garbage; counting must not throw first.
      if (chunk instanceof Uint8Array) c.bytesIn += chunk.byteLength;
      handlers.onData(chunk);
    },
    onClose: (error) => {
      c.connections--;
      c.disconnects++;
      onDisconnect(error);
      handlers.onClose(error);
    },
  }).then((socket) => {
    c.connections++;
    c.connects++;
    onConnect();
    return {
      write: (data: Uint8Array) => { c.bytesOut += data.length; return socket.write(data); },
      close: () => socket.close(),
    };
  });
}

/**
 * Calls one of an observer's hooks. A hook is an observer: a throw is logged once (per `warned`
 * holder) and never reaches the client's drain, fetch, commit or rebalance.
 */
export function callHook(hooks: object | undefined, name: string, event: unknown, warned: { warned: boolean }, who: string): void {
  const f = (hooks as Record<string, unknown> | undefined)?.[name];
  if (typeof f !== "function") return;
  try {
    f.call(hooks, event);
  } catch (e) {
    if (warned.warned) return;
    warned.warned = true;
    globalThis.console?.warn(`kafkasm: ${who}hook ${name} threw (only this first throw is logged): ${(e as Error)?.message ?? String(e)}`);
  }
}
