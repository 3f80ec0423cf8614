/** Transport over `node:net` (Node and Bun): Nagle off, `write()` resolves when the socket accepted the bytes. */
import { connect as netConnect, type Socket } from "node:net";
import type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport.ts";

class NodeSocket implements TransportSocket {
  #socket: Socket;
  #closed = false;
  constructor(socket: Socket) {
    this.#socket = socket;
  }
  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot write: the socket is closed"));
    return new Promise((resolve, reject) => {
      // The callback fires once the bytes are handed to the OS (or on error): the backpressure signal.
      this.#socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.end();
    this.#socket.destroy();
  }
  markClosed(): void {
    this.#closed = true;
  }
}

/** Opens a TCP connection with `node:net`. */
export const nodeTransport: Transport = (address: BrokerAddress, handlers: TransportHandlers) =>
  new Promise<TransportSocket>((resolve, reject) => {
    const socket = netConnect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    let opened = false;
    let closed = false;
    let lastError: Error | undefined;
    const wrapper = new NodeSocket(socket);
    socket.once("connect", () => {
      opened = true;
      resolve(wrapper);
    });
    socket.on("data", (chunk: Buffer) => handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    socket.on("error", (err) => {
      lastError = err;
      if (!opened) reject(new Error(`Cannot connect to ${address.host}:${address.port}: ${err.message}`, { cause: err }));
    });
    socket.on("close", () => {
      wrapper.markClosed();
      if (!opened) {
        if (!lastError) reject(new Error(`Cannot connect to ${address.host}:${address.port}: connection closed`));
        return;
      }
      if (closed) return;
      closed = true;
      handlers.onClose(lastError);
    });
    socket.on("end", () => {
      if (!lastError) lastError = new Error(`Connection to ${address.host}:${address.port} closed by the broker`);
    });
  });
