/**
 * One broker connection (producer, consumer, CLI): Kafka framing over a `Transport`, correlation ids, at most `maxInFlight`
 * requests awaiting a response (more wait in a queue), each with a `requestTimeoutMs` deadline on the
 * injected clock. Responses are matched by correlation id. A request timeout closes the connection
 * (as the Java client does: later responses on it can no longer be trusted), and a lost connection
 * fails every request awaiting a response with a retriable CONNECTION_ERROR.
 */
import { ClientError, KafkasmError } from "../errors.ts";
import type { Api } from "../protocol/api.ts";
import { decodeResponseFrame, encodeRequestFrame, FrameReader, readResponseCorrelationId } from "../protocol/frame.ts";
import type { BrokerAddress, Transport, TransportSocket } from "../transport/transport.ts";
import type { Clock, TimerHandle } from "./clock.ts";

/** A request from `request()` until its answer: queued with its frame, then in flight (frame dropped). */
interface Pending {
  correlationId: number;
  api: Api<any, any>;
  version: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** When it times out: requests go out in order with one timeout, so the oldest is due first. */
  deadline: number;
  frame: Uint8Array | null;
  /** Sent while the connection is exclusive (re-authentication's own requests). */
  first: boolean;
}

export interface ConnectionOptions {
  clientId: string;
  requestTimeoutMs: number;
  maxInFlight: number;
  clock: Clock;
}

/** The API versions a broker supports, by apiKey. */
export type VersionRanges = Map<number, { minVersion: number; maxVersion: number }>;

export class Connection {
  // `declare`: not defined until assigned; a bare field definition would cost browser bundle bytes.
  declare readonly address: BrokerAddress;
  /** Filled by the owner after the ApiVersions handshake. */
  declare versions: VersionRanges | undefined;
  #transport: Transport;
  #opts: ConnectionOptions;
  #socket: TransportSocket | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #closeError: KafkasmError | undefined;
  #nextCorrelationId = 1;
  #pending = new Map<number, Pending>();
  #timer: TimerHandle | undefined;
  #unanswered = new Set<number>();
  #queue: Pending[] = [];
  /** Re-authenticating (KIP-368): only requests sent `first` go out; the rest wait in the queue. */
  #exclusive = false;
  /** Resolves once nothing is in flight, for `exclusive()`. */
  #drained: (() => void) | undefined;
  // At most 100 MiB a frame; one too short for a correlation id fails in #frame.
  #frames = new FrameReader();
  // Created once: onData runs per socket chunk. True stops the reader once the connection closed.
  #onFrame = (frame: Uint8Array): boolean => (this.#frame(frame), this.#closed);
  #onChange: ((conn: Connection, error?: KafkasmError) => void) | undefined;

  /**
   * `onChange` runs when the connection closes (with the error given to close), and also, while open
   * (check `isClosed`), when it takes requests again after `exclusive()`: an owner that saw no capacity
   * meanwhile (the sender) waits for that, as no response would wake it.
   */
  constructor(address: BrokerAddress, transport: Transport, opts: ConnectionOptions, onChange?: (conn: Connection, error?: KafkasmError) => void) {
    this.address = address;
    this.#transport = transport;
    this.#opts = opts;
    this.#onChange = onChange;
  }

  /** Requests sent and awaiting a response. */
  get inFlight(): number {
    return this.#pending.size;
  }
  /** Whether another request can go out now without queueing. */
  get hasCapacity(): boolean {
    return !this.#closed && !this.#exclusive && this.#pending.size < this.#opts.maxInFlight && this.#queue.length === 0;
  }
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Opens the socket (once); rejects with a retriable CONNECTION_ERROR, or the transport's own non-retriable error (TLS). */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closeError ?? closedError(this.address));
    if (this.#connecting) return this.#connecting;
    const { clock, requestTimeoutMs } = this.#opts;
    this.#connecting = new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        const err = new ClientError("CONNECTION_ERROR", `Cannot connect to ${fmt(this.address)}: no connection within ${requestTimeoutMs} ms`, { retriable: true });
        this.close(err);
        reject(err);
      }, requestTimeoutMs);
      this.#transport(this.address, {
        // Called by the runtime's socket: a throw would reach the host process, so it closes this connection instead.
        onData: (chunk) => {
          try {
            if (!this.#closed) this.#frames.push(chunk, this.#onFrame);
          } catch (e) {
            this.close(protocolError(e, this.address, "a response"));
          }
        },
        onClose: (error) => this.#lost(error),
      }).then((socket) => {
        clock.clearTimeout(timer);
        if (settled || this.#closed) {
          socket.close();
          if (!settled) { settled = true; reject(this.#closeError ?? closedError(this.address)); }
          return;
        }
        settled = true;
        this.#socket = socket;
        resolve();
        this.#pump();
      }, (e: unknown) => {
        clock.clearTimeout(timer);
        if (settled) return;
        settled = true;
        // A non-retriable error from the transport (an untrusted certificate) stays so: retrying cannot fix it.
        const err = e instanceof KafkasmError && !e.retriable ? e
          : new ClientError("CONNECTION_ERROR", `Cannot connect to ${fmt(this.address)}: ${(e as Error)?.message ?? String(e)}`, { retriable: true, cause: e });
        this.close(err);
        reject(err);
      });
    });
    return this.#connecting;
  }

  /**
   * Sends one request and resolves with the decoded response. With `expectResponse` false (Produce
   * with acks 0, where the broker sends nothing back) it resolves with `undefined` once written.
   * `first`: goes out ahead of the queue even while the connection is exclusive (see `exclusive`).
   */
  request<Req, Res>(api: Api<Req, Res>, version: number, request: Req, expectResponse = true, first = false): Promise<Res> {
    if (this.#closed) return Promise.reject(this.#closeError ?? closedError(this.address));
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = correlationId === 0x7fffffff ? 1 : correlationId + 1;
    let frame: Uint8Array;
    try {
      frame = encodeRequestFrame(api, version, correlationId, this.#opts.clientId, request);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!expectResponse) {
      if (!this.#socket) return Promise.reject(closedError(this.address));
      // Some brokers (librdkafka's mock) answer acks=0 anyway: remember the id so the answer is ignored.
      this.#unanswered.add(correlationId);
      if (this.#unanswered.size > 1024) this.#unanswered.delete(this.#unanswered.values().next().value!);
      return this.#socket.write(frame).then(() => undefined as Res, (e) => {
        const err = new ClientError("CONNECTION_ERROR", `Cannot write to ${fmt(this.address)}: ${(e as Error)?.message ?? String(e)}`, { retriable: true, cause: e });
        this.close(err);
        throw err;
      });
    }
    return new Promise<Res>((resolve, reject) => {
      const pending: Pending = {
        correlationId, api, version, resolve: resolve as (v: unknown) => void, reject, deadline: 0, frame, first,
      };
      if (first) this.#queue.unshift(pending);
      else this.#queue.push(pending);
      this.#pump();
    });
  }

  /** Sends queued requests while there is room in flight. */
  #pump(): void {
    const socket = this.#socket;
    if (!socket || this.#closed) return;
    const { clock, maxInFlight } = this.#opts;
    while (this.#queue.length > 0 && this.#pending.size < maxInFlight) {
      if (this.#exclusive && !this.#queue[0]!.first) break;
      const pending = this.#queue.shift()!;
      const frame = pending.frame!;
      pending.frame = null; // held by the transport from here, not by us while in flight
      this.#pending.set(pending.correlationId, pending);
      pending.deadline = clock.now() + this.#opts.requestTimeoutMs;
      // One timer per connection, not one per request (a timer costs allocations and a heap insert).
      this.#timer ??= clock.setTimeout(this.#checkTimeouts, this.#opts.requestTimeoutMs);
      socket.write(frame).catch(this.#writeFailed);
    }
  }

  /** A write the transport refused: the connection is lost (one handler for every write, not a closure each). */
  #writeFailed = (e: unknown): void => {
    this.close(new ClientError("CONNECTION_ERROR", `Cannot write to ${fmt(this.address)}: ${(e as Error)?.message ?? String(e)}`, { retriable: true, cause: e }));
  };

  /** The connection's one request timer: fails the oldest request if it is due, else waits for it. */
  #checkTimeouts = (): void => {
    this.#timer = undefined;
    for (const p of this.#pending.values()) {
      const left = p.deadline - this.#opts.clock.now();
      if (left > 0) {
        this.#timer = this.#opts.clock.setTimeout(this.#checkTimeouts, left);
        return;
      }
      this.#pending.delete(p.correlationId);
      p.reject(new ClientError("REQUEST_TIMEOUT", `${p.api.name} request to ${fmt(this.address)} got no response within ${this.#opts.requestTimeoutMs} ms`, { retriable: true }));
      this.close(new ClientError("CONNECTION_ERROR", `Connection to ${fmt(this.address)} closed after a request timed out`, { retriable: true }));
      return;
    }
  };

  #frame(frame: Uint8Array): void {
    let correlationId: number;
    try {
      correlationId = readResponseCorrelationId(frame);
    } catch (e) {
      this.close(protocolError(e, this.address, "a response"));
      return;
    }
    const p = this.#pending.get(correlationId);
    if (!p) {
      if (this.#unanswered.delete(correlationId)) return;
      this.close(new ClientError("PROTOCOL_ERROR", `Broker ${fmt(this.address)} answered correlation id ${correlationId}, which no request is waiting for`, { retriable: true }));
      return;
    }
    this.#pending.delete(correlationId);
    let res: unknown;
    try {
      res = decodeResponseFrame(p.api, p.version, frame);
    } catch (e) {
      // The frame was size-delimited and matched a request, so the stream is still in sync: fail
      // only this request (the ApiVersions handshake relies on that to fall back to v0). Retriable,
      // like a lost response: the request may or may not have taken effect.
      p.reject(protocolError(e, this.address, `a ${p.api.name} v${p.version} response`));
      this.#answered();
      return;
    }
    p.resolve(res);
    this.#answered();
  }

  #answered(): void {
    if (this.#drained && this.#pending.size === 0) this.#drained();
    this.#pump();
  }

  /**
   * Runs `fn` alone on the connection (KIP-368 re-authentication, as Java's KafkaChannel does): from now
   * on new requests wait in the queue, those in flight complete first, then `fn` runs with its own
   * requests sent `first`; afterwards the queue goes out. Nothing in flight is dropped.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#exclusive) throw new ClientError("ILLEGAL_STATE", `Connection to ${fmt(this.address)} is already exclusive`);
    this.#exclusive = true;
    try {
      // Left set afterwards (bundle bytes): #answered and close() calling it again resolve nothing.
      if (this.#pending.size > 0 && !this.#closed) await new Promise<void>((resolve) => { this.#drained = resolve; });
      return await fn();
    } finally {
      this.#exclusive = false;
      this.#pump();
      this.#closed || this.#onChange?.(this);
    }
  }

  #lost(error: Error | undefined): void {
    if (this.#closed) return;
    this.close(new ClientError("CONNECTION_ERROR", `Connection to ${fmt(this.address)} lost${error ? `: ${error.message}` : ""}`, { retriable: true, cause: error }));
  }

  /** Closes the socket and fails every request still waiting (with `error`, or a retriable CONNECTION_ERROR). */
  close(error?: KafkasmError): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = error ?? closedError(this.address);
    this.#closeError = err;
    const socket = this.#socket;
    this.#socket = undefined;
    const failed = [...this.#pending.values(), ...this.#queue];
    this.#pending.clear();
    this.#queue.length = 0;
    this.#opts.clock.clearTimeout(this.#timer);
    for (const p of failed) p.reject(err);
    try { socket?.close(); } catch { /* already closed */ }
    this.#drained?.(); // exclusive()'s fn then fails on the closed connection
    this.#onChange?.(this, error);
  }
}

function fmt(a: BrokerAddress): string {
  return a.nodeId >= 0 ? `broker ${a.nodeId} (${a.host}:${a.port})` : `${a.host}:${a.port}`;
}

function closedError(a: BrokerAddress): ClientError {
  return new ClientError("CONNECTION_ERROR", `Connection to ${fmt(a)} is closed`, { retriable: true });
}

/** Bytes that do not parse are a transport failure as far as the request is concerned: retriable. */
function protocolError(e: unknown, a: BrokerAddress, what: string): ClientError {
  return new ClientError("PROTOCOL_ERROR", `Cannot decode ${what} from ${fmt(a)}: ${(e as Error)?.message ?? String(e)}`, { retriable: true, cause: e });
}

export { fmt as formatAddress };
