/** The `kafkasm` entry for Node: the public API with `node:net` (`node:tls` for the `ssl` option) as the default transport. */
import { setDefaultTransport } from "./producer/producer.ts";
import { nodeTlsTransport, nodeTransport } from "./transport/node.ts";
import { setCompressionThread } from "./compression/worker.ts";
import { nodeCompressionThread } from "./compression/worker-node.ts";

setDefaultTransport(nodeTransport, nodeTlsTransport);
// snappy/lz4/zstd batches compressed on a node:worker_threads thread (compressionThreads); from source, the .ts entry.
setCompressionThread(nodeCompressionThread(new URL(import.meta.url.endsWith(".ts") ? "./compression/worker-entry.ts" : "./compression-worker.js", import.meta.url)));

export * from "./public.ts";
export { nodeTlsTransport, nodeTransport };
export type { Pem, SslOption, TlsOptions } from "./transport/tls.ts";
