/**
 * The `kafkasm` entry for Cloudflare Workers / workerd: the public API with `connect()` from
 * `cloudflare:sockets` as the default transport, and the codec's WebAssembly imported as a module
 * (Workers forbid compiling WebAssembly from bytes, so the inline base64 copies cannot be used here);
 * the same for the snappy, lz4 and zstd codecs' modules.
 *
 * @example
 * ```ts
 * import { Producer } from "kafkasm"; // resolves here through the "workerd" export condition
 * export default {
 *   async fetch() {
 *     const producer = new Producer({ brokers: ["kafka.example:9092"] });
 *     await producer.send({ topic: "hits", value: "hello" });
 *     await producer.close();
 *     return new Response("ok");
 *   },
 * };
 * ```
 */
// @ts-ignore -- a workerd built-in module; it exists only inside workerd.
import { connect } from "cloudflare:sockets";
// @ts-ignore -- workerd (and the bundle in dist/workerd/) import .wasm files as compiled modules.
import wasmModule from "../build/kafkasm.wasm";
// @ts-ignore -- the compression codecs' modules likewise (compiled by workerd, instantiated on first use).
import snappyModule from "../build/snappy.wasm";
// @ts-ignore
import lz4Module from "../build/lz4.wasm";
// @ts-ignore
import zstdModule from "../build/zstd.wasm";
import { setDefaultCodecSource } from "../bindings/codec.ts";
import { setCompressionSource } from "../bindings/compression.ts";
import { setDefaultTransport } from "./producer/producer.ts";
import { workerdTransport, type WorkerdConnect } from "./transport/workerd.ts";

setDefaultCodecSource(wasmModule as WebAssembly.Module);
setCompressionSource("snappy", snappyModule as WebAssembly.Module);
setCompressionSource("lz4", lz4Module as WebAssembly.Module);
setCompressionSource("zstd", zstdModule as WebAssembly.Module);
setDefaultTransport(workerdTransport(connect as WorkerdConnect), (ssl) => workerdTransport(connect as WorkerdConnect, { tls: ssl }));

export * from "./public.ts";
export { workerdTransport };
export type { Pem, SslOption, TlsOptions } from "./transport/tls.ts";
export { websocketTransport, type WebSocketTransportOptions } from "./transport/websocket.ts";
export { writable, type WritableOptions, type WritableRecord } from "./producer/writable.ts";
