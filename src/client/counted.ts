/**
 * Connection counting for `metrics()` and the connect/disconnect hooks of producer and consumer:
 * one socket through `transport`, its opens, closes and bytes added to `counters`.
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
