/**
 * Transport over WebSocket: Kafka's bytes inside binary WebSocket messages to a proxy that forwards
 * them to the broker's TCP port. Works wherever a WHATWG `WebSocket` exists (browsers, Deno, Bun,
 * Node >= 22, workerd); on Node 20 pass the `ws` package's class as `WebSocket`.
 *
 * A browser cannot dial the brokers' advertised addresses, so every broker (from the bootstrap list
 * or from Metadata) is mapped to a URL:
 *
 * @example kafkasm proxy (one proxy for every broker; the path names the broker)
 * ```ts
 * // npm run kafkasm -- proxy --listen 0.0.0.0:8080 --allow kafka1:9092,kafka2:9092 --token s3cret
 * import { Producer, websocketTransport } from "kafkasm";
 * const transport = websocketTransport({ url: "wss://proxy.example/broker/{host}:{port}", token: "s3cret" });
 * const producer = new Producer({ brokers: ["kafka1:9092"], transport });
 * ```
 *
 * @example websockify (one websockify per broker, so a map from broker to URL)
 * ```ts
 * // websockify 8001 kafka1:9092 & websockify 8002 kafka2:9092
 * import { websocketTransport } from "kafkasm";
 * const transport = websocketTransport({
 *   url: { "kafka1:9092": "ws://gw.example:8001", "kafka2:9092": "ws://gw.example:8002" },
 * });
 * // or by node id: url: (b) => `ws://gw.example:${8000 + b.nodeId}` (bootstrap addresses have nodeId -1)
 * ```
 */
import { ClientError } from "../errors.ts";
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";

/** The parts of the WHATWG WebSocket this transport uses (so `ws`'s class fits too). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: any) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * Where each broker is reached: a template with `{host}`, `{port}` and `{nodeId}` placeholders, a
 * map from `"host:port"` to URL (websockify: one per broker), or a function.
 */
export type BrokerUrl = string | Readonly<Record<string, string>> | ((address: BrokerAddress) => string);

export interface WebSocketTransportOptions {
  /** How to reach each broker; see {@link BrokerUrl}. */
  url: BrokerUrl;
  /** Bearer token for `kafkasm proxy`, sent as the subprotocol `kafkasm.bearer.<token>` (never in the URL). */
  token?: string;
  /** [protocols=["kafkasm"] when token is set, else none] Subprotocols to offer; websockify wants "binary" or none. */
  protocols?: string[];
  /** [WebSocket=globalThis.WebSocket] The WebSocket class to use (e.g. `ws`'s on Node 20). */
  WebSocket?: WebSocketConstructor;
  /** [highWaterMark=1048576] `write()` resolves once `bufferedAmount` is at or below this. */
  highWaterMark?: number;
  /** [connectTimeoutMs=10000] Time allowed for the WebSocket handshake. */
  connectTimeoutMs?: number;
  /**
   * [maxMessageBytes=1048576] Larger writes are split into several messages, so a proxy's message
   * limit never has to match the producer's maxRequestSize (the proxy forwards bytes, not frames).
   */
  maxMessageBytes?: number;
}

const OPEN = 1;
const DRAIN_POLL_MS = 5;

/** Resolves the URL for one broker. Exported for tests and for users checking their template. */
export function brokerUrl(url: BrokerUrl, address: BrokerAddress): string {
  if (typeof url === "function") return url(address);
  if (typeof url === "string") {
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    return url.replace(/\{host\}/g, host).replace(/\{port\}/g, String(address.port)).replace(/\{nodeId\}/g, String(address.nodeId));
  }
  const key = `${address.host}:${address.port}`;
  const found = url[key];
  if (found === undefined) {
    throw new Error(`Cannot connect to broker ${key}: no WebSocket URL for it in the url map (known: ${Object.keys(url).join(", ")})`);
  }
  return found;
}

const invalid = (option: string, why: string): never => {
  throw new ClientError("INVALID_CONFIG", `Invalid websocketTransport option ${option}: ${why}`);
};

/** Creates a Transport that reaches brokers through WebSocket proxies. Throws ClientError INVALID_CONFIG naming the option. */
export function websocketTransport(options: WebSocketTransportOptions): Transport {
  const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    ?? invalid("WebSocket", "none global; pass one (e.g. ws)");
  if (options.token !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(options.token)) invalid("token", "HTTP token characters only");
  const num = (k: "highWaterMark" | "connectTimeoutMs" | "maxMessageBytes", d: number): number => {
    const v = options[k] ?? d;
    return Number.isInteger(v) && v > 0 ? v : invalid(k, `${v} is not a positive integer`);
  };
  const highWaterMark = num("highWaterMark", 1 << 20), connectTimeoutMs = num("connectTimeoutMs", 1e4), maxMessageBytes = num("maxMessageBytes", 1 << 20);
  const protocols = options.protocols ?? (options.token !== undefined ? ["kafkasm"] : []);
  const offered = options.token !== undefined ? [...protocols, `kafkasm.bearer.${options.token}`] : protocols;

  return (address: BrokerAddress, handlers: TransportHandlers): Promise<TransportSocket> => {
    const name = `${address.host}:${address.port}`;
    return new Promise<TransportSocket>((resolve, reject) => {
      let url: string;
      let ws: WebSocketLike;
      try {
        url = brokerUrl(options.url, address);
        ws = offered.length > 0 ? new WS(url, offered) : new WS(url);
      } catch (err) {
        reject(new Error(`Cannot connect to broker ${name}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      ws.binaryType = "arraybuffer";
      let opened = false;
      let closedLocally = false;
      let ended = false;
      let lastError: string | undefined;
      const waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
      let poll: ReturnType<typeof setTimeout> | undefined;

      const timer = setTimeout(() => {
        if (opened) return;
        lastError = `handshake timed out after ${connectTimeoutMs} ms`;
        try { ws.close(); } catch { /* already closing */ }
        fail(new Error(`Cannot connect to broker ${name} via ${url}: ${lastError}`));
      }, connectTimeoutMs);

      function fail(err: Error): void {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        clearTimeout(poll);
        for (const w of waiters.splice(0)) w.reject(err);
        if (ws.readyState <= OPEN) { try { ws.close(1000); } catch { /* already closing */ } }
        if (opened) handlers.onClose(closedLocally ? undefined : err); else reject(err);
      }

      function drainCheck(): void {
        poll = undefined;
        if (ended) return;
        if (ws.bufferedAmount <= highWaterMark) {
          for (const w of waiters.splice(0)) w.resolve();
        } else {
          poll = setTimeout(drainCheck, DRAIN_POLL_MS);
        }
      }

      ws.onopen = () => {
        opened = true;
        clearTimeout(timer);
        resolve({
          write(data: Uint8Array): Promise<void> {
            if (ended || ws.readyState !== OPEN) {
              return Promise.reject(new Error(`Cannot write to broker ${name}: the WebSocket is closed`));
            }
            if (data.length <= maxMessageBytes) ws.send(data);
            else for (let i = 0; i < data.length; i += maxMessageBytes) ws.send(data.subarray(i, i + maxMessageBytes));
            if (ws.bufferedAmount <= highWaterMark) return Promise.resolve();
            // The WebSocket API has no drain event, so poll bufferedAmount while above the mark.
            return new Promise<void>((res, rej) => {
              waiters.push({ resolve: res, reject: rej });
              if (poll === undefined) poll = setTimeout(drainCheck, DRAIN_POLL_MS);
            });
          },
          close(): void {
            if (ended) return;
            closedLocally = true;
            // Report at once: the close handshake may take a round trip we have no reason to wait for.
            fail(new Error("closed"));
          },
        });
      };
      ws.onmessage = (ev) => {
        if (ended) return;
        const d = ev.data;
        if (d instanceof ArrayBuffer) handlers.onData(new Uint8Array(d));
        else if (ArrayBuffer.isView(d)) handlers.onData(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        else fail(new Error(`Broker ${name} via ${url} sent a non-binary WebSocket message`));
      };
      ws.onerror = (ev) => {
        lastError = (ev && (ev.message || ev.error?.message)) || lastError || "WebSocket error";
      };
      ws.onclose = (ev) => {
        const why = ev.reason ? `${ev.code} ${ev.reason}` : `code ${ev.code}${lastError ? `, ${lastError}` : ""}`;
        fail(new Error(opened
          ? `Connection to broker ${name} via ${url} closed: ${why}`
          : `Cannot connect to broker ${name} via ${url}: ${why}`));
      };
    });
  };
}
