/** `kafkasm/consumer` for Node: the consumer with `node:net` as the default transport. */
import { nodeTransport } from "./transport/node.ts";
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";
import { setNativeZstd } from "./compression/native.ts";
import { nodeZstd } from "./compression/zstd-node.ts";

setDefaultConsumerTransport(nodeTransport);
// zstd by the runtime's own library where node:zlib has it (else its WebAssembly build).
setNativeZstd(nodeZstd);

export * from "./consumer/public.ts";
