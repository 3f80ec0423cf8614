/**
 * One WebSocket paired with one broker socket: forwards bytes both ways through the gate, with
 * backpressure both ways, the per-client rate limit, the idle timeout, and bounds on every byte it
 * holds (fragments of one message, pongs, sends queued toward a client that does not read).
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { RequestGate, type GatePolicy } from "./gate.ts";
import type { ResolvedUpstream } from "./upstream.ts";
import { Throttle, type ClientState } from "./limits.ts";
import { ClientFrameScanner } from "./frames.ts";
import type { ProxyClock } from "./clock.ts";
import type { TokenGrant } from "./jwt.ts";
import type { LatencyHistograms } from "./metrics.ts";
import type { ProxyLogEntry, ProxyStats, RefusalReason } from "./proxy.ts";

/** What every connection shares with the server. */
export interface ProxyContext {
  readonly clock: ProxyClock;
  readonly stats: ProxyStats;
  readonly log: (entry: ProxyLogEntry) => void;
  readonly countRefusal: (reason: RefusalReason, client: string, target?: string, detail?: string) => void;
  readonly live: Set<Connection>;
  readonly gatePolicy: GatePolicy | undefined;
  readonly maxMessageBytes: number;
  readonly maxFragments: number;
  readonly idleTimeoutMs: number;
  readonly highWaterMark: number;
  readonly maxBufferedBytes: number;
  readonly upstream: ResolvedUpstream;
  readonly latency: LatencyHistograms;
}

type Side = "ws" | "tcp";

export class Connection {
  private closed = false;
  private idleTimer: unknown;
  private lastActivity: number;
  // Pause reasons per side: a side resumes only when none is left.
  private wsPause = new Set<string>();
  private tcpPause = new Set<string>();
  private readonly gate: RequestGate | undefined;
  private readonly up: Throttle | undefined;
  private readonly down: Throttle | undefined;
  private tcpOk = true;
  private toClientParts: Uint8Array[] = [];
  private readonly frames: ClientFrameScanner;

  constructor(private readonly ctx: ProxyContext, private readonly ws: WebSocket, private readonly raw: Duplex,
              private readonly tcp: Socket, readonly client: string, readonly target: string,
              limits: ClientState, private readonly release: () => void, sessionLifetimeMs = 0, grant?: TokenGrant) {
    this.lastActivity = ctx.clock.now();
    this.gate = ctx.gatePolicy
      ? new RequestGate({
        ...ctx.gatePolicy,
        tokenTopics: grant?.topics,
        tokenTransactionalIds: grant?.transactionalIds,
        now: ctx.clock.now,
        onLatency: (apiKey, ms) => ctx.latency.observe(apiKey, ms),
        onTopicsDenied: (detail) => ctx.countRefusal("TOPIC_NOT_ALLOWED", client, target, detail),
        onTransactionalIdDenied: (detail) => ctx.countRefusal("TRANSACTIONAL_ID_NOT_ALLOWED", client, target, detail),
        onGroupDenied: (detail) => ctx.countRefusal("GROUP_NOT_ALLOWED", client, target, detail),
      })
      : undefined;
    const throttled = () => ctx.stats.throttled.rate++;
    if (limits.up && limits.down) {
      this.up = new Throttle(limits.up, ctx.clock, (b) => this.toBroker(b), () => this.pauseSide("ws", "rate"), () => this.resumeSide("ws", "rate"), throttled);
      this.down = new Throttle(limits.down, ctx.clock, (b) => this.toClient(b), () => this.pauseSide("tcp", "rate"), () => this.resumeSide("tcp", "rate"), throttled);
    }
    this.frames = new ClientFrameScanner(ctx.maxFragments);
    // Sees (and unmasks) the raw bytes before ws buffers them (ws has unshifted the handshake's leftover bytes, so they come here too).
    raw.prependListener("data", this.scan);
    ws.on("message", (data: Buffer, isBinary: boolean) => this.guard(() => this.fromClient(data, isBinary)));
    ws.on("ping", (data: Buffer) => this.guard(() => this.onPing(data)));
    ws.on("close", (code: number) => this.finish(`client closed (${code})`));
    ws.on("error", (err: Error & { code?: string }) => {
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
        ctx.countRefusal("MESSAGE_TOO_LARGE", client, target, `limit ${ctx.maxMessageBytes} bytes`);
        this.finish("message too large", 1009); // ws already sent 1009; this closes the broker side
      } else {
        this.finish(`client error: ${err.message}`);
      }
    });
    tcp.on("data", (chunk: Buffer) => this.guard(() => this.fromBroker(chunk)));
    tcp.on("drain", () => this.resumeSide("ws", "tcp-backpressure"));
    tcp.on("error", (err) => this.finish(`broker error: ${err.message}`, 1014, "BROKER_CLOSED"));
    tcp.on("close", () => this.finish("broker closed", 1014, "BROKER_CLOSED"));
    tcp.resume(); // the upstream SASL exchange left it paused
    this.armIdle();
    if (sessionLifetimeMs > 0) {
      // KIP-368: the broker drops a session used after its lifetime. Rather than re-authenticating
      // in-band (holding client requests back around a second exchange), the pair drains and closes
      // early: the client reconnects over a freshly authenticated socket and retries what was unanswered.
      const { clock } = ctx;
      this.expiryTimer = clock.setTimeout(() => this.expire(), Math.floor(sessionLifetimeMs * ctx.upstream.reauthenticateAt));
      this.hardExpiryTimer = clock.setTimeout(() => this.finish("session lifetime ends", 1012, "SESSION_EXPIRED"), Math.floor(sessionLifetimeMs * (1 + ctx.upstream.reauthenticateAt) / 2));
    }
    if (grant?.expiresAtMs !== undefined) {
      // The token's authority ends at exp: no request is read after it; those in flight get their answers.
      this.tokenTimer = ctx.clock.setTimeout(() => {
        this.expire("token expired", 1008, "TOKEN_EXPIRED");
        // A broker that never answers does not keep an expired token's connection open.
        this.tokenTimer = ctx.clock.setTimeout(() => this.finish("token expired", 1008, "TOKEN_EXPIRED"), 30_000);
      }, Math.max(0, grant.expiresAtMs - ctx.clock.now()));
    }
  }

  private tokenTimer: unknown;
  /** Why the connection is draining, once it is. */
  private expiring: [why: string, code: number, reason: RefusalReason] | undefined;

  private expiryTimer: unknown;
  private hardExpiryTimer: unknown;
  /** Once the session (or the token) nears its end: no more client requests are read; closes when none is in flight. */
  private expire(why = "session lifetime ends", code = 1012, reason: RefusalReason = "SESSION_EXPIRED"): void {
    if (this.closed || this.expiring) return;
    this.expiring = [why, code, reason];
    this.ws.pause();
    this.raw.pause();
    this.closeIfDrained();
  }

  private closeIfDrained(): void {
    if (this.expiring && (this.gate?.inFlightCount ?? 0) === 0) this.finish(...this.expiring);
  }

  // No exception from a socket callback may reach the process: it closes this connection only.
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.finish(`internal error: ${e instanceof Error ? e.message : String(e)}`, 1011, "INTERNAL_ERROR");
    }
  }

  private scan = (chunk: Buffer): void => {
    // Scanned even once closed: ws still reads the close handshake, whose payload must arrive unmasked.
    if (this.frames.push(chunk) || this.closed) return;
    this.ctx.countRefusal("TOO_MANY_FRAGMENTS", this.client, this.target, `a message of over ${this.ctx.maxFragments} fragments`);
    this.abort("TOO_MANY_FRAGMENTS", 1009);
  };

  // A WebSocket client that does not read would queue a pong per ping without bound: answer only while
  // little is queued (RFC 6455 lets an endpoint answer only the latest ping).
  private onPing(data: Buffer): void {
    if (this.closed) return;
    this.touch();
    if (this.ws.bufferedAmount < this.ctx.highWaterMark) this.ws.pong(data);
    else this.checkBuffered();
  }

  private afterSend = () => {
    if (this.ws.bufferedAmount < this.ctx.highWaterMark / 2) this.resumeSide("tcp", "ws-backpressure");
  };

  // The gate's own answers (a refused transactional id) go to the client as a broker's would.
  private reply = (response: Uint8Array) => {
    this.ctx.stats.bytes.toClient += response.length;
    this.ws.send(response, { binary: true }, this.afterSend);
  };

  private forwardFrame = (prefix: Uint8Array, frame: Uint8Array) => {
    this.tcp.cork();
    this.tcp.write(prefix);
    this.tcpOk = this.tcp.write(frame);
    this.tcp.uncork();
  };

  private touch(): void {
    this.lastActivity = this.ctx.clock.now();
  }

  private armIdle(): void {
    const { idleTimeoutMs, clock } = this.ctx;
    if (idleTimeoutMs <= 0 || this.closed) return;
    const wait = Math.max(0, this.lastActivity + idleTimeoutMs - clock.now());
    this.idleTimer = clock.setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed) return;
      if (clock.now() - this.lastActivity >= idleTimeoutMs) {
        this.ctx.countRefusal("IDLE_TIMEOUT", this.client, this.target, `no traffic for ${idleTimeoutMs} ms`);
        this.finish("idle timeout", 1001, "IDLE_TIMEOUT");
      } else {
        this.armIdle();
      }
    }, wait + 1);
  }

  private pauseSide(side: Side, reason: string): void {
    const set = side === "ws" ? this.wsPause : this.tcpPause;
    if (set.has(reason)) return;
    set.add(reason);
    if (set.size === 1) { if (side === "ws") this.ws.pause(); else this.tcp.pause(); }
  }

  private resumeSide(side: Side, reason: string): void {
    if (side === "ws" && this.expiring) return; // reads no more client requests while draining
    const set = side === "ws" ? this.wsPause : this.tcpPause;
    if (!set.delete(reason) || set.size > 0 || this.closed) return;
    if (side === "ws") this.ws.resume(); else this.tcp.resume();
  }

  private fromClient(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) {
      this.ctx.countRefusal("TEXT_MESSAGE", this.client, this.target);
      this.finish("text message", 1003, "TEXT_MESSAGE");
      return;
    }
    this.touch();
    if (this.up) this.up.push(data); else this.toBroker(data);
  }

  private toBroker(data: Uint8Array): void {
    if (this.closed) return;
    this.ctx.stats.bytes.toBroker += data.length;
    if (this.gate) {
      this.tcpOk = true;
      const refused = this.gate.push(data, this.forwardFrame, this.reply);
      if (refused) {
        this.ctx.countRefusal(refused.reason, this.client, this.target, refused.detail);
        this.finish(refused.reason, 1008, refused.reason);
        return;
      }
    } else {
      this.tcpOk = this.tcp.write(data);
    }
    // write() says false past the socket's own 16 KiB, which one large Produce exceeds: pausing the
    // client there stalled it once per request. Pause at highWaterMark ('drain' follows: write said false).
    if (!this.tcpOk && this.tcp.writableLength >= this.ctx.highWaterMark) {
      this.ctx.stats.throttled.brokerBackpressure++;
      this.pauseSide("ws", "tcp-backpressure");
    }
  }

  private fromBroker(chunk: Buffer): void {
    if (this.closed) return;
    this.touch();
    if (this.down) this.down.push(chunk); else this.toClient(chunk);
  }

  private toClient(chunk: Uint8Array): void {
    if (this.closed) return;
    this.ctx.stats.bytes.toClient += chunk.length;
    if (this.gate) {
      const out = this.toClientParts;
      out.length = 0;
      const refused = this.gate.pushResponse(chunk, (bytes) => out.push(bytes));
      if (out.length > 0) this.ws.send(out.length === 1 ? out[0] : Buffer.concat(out), { binary: true }, this.afterSend);
      out.length = 0;
      if (this.expiring) this.closeIfDrained();
      if (refused) {
        this.ctx.countRefusal(refused.reason, this.client, this.target, refused.detail);
        this.finish(refused.reason, 1014, refused.reason);
        return;
      }
    } else {
      this.ws.send(chunk, { binary: true }, this.afterSend);
    }
    if (this.ws.bufferedAmount >= this.ctx.highWaterMark) {
      this.ctx.stats.throttled.clientBackpressure++;
      this.pauseSide("tcp", "ws-backpressure");
      this.checkBuffered();
    }
  }

  // The hard cap well above highWaterMark: only a client that reads nothing while the proxy has paused gets here.
  private checkBuffered(): void {
    if (this.ws.bufferedAmount <= this.ctx.maxBufferedBytes) return;
    this.ctx.countRefusal("CLIENT_TOO_SLOW", this.client, this.target, `${this.ws.bufferedAmount} bytes queued, limit ${this.ctx.maxBufferedBytes}`);
    this.abort("CLIENT_TOO_SLOW", 1008);
  }

  /** Closes an abusive client: stops reading from it at once (the close frame may never be read). */
  private abort(reason: RefusalReason, code: number): void {
    this.finish(reason, code, reason);
    this.raw.pause();
    this.raw.removeListener("data", this.scan);
  }

  /** Closes both sides once; `code`/`reason` (a short fixed code: details go to the log) go to the client if its socket is still open. */
  finish(why: string, code = 1000, reason = ""): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer !== undefined) this.ctx.clock.clearTimeout(this.idleTimer);
    if (this.expiryTimer !== undefined) this.ctx.clock.clearTimeout(this.expiryTimer);
    if (this.hardExpiryTimer !== undefined) this.ctx.clock.clearTimeout(this.hardExpiryTimer);
    if (this.tokenTimer !== undefined) this.ctx.clock.clearTimeout(this.tokenTimer);
    this.up?.stop();
    this.down?.stop();
    this.ctx.live.delete(this);
    const { stats } = this.ctx;
    stats.connections.open--;
    const key = why.replace(/\s*[(:].*$/, "");
    stats.closed.byReason[key] = (stats.closed.byReason[key] ?? 0) + 1;
    this.release();
    this.ctx.log({ event: "close", client: this.client, target: this.target, detail: why });
    // Let queued bytes reach the broker (end), then make sure the socket is gone.
    this.tcp.end();
    const t = setTimeout(() => this.tcp.destroy(), 2000);
    t.unref();
    this.tcp.once("close", () => clearTimeout(t));
    if (this.ws.readyState === this.ws.OPEN) {
      this.ws.close(code, reason);
      const k = setTimeout(() => this.ws.terminate(), 2000);
      k.unref();
      this.ws.once("close", () => clearTimeout(k));
    } else if (this.ws.readyState !== this.ws.CLOSED) {
      this.ws.terminate();
    }
  }

  /** Resolves when both sockets are gone. */
  gone(): Promise<void> {
    const wsDone = this.ws.readyState === this.ws.CLOSED ? Promise.resolve() : new Promise<void>((r) => this.ws.once("close", () => r()));
    const tcpDone = this.tcp.destroyed ? Promise.resolve() : new Promise<void>((r) => this.tcp.once("close", () => r()));
    return Promise.all([wsDone, tcpDone]).then(() => undefined);
  }

  kill(): void {
    this.ws.terminate();
    this.tcp.destroy();
  }
}
