/** `kafkasm/consumer` for Bun: the consumer with `Bun.connect` as the default transport. */
import { bunTransport } from "./transport/bun.ts";
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";
import { setNativeZstd } from "./compression/native.ts";
import { nodeZstd } from "./compression/zstd-node.ts";

setDefaultConsumerTransport(bunTransport);
// zstd by the runtime's own library where node:zlib has it (else its WebAssembly build).
setNativeZstd(nodeZstd);

export * from "./consumer/public.ts";
