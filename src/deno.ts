/** The `kafkasm` entry for Deno: the public API with `Deno.connect` as the default transport (`Deno.connectTls` for the `ssl` option). */
import { setDefaultTransport } from "./producer/producer.ts";
import { denoTlsTransport, denoTransport } from "./transport/deno.ts";

setDefaultTransport(denoTransport, denoTlsTransport);

export * from "./public.ts";
export { denoTlsTransport, denoTransport };
export type { Pem, SslOption, TlsOptions } from "./transport/tls.ts";
