/** `kafkasm/consumer` for Node: the consumer with `node:net` as the default transport. */
import { nodeTransport } from "./transport/node.ts";
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";

setDefaultConsumerTransport(nodeTransport);

export * from "./consumer/public.ts";
