/**
 * An in-memory Transport for deterministic tests: a `MemoryNetwork` where servers listen on
 * "host:port" and clients connect through `network.transport`. Bytes are copied and delivered in order,
 * asynchronously (queueMicrotask), optionally split into chunks to exercise frame reassembly; closing
 * either end closes the other (the peer's onClose gets an Error, the closer's does not).
 */
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";

/** One end of an in-memory connection. */
export interface MemoryEndpoint extends TransportSocket {
  /** Closes this end; the peer's onClose receives `error` (default: "closed by peer"). */
  close(error?: Error): void;
  readonly closed: boolean;
}

export interface MemoryNetworkOptions {
  /** Split every write into chunks of at most this many bytes (default: no splitting). */
  maxChunkBytes?: number;
  /** Custom chunking of each write (overrides maxChunkBytes). */
  chunker?: (data: Uint8Array) => Uint8Array[];
}

/** What a listener gets for each accepted connection: set `handlers`, then use `socket`. */
export interface MemoryAccept {
  readonly socket: MemoryEndpoint;
  readonly client: BrokerAddress;
  /** Install the server's handlers (bytes arriving before this are buffered). */
  setHandlers(handlers: TransportHandlers): void;
}

class Side implements MemoryEndpoint {
  peer!: Side;
  handlers: TransportHandlers | null = null;
  closed = false;
  private closeNotified = false;
  private inbox: (Uint8Array | { close: Error | undefined })[] = [];
  private scheduled = false;
  constructor(private readonly split: (d: Uint8Array) => Uint8Array[]) {}

  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error("Cannot write: in-memory socket is closed"));
    for (const c of this.split(data.slice())) if (c.length > 0) this.peer.enqueue(c);
    return Promise.resolve();
  }

  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.enqueue({ close: undefined });
    if (!this.peer.closed) {
      this.peer.closed = true;
      this.peer.enqueue({ close: error ?? new Error("In-memory connection closed by peer") });
    }
  }

  enqueue(item: Uint8Array | { close: Error | undefined }): void {
    this.inbox.push(item);
    this.schedule();
  }

  setHandlers(h: TransportHandlers): void {
    this.handlers = h;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.handlers || this.inbox.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => this.drain());
  }

  // One item per microtask, so chunks interleave with other work like real socket reads would.
  private drain(): void {
    this.scheduled = false;
    const h = this.handlers;
    const item = this.inbox.shift();
    if (!h || item === undefined) return;
    if (item instanceof Uint8Array) {
      if (!this.closeNotified) h.onData(item);
    } else if (!this.closeNotified) {
      this.closeNotified = true;
      this.inbox.length = 0;
      h.onClose(item.close);
    }
    this.schedule();
  }
}

/** A set of in-memory listeners plus the Transport that connects to them. */
export class MemoryNetwork {
  private readonly listeners = new Map<string, (accept: MemoryAccept) => void>();
  private readonly split: (d: Uint8Array) => Uint8Array[];
  /** Every connection opened so far (client ends), for tests that sever them. */
  readonly connections: MemoryEndpoint[] = [];

  constructor(options: MemoryNetworkOptions = {}) {
    const max = options.maxChunkBytes;
    this.split = options.chunker ?? (max && max > 0
      ? (d) => {
        const out: Uint8Array[] = [];
        for (let i = 0; i < d.length; i += max) out.push(d.subarray(i, i + max));
        return out;
      }
      : (d) => [d]);
  }

  /** Accepts connections to `host:port`; returns a function that stops listening. */
  listen(host: string, port: number, onAccept: (accept: MemoryAccept) => void): () => void {
    const key = `${host}:${port}`;
    if (this.listeners.has(key)) throw new Error(`Cannot listen on ${key}: already in use`);
    this.listeners.set(key, onAccept);
    return () => {
      if (this.listeners.get(key) === onAccept) this.listeners.delete(key);
    };
  }

  /** The Transport: connects to a listener, or rejects naming the address when none listens. */
  readonly transport: Transport = (address: BrokerAddress, handlers: TransportHandlers): Promise<TransportSocket> => {
    const key = `${address.host}:${address.port}`;
    const onAccept = this.listeners.get(key);
    if (!onAccept) return Promise.reject(new Error(`Cannot connect to ${key}: connection refused (no in-memory listener)`));
    const client = new Side(this.split);
    const server = new Side(this.split);
    client.peer = server;
    server.peer = client;
    client.setHandlers(handlers);
    this.connections.push(client);
    return new Promise((resolve) => {
      queueMicrotask(() => {
        onAccept({ socket: server, client: address, setHandlers: (h) => server.setHandlers(h) });
        resolve(client);
      });
    });
  };
}
