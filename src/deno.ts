/** The `kafkasm` entry for Deno: the public API with `Deno.connect` as the default transport. */
import { setDefaultTransport } from "./producer/producer.ts";
import { denoTransport } from "./transport/deno.ts";

setDefaultTransport(denoTransport);

export * from "./public.ts";
export { denoTransport };
