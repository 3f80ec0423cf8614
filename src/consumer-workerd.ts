/**
 * `kafkasm/consumer` for workerd (Cloudflare Workers): `cloudflare:sockets` as the default transport.
 * The main workerd entry is imported for its WASM module wiring (Workers cannot compile bytes).
 * Consume per request or in a Durable Object alarm: `close()` before the handler returns.
 */
import "./workerd.ts";
// @ts-ignore -- a workerd built-in module; it exists only inside workerd.
import { connect } from "cloudflare:sockets";
import { workerdTransport, type WorkerdConnect } from "./transport/workerd.ts";
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";

setDefaultConsumerTransport(workerdTransport(connect as WorkerdConnect));

export * from "./consumer/public.ts";
