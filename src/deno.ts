/** The `kafkasm` entry for Deno: the public API with `Deno.connect` as the default transport (`Deno.connectTls` for the `ssl` option). */
import { setDefaultTransport } from "./producer/producer.ts";
import { denoTlsTransport, denoTransport } from "./transport/deno.ts";
import { setCompressionThread } from "./compression/worker.ts";
import { nodeCompressionThread } from "./compression/worker-node.ts";

setDefaultTransport(denoTransport, denoTlsTransport);
// snappy/lz4/zstd batches compressed on a node:worker_threads thread (compressionThreads); from source, the .ts entry.
setCompressionThread(nodeCompressionThread(new URL(import.meta.url.endsWith(".ts") ? "./compression/worker-entry.ts" : "./compression-worker.js", import.meta.url)));

export * from "./public.ts";
export { denoTlsTransport, denoTransport };
export type { Pem, SslOption, TlsOptions } from "./transport/tls.ts";
