/** The `kafkasm` entry for Bun: the public API with `Bun.connect` (native TCP) as the default transport (`Bun.connect({ tls })` for the `ssl` option). */
import { setDefaultTransport } from "./producer/producer.ts";
import { bunTlsTransport, bunTransport } from "./transport/bun.ts";
import { setCompressionThread } from "./compression/worker.ts";
import { nodeCompressionThread } from "./compression/worker-node.ts";

setDefaultTransport(bunTransport, bunTlsTransport);
// snappy/lz4/zstd batches compressed on a node:worker_threads thread (compressionThreads); from source, the .ts entry.
setCompressionThread(nodeCompressionThread(new URL(import.meta.url.endsWith(".ts") ? "./compression/worker-entry.ts" : "./compression-worker.js", import.meta.url)));

export * from "./public.ts";
export { bunTlsTransport, bunTransport };
export type { Pem, SslOption, TlsOptions } from "./transport/tls.ts";
export { websocketTransport, type WebSocketTransportOptions } from "./transport/websocket.ts";
export { writable, type WritableOptions, type WritableRecord } from "./producer/writable.ts";
