/** The `kafkasm` entry for Node and Bun: the public API with `node:net` as the default transport. */
import { setDefaultTransport } from "./producer/producer.ts";
import { nodeTransport } from "./transport/node.ts";

setDefaultTransport(nodeTransport);

export * from "./public.ts";
export { nodeTransport };
