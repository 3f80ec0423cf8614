/**
 * `kafkasm/consumer` for browsers: the consumer with the WebSocket transport as the default, reaching
 * every broker through a `kafkasm proxy` on the page's own origin. The proxy must allow consumers
 * (`consumer: { groups, topics }`, `--consumer-groups`): its gate refuses Fetch and the group APIs otherwise.
 * A separate bundle from the producer's `kafkasm`, so pages that only produce never load it.
 *
 * @example
 * ```ts
 * import { Consumer, websocketTransport } from "kafkasm/consumer";
 * declare const token: string;
 * const consumer = new Consumer({ brokers: ["kafka1:9092"], groupId: "web-dashboard", topics: ["clicks"],
 *   transport: websocketTransport({ url: "wss://proxy.example/broker/{host}:{port}", token }) });
 * for await (const record of consumer) console.log(record.offset);
 * ```
 */
import { setDefaultConsumerTransport } from "./consumer/consumer.ts";
import type { Transport } from "./transport/transport.ts";
import { websocketTransport } from "./transport/websocket.ts";

let sameOrigin: Transport | undefined;
/** The default: a kafkasm proxy on the page's origin, created on first use (needs `location`). */
const sameOriginTransport: Transport = (address, handlers) => {
  if (!sameOrigin) {
    const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
    if (!loc) return Promise.reject(new Error("Cannot connect: no default proxy URL without `location`; pass transport: websocketTransport({ url })"));
    sameOrigin = websocketTransport({ url: `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/broker/{host}:{port}` });
  }
  return sameOrigin(address, handlers);
};
setDefaultConsumerTransport(sameOriginTransport);

export * from "./consumer/public.ts";
export { websocketTransport, type BrokerUrl, type WebSocketConstructor, type WebSocketTransportOptions } from "./transport/websocket.ts";
