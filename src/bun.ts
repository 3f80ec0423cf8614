/** The `kafkasm` entry for Bun: the public API with `Bun.connect` (native TCP) as the default transport (`Bun.connect({ tls })` for the `ssl` option). */
import { setDefaultTransport } from "./producer/producer.ts";
import { bunTlsTransport, bunTransport } from "./transport/bun.ts";

setDefaultTransport(bunTransport, bunTlsTransport);

export * from "./public.ts";
export { bunTlsTransport, bunTransport };
export type { Pem, SslOption, TlsOptions } from "./transport/tls.ts";
export { websocketTransport, type WebSocketTransportOptions } from "./transport/websocket.ts";
export { writable, type WritableOptions, type WritableRecord } from "./producer/writable.ts";
