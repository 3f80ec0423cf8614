/** `kafkasm/consumer` for Bun: the consumer with `Bun.connect` as the default transport. */
import { bunTransport } from "./transport/bun.ts";
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";

setDefaultConsumerTransport(bunTransport);

export * from "./consumer/public.ts";
