/** The `kafkasm` entry for Node: the public API with `node:net` (`node:tls` for the `ssl` option) as the default transport. */
import { setDefaultTransport } from "./producer/producer.ts";
import { nodeTlsTransport, nodeTransport } from "./transport/node.ts";

setDefaultTransport(nodeTransport, nodeTlsTransport);

export * from "./public.ts";
export { nodeTlsTransport, nodeTransport };
export type { Pem, SslOption, TlsOptions } from "./transport/tls.ts";
