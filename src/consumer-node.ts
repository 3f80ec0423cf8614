/** `kafkasm/consumer` for Node: the consumer with `node:net` as the default transport. */
import { nodeTransport } from "../transport/node.ts";
import { setDefaultConsumerTransport } from "./consumer.ts";

setDefaultConsumerTransport(nodeTransport);

export * from "./public.ts";
