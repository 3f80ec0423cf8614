/**
 * The `kafkasm` entry for browsers (and any runtime without raw TCP but with a WebSocket): the public
 * API with the WebSocket transport as the default. The default reaches every broker through a
 * `kafkasm proxy` on the page's own origin (`wss://<page host>/broker/{host}:{port}`); pass
 * `transport: websocketTransport({ url, token })` for any other proxy or for websockify.
 *
 * @example
 * ```ts
 * import { Producer, websocketTransport, flushOnPageHide } from "kafkasm";
 * declare const token: string, userId: string, event: object; // the page's
 * const producer = new Producer({
 *   brokers: ["kafka1:9092"],
 *   transport: websocketTransport({ url: "wss://proxy.example/broker/{host}:{port}", token }),
 *   lingerMs: 50,
 * });
 * flushOnPageHide(producer);
 * producer.produce({ topic: "clicks", key: userId, value: JSON.stringify(event) });
 * ```
 */
import { setDefaultTransport } from "./producer/producer.ts";
import type { Transport } from "./transport/transport.ts";
import { websocketTransport } from "./transport/websocket.ts";

let sameOrigin: Transport | undefined;
/** The default: a kafkasm proxy on the page's origin, created on first use (needs `location`). */
const sameOriginTransport: Transport = (address, handlers) => {
  if (!sameOrigin) {
    const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
    if (!loc) return Promise.reject(new Error("Cannot connect: no default proxy URL without `location`; pass transport: websocketTransport({ url })"));
    const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
    sameOrigin = websocketTransport({ url: `${scheme}//${loc.host}/broker/{host}:{port}` });
  }
  return sameOrigin(address, handlers);
};
setDefaultTransport(sameOriginTransport);

export * from "./public.ts";

/** What {@link flushOnPageHide} needs: `Producer` fits. */
export interface Flushable {
  flush(): Promise<void>;
}

/**
 * Flushes `producer` when the page is hidden or unloaded (`visibilitychange` to hidden, `pagehide`):
 * the last moment a page can reliably run code, so lingering batches are sent instead of lost with
 * the tab. Returns a function that removes the listeners.
 */
export function flushOnPageHide(producer: Flushable): () => void {
  const g = globalThis as unknown as {
    addEventListener?(type: string, fn: () => void): void;
    removeEventListener?(type: string, fn: () => void): void;
    document?: { visibilityState?: string };
  };
  if (!g.addEventListener || !g.removeEventListener) return () => {};
  const onPageHide = () => { void producer.flush(); };
  // visibilitychange fires at document and bubbles to window.
  const onVisibility = () => { if (g.document?.visibilityState === "hidden") void producer.flush(); };
  g.addEventListener("pagehide", onPageHide);
  g.addEventListener("visibilitychange", onVisibility);
  return () => {
    g.removeEventListener!("pagehide", onPageHide);
    g.removeEventListener!("visibilitychange", onVisibility);
  };
}
