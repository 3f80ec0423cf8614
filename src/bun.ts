/** The `kafkasm` entry for Bun: the public API with `Bun.connect` (native TCP) as the default transport. */
import { setDefaultTransport } from "./producer/producer.ts";
import { bunTransport } from "./transport/bun.ts";

setDefaultTransport(bunTransport);

export * from "./public.ts";
export { bunTransport };
export { websocketTransport, type WebSocketTransportOptions } from "./transport/websocket.ts";
export { writable, type WritableOptions, type WritableRecord } from "./producer/writable.ts";
