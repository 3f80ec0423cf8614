/**
 * Brokers: one connection per broker (plus the bootstrap addresses), opened on demand. Opening =
 * connect, ApiVersions negotiation, then the `authenticate` hook (SASL) if one is given; only then is
 * the connection ready. A failed attempt holds the broker back for reconnect.backoff.ms, doubling per
 * consecutive failure up to reconnect.backoff.max.ms (with jitter); `any()` rotates through the
 * bootstrap addresses so that a dead first broker is not tried first every time.
 * SASL (the `sasl` option) is a chunk of its own, src/client/sasl/session.ts, which also re-authenticates
 * before the broker's session lifetime ends (KIP-368).
 */
import { ClientError, type KafkasmError } from "../errors.ts";
import type { BrokerAddress, Transport } from "../transport/transport.ts";
import { backoff } from "./backoff.ts";
import type { Clock } from "./clock.ts";
import { Connection, formatAddress } from "./connection.ts";
import type { SaslConfig } from "./sasl/index.ts";
import { FIRST_API_VERSIONS_VERSION, negotiateVersions, versionFor } from "./versions.ts";

/** Kafka's reconnect.backoff.ms and reconnect.backoff.max.ms defaults. */
const RECONNECT_BACKOFF_MS = 50;
const RECONNECT_BACKOFF_MAX_MS = 1000;

export interface BrokersOptions {
  /** Bootstrap addresses. */
  brokers: readonly BrokerAddress[];
  clientId: string;
  requestTimeoutMs: number;
  maxInFlight: number;
  /**
   * Runs on each new connection after ApiVersions (versions are set) and before it is ready; a
   * rejection fails the attempt with that error (SASL). It may resolve with a function to call when the
   * connection closes (SASL's re-authentication timer).
   */
  authenticate?: (conn: Connection) => Promise<void | (() => void)>;
  /** The `sasl` option: the hook is then SASL (src/client/sasl/session.ts, imported on first use). */
  sasl?: SaslConfig;
}

/** The `sasl` option as a hook; the mechanisms load on the first connection, once. */
function lazySasl(config: SaslConfig, clock: Clock): (conn: Connection) => Promise<() => void> {
  let hook: Promise<(conn: Connection) => Promise<() => void>> | undefined;
  return (conn) => (hook ??= import("./sasl/session.ts").then((m) => m.saslHook(config, { versionFor, formatAddress, clock }))).then((h) => h(conn));
}

interface Node {
  address: BrokerAddress;
  conn: Connection | null;
  /** Connect + ApiVersions + authenticate in progress. */
  opening: Promise<Connection> | null;
  /** No new attempt before this time after a failure. */
  retryAt: number;
  /** Consecutive failed attempts (the backoff's exponent). */
  failures: number;
}

/** The node's connection if it is open and done with its handshake. */
const live = (n: Node): Connection | null => (n.conn && !n.conn.isClosed && n.conn.versions && !n.opening ? n.conn : null);
const node = (address: BrokerAddress): Node => ({ address, conn: null, opening: null, retryAt: 0, failures: 0 });

export class Brokers {
  #opts: BrokersOptions;
  #transport: Transport;
  #clock: Clock;
  #addressMap: (a: BrokerAddress) => BrokerAddress;
  #nodes = new Map<number, Node>();
  #bootstrap: Node[];
  #bootstrapNext = 0;
  #closed = false;
  #apiVersionsVersion = FIRST_API_VERSIONS_VERSION;
  #authenticate: ((conn: Connection) => Promise<void | (() => void)>) | undefined;
  /** What to call when a connection closes (stops its re-authentication timer). */
  #onClosed = new Map<Connection, () => void>();
  /** Called when a connection becomes ready (again, after a re-authentication) or is lost, so the sender can act. */
  onChange: () => void = () => {};

  constructor(opts: BrokersOptions, transport: Transport, clock: Clock, addressMap?: (a: BrokerAddress) => BrokerAddress) {
    this.#opts = opts;
    this.#transport = transport;
    this.#clock = clock;
    this.#addressMap = addressMap ?? ((a) => a);
    this.#bootstrap = opts.brokers.map(node);
    this.#authenticate = opts.authenticate ?? (opts.sasl === undefined ? undefined : lazySasl(opts.sasl, clock));
  }

  /** Updates the broker list from a Metadata response. A broker whose address changed is reconnected. */
  setBrokers(list: readonly { nodeId: number; host: string; port: number }[]): void {
    for (const b of list) {
      const address = this.#addressMap({ host: b.host, port: b.port, nodeId: b.nodeId });
      const old = this.#nodes.get(b.nodeId);
      if (old && old.address.host === address.host && old.address.port === address.port) continue;
      old?.conn?.close();
      // Adopt a ready bootstrap connection to the same address instead of opening a second one.
      const boot = this.#bootstrap.find((n) => n.address.host === address.host && n.address.port === address.port && live(n));
      const n = node(address);
      if (boot) {
        n.conn = boot.conn;
        boot.conn = null;
      }
      this.#nodes.set(b.nodeId, n);
    }
  }

  has(nodeId: number): boolean {
    return this.#nodes.has(nodeId);
  }

  /** A ready connection to `nodeId`, or undefined while one is being opened (started here). */
  ready(nodeId: number): Connection | undefined {
    const n = this.#nodes.get(nodeId);
    if (!n) return undefined;
    const c = live(n);
    if (c) return c;
    if (!n.opening && this.#clock.now() >= n.retryAt) this.#open(n).catch(() => {});
    return undefined;
  }

  /** The earliest time a failed broker may be retried (for the sender's wake-up), or 0. */
  retryAt(nodeId: number): number {
    return this.#nodes.get(nodeId)?.retryAt ?? 0;
  }

  /** A ready connection to `nodeId`. */
  connect(nodeId: number): Promise<Connection> {
    const n = this.#nodes.get(nodeId);
    if (!n) return Promise.reject(new ClientError("CONNECTION_ERROR", `Broker ${nodeId} is not in the metadata`, { retriable: true }));
    const c = live(n);
    return c ? Promise.resolve(c) : this.#open(n);
  }

  /** Any broker: a ready connection if there is one, else known brokers and bootstrap addresses in turn. */
  async any(): Promise<Connection> {
    const candidates = [...this.#nodes.values(), ...this.#bootstrap];
    for (const n of candidates) if (live(n)) return n.conn!;
    let lastError: unknown;
    // Start with the next bootstrap address so that a dead first broker is not tried first every time.
    const start = this.#bootstrapNext++;
    for (let i = 0; i < candidates.length; i++) {
      try {
        return await this.#open(candidates[(start + i) % candidates.length]);
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError ?? new ClientError("CONNECTION_ERROR", "No broker to connect to", { retriable: true });
  }

  #open(n: Node): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ClientError("PRODUCER_CLOSED", "The producer is closed"));
    if (n.opening) return n.opening;
    // A bootstrap address is opened again by any() while no metadata names brokers (a coordinator
    // not available yet): reuse its connection, or the one replaced would stay open after close().
    const old = n.conn;
    if (old && !old.isClosed) {
      if (old.versions) return Promise.resolve(old);
      old.close();
    }
    const { clientId, requestTimeoutMs, maxInFlight } = this.#opts;
    const authenticate = this.#authenticate;
    // Called when the connection closes, and when it is ready again after a re-authentication.
    const conn = new Connection(n.address, this.#transport, { clientId, requestTimeoutMs, maxInFlight, clock: this.#clock }, () => {
      if (conn.isClosed) {
        if (n.conn === conn) n.conn = null;
        this.#onClosed.get(conn)?.();
        this.#onClosed.delete(conn);
      }
      this.onChange();
    });
    n.conn = conn;
    const opening = (async () => {
      try {
        await conn.connect();
        // A cluster's brokers usually run one Kafka version: start where the last connection settled.
        this.#apiVersionsVersion = await negotiateVersions(conn, this.#apiVersionsVersion);
        const onClosed = await authenticate?.(conn);
        if (onClosed) conn.isClosed ? onClosed() : this.#onClosed.set(conn, onClosed);
        n.failures = 0;
        return conn;
      } catch (e) {
        conn.close(e as KafkasmError);
        n.retryAt = this.#clock.now() + backoff(n.failures++, RECONNECT_BACKOFF_MS, RECONNECT_BACKOFF_MAX_MS, this.#clock.random());
        throw e;
      } finally {
        n.opening = null;
      }
    })();
    n.opening = opening;
    opening.then(() => this.onChange(), () => this.onChange());
    return opening;
  }

  close(): void {
    this.#closed = true;
    for (const n of [...this.#nodes.values(), ...this.#bootstrap]) n.conn?.close(new ClientError("PRODUCER_CLOSED", "The producer is closed"));
  }
}
