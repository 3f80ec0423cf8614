/** `kafkasm/consumer` for Deno: the consumer with `Deno.connect` as the default transport. */
import { denoTransport } from "./transport/deno.ts";
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";

setDefaultConsumerTransport(denoTransport);

export * from "./consumer/public.ts";
