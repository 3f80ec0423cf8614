/** `kafkasm/consumer` for Deno: the consumer with `Deno.connect` as the default transport. */
import { denoTransport } from "./transport/deno.ts";
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";
import { setNativeZstd } from "./compression/native.ts";
import { nodeZstd } from "./compression/zstd-node.ts";

setDefaultConsumerTransport(denoTransport);
// zstd by the runtime's own library where node:zlib has it (else its WebAssembly build).
setNativeZstd(nodeZstd);

export * from "./consumer/public.ts";
