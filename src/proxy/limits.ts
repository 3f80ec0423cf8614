/**
 * Per-client limits, shared by all connections of one client address: the connection count and two
 * token buckets (client → broker, broker → client).
 */
import type { ProxyClock } from "./clock.ts";

/** A token bucket holding at most `capacity` tokens (bytes), refilled at `rate` per second. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(readonly rate: number, readonly capacity: number, private readonly clock: ProxyClock) {
    this.tokens = capacity;
    this.last = clock.now();
  }

  /** Tokens available now (refilled up to capacity). */
  available(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    return this.tokens;
  }

  take(n: number): void {
    this.available();
    this.tokens -= n;
  }

  /** Milliseconds until `n` tokens are available (0 = now). */
  waitFor(n: number): number {
    const missing = n - this.available();
    return missing > 0 ? Math.ceil((missing / this.rate) * 1000) : 0;
  }

  get full(): boolean {
    return this.available() >= this.capacity;
  }
}

/** What one client address holds across its connections. */
export interface ClientState {
  connections: number;
  /** Client → broker and broker → client buckets; undefined without a bytesPerSecond limit. */
  up?: TokenBucket;
  down?: TokenBucket;
}

/** Client states by address. An idle client's state lives on until its buckets are full again, so reconnecting does not refill them. */
export class ClientTable {
  private readonly clients = new Map<string, ClientState>();

  constructor(private readonly bytesPerSecond: number, private readonly clock: ProxyClock) {}

  connections(client: string): number {
    return this.clients.get(client)?.connections ?? 0;
  }

  acquire(client: string): ClientState {
    let s = this.clients.get(client);
    if (!s) {
      if (this.clients.size >= 4096) this.sweep();
      s = { connections: 0 };
      if (this.bytesPerSecond > 0) {
        s.up = new TokenBucket(this.bytesPerSecond, this.bytesPerSecond, this.clock);
        s.down = new TokenBucket(this.bytesPerSecond, this.bytesPerSecond, this.clock);
      }
      this.clients.set(client, s);
    }
    s.connections++;
    return s;
  }

  release(client: string): void {
    const s = this.clients.get(client);
    if (!s) return;
    s.connections--;
    if (s.connections <= 0 && this.idle(s)) this.clients.delete(client);
  }

  private idle(s: ClientState): boolean {
    return s.connections <= 0 && (!s.up || s.up.full) && (!s.down || s.down.full);
  }

  // Drops states of clients with no connection and full buckets (they would start the same way anew).
  private sweep(): void {
    for (const [k, s] of this.clients) if (this.idle(s)) this.clients.delete(k);
  }
}

/**
 * Passes bytes on at most at its bucket's rate: what the bucket cannot cover now is held (the source
 * paused meanwhile) and released in slices as tokens accrue, so one large message cannot burst
 * past the limit. Holds at most what the source had already read when it was paused.
 */
export class Throttle {
  private held: Uint8Array[] = [];
  private timer: unknown;
  private stopped = false;

  constructor(private readonly bucket: TokenBucket, private readonly clock: ProxyClock,
              private readonly pass: (bytes: Uint8Array) => void,
              private readonly pause: () => void, private readonly resume: () => void,
              private readonly onThrottled: () => void) {}

  /** Bytes held back, waiting for tokens. */
  get heldBytes(): number {
    return this.held.reduce((n, b) => n + b.length, 0);
  }

  push(bytes: Uint8Array): void {
    if (this.stopped) return;
    if (this.held.length > 0) { this.held.push(bytes); return; }
    const now = Math.floor(this.bucket.available());
    if (now >= bytes.length) {
      this.bucket.take(bytes.length);
      this.pass(bytes);
      return;
    }
    this.onThrottled();
    this.held.push(bytes);
    this.pause();
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.held = [];
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  // Slices of at least min(16 KiB, rate) bytes, so a slow limit does not forward byte by byte.
  private pump = (): void => {
    this.timer = undefined;
    while (!this.stopped && this.held.length > 0) {
      const head = this.held[0];
      const slice = Math.min(head.length, Math.max(1, Math.min(16384, this.bucket.capacity)));
      const wait = this.bucket.waitFor(slice);
      if (wait > 0) { this.timer = this.clock.setTimeout(this.pump, wait); return; }
      const n = Math.min(head.length, Math.floor(this.bucket.available()));
      this.bucket.take(n);
      if (n === head.length) this.held.shift(); else this.held[0] = head.subarray(n);
      this.pass(n === head.length ? head : head.subarray(0, n));
    }
    if (!this.stopped) this.resume();
  };
}
