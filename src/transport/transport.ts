/**
 * The one seam between the sans-IO producer and a runtime's sockets. Each runtime has a small leaf
 * (`node.ts`, `deno.ts`, `bun.ts`, `workerd.ts`, `websocket.ts`, `memory.ts`) that implements it;
 * nothing in `src/protocol/` or `src/producer/` imports a leaf.
 */

/** A broker to reach: the address from the bootstrap list or from Metadata, and its node id if known. */
export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
  /** Kafka node id; -1 for a bootstrap address not yet matched to a broker. */
  readonly nodeId: number;
}

/** What a transport tells the connection about. Called on the runtime's event loop, never re-entrantly. */
export interface TransportHandlers {
  /** Bytes from the broker, in arbitrary chunking; the connection reassembles Kafka frames. */
  onData(chunk: Uint8Array): void;
  /** The connection ended; `error` says why when it was not a local `close()`. Called once. */
  onClose(error?: Error): void;
}

/** An open byte stream to one broker. */
export interface TransportSocket {
  /**
   * Sends bytes. Resolves once the runtime has accepted them (its buffer drained below its high
   * water mark), so awaiting it is the backpressure signal. Rejects if the socket is closed.
   */
  write(data: Uint8Array): Promise<void>;
  /** Closes the socket; `onClose` follows without an error. */
  close(): void;
}

/**
 * Opens a socket to a broker. Rejects (it does not throw synchronously) when the connection cannot be
 * made, with an Error whose message names the address.
 */
export type Transport = (address: BrokerAddress, handlers: TransportHandlers) => Promise<TransportSocket>;
