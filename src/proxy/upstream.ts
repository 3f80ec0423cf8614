/**
 * The proxy's own way to the broker: TCP or TLS, then (when configured) SASL with the cluster's
 * credentials, all before the client's WebSocket upgrade completes. The exchange uses its own
 * correlation ids on a socket no client byte has reached yet, so it never mixes with client traffic;
 * browsers never see the credentials, and the gate refuses a client's own SaslHandshake/SaslAuthenticate.
 */
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ClientError, KafkasmError } from "../errors.ts";
import { authenticate, checkHandshake, saslMechanism, type SaslConfig, type SaslMechanism } from "../client/sasl/index.ts";
import { SaslAuthenticate } from "../protocol/sasl-authenticate.ts";
import { SaslHandshake } from "../protocol/sasl-handshake.ts";
import { decodeResponseFrame, encodeRequestFrame, FrameReader, readResponseCorrelationId } from "../protocol/frame.ts";
import type { Api } from "../protocol/api.ts";
import { resolveTls, tlsError, type ResolvedTls, type SslOption } from "../transport/tls.ts";
import type { ProxyClock } from "./clock.ts";

/** How the proxy reaches the brokers. */
export interface UpstreamOptions {
  /** TLS to the brokers: `true` or `{ ca, cert, key, servername, rejectUnauthorized }` (as the producer's `ssl`). */
  ssl?: SslOption;
  /** SASL with the cluster's credentials, e.g. `{ mechanism: "scram-sha-512", username, password }` (as the producer's `sasl`). */
  sasl?: SaslConfig;
  /**
   * [reauthenticateAt=0.85] Fraction of the broker's session lifetime (KIP-368,
   * `connections.max.reauth.ms`) after which a connection stops taking client requests, lets those in
   * flight finish, and closes (1012), so the client reconnects over a freshly authenticated socket.
   */
  reauthenticateAt?: number;
}

export interface ResolvedUpstream {
  tls: ResolvedTls | undefined;
  sasl: SaslMechanism | undefined;
  reauthenticateAt: number;
}

export function resolveUpstream(o: UpstreamOptions | undefined): ResolvedUpstream {
  const fail = (why: string): never => { throw new ClientError("INVALID_CONFIG", `Cannot start proxy: upstream.${why}`); };
  if (o !== undefined && (o === null || typeof o !== "object")) fail("expected { ssl, sasl }");
  let tls: ResolvedTls | undefined;
  try {
    tls = resolveTls(o?.ssl);
  } catch (e) {
    fail((e as Error).message.replace(/^Invalid producer option /, ""));
  }
  const sasl = o?.sasl === undefined ? undefined : saslMechanism(o.sasl);
  const at = o?.reauthenticateAt ?? 0.85;
  if (typeof at !== "number" || !(at > 0 && at < 1)) fail(`reauthenticateAt is ${at}, expected a fraction in (0, 1)`);
  return { tls, sasl, reauthenticateAt: at };
}

/** A broker socket ready for client bytes, and how long its SASL session lasts (0: for ever). */
export interface Upstream {
  socket: Socket;
  sessionLifetimeMs: number;
}

/** Why dialling failed: `auth` for a SASL refusal (wrong credentials), else the connection or TLS. */
export class UpstreamError extends Error {
  constructor(message: string, readonly auth: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpstreamError";
  }
}

// The proxy's own correlation ids: negative, so a reader of a capture can tell them from a client's.
const HANDSHAKE_ID = -0x4b53;
const AUTHENTICATE_ID = -0x4b52;

/** Dials `target` per `up`; rejects with UpstreamError (never naming a secret) after `timeoutMs` at most. */
export function dialUpstream(target: { host: string; port: number; key: string }, up: ResolvedUpstream, timeoutMs: number,
  clock: ProxyClock, onSocket: (s: Socket) => void): Promise<Upstream> {
  return new Promise<Upstream>((resolve, reject) => {
    const tls = up.tls;
    const socket = tls
      ? tlsConnect({
        host: target.host, port: target.port, ca: tls.ca, cert: tls.cert, key: tls.key,
        servername: tls.servername ?? (isIP(target.host) ? undefined : target.host), rejectUnauthorized: tls.rejectUnauthorized,
      })
      : netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    onSocket(socket);
    let done = false;
    const fail = (e: unknown, auth = false) => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      socket.destroy();
      const why = tls && !auth ? tlsError(target.key, e, false).message : e instanceof Error ? e.message : String(e);
      reject(new UpstreamError(why, auth, { cause: e }));
    };
    const timer = clock.setTimeout(() => fail(new Error(`no connection${up.sasl ? " and authentication" : ""} within ${timeoutMs} ms`)), timeoutMs);
    socket.once("error", (e) => fail(e));
    socket.once("close", () => fail(new Error("the broker closed the connection")));
    socket.once(tls ? "secureConnect" : "connect", () => {
      if (!up.sasl) {
        done = true;
        clock.clearTimeout(timer);
        socket.removeAllListeners("error").removeAllListeners("close");
        resolve({ socket, sessionLifetimeMs: 0 });
        return;
      }
      saslExchange(socket, up.sasl, target.key).then((sessionLifetimeMs) => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        socket.removeAllListeners("error").removeAllListeners("close");
        resolve({ socket, sessionLifetimeMs });
      }, (e) => fail(e, e instanceof KafkasmError && !(e instanceof ClientError)));
    });
  });
}

/** SaslHandshake v1 then SaslAuthenticate v1 rounds on `socket`; resolves with the session lifetime. */
async function saslExchange(socket: Socket, mechanism: SaslMechanism, key: string): Promise<number> {
  const reader = new FrameReader(1024 * 1024);
  let waiting: { id: number; resolve: (f: Uint8Array) => void; reject: (e: unknown) => void } | undefined;
  const onData = (chunk: Buffer) => {
    try {
      reader.push(chunk, (frame) => {
        const w = waiting;
        waiting = undefined;
        if (!w) throw new ClientError("PROTOCOL_ERROR", `broker ${key} sent a frame nobody asked for during SASL`);
        const id = readResponseCorrelationId(frame);
        if (id !== w.id) w.reject(new ClientError("PROTOCOL_ERROR", `broker ${key} answered correlation id ${id}, expected ${w.id}`));
        else w.resolve(frame.slice());
      });
    } catch (e) {
      waiting?.reject(e);
      socket.destroy();
    }
  };
  socket.on("data", onData);
  const ask = <Req, Res>(api: Api<Req, Res>, id: number, req: Req): Promise<Res> => new Promise<Uint8Array>((resolve, reject) => {
    waiting = { id, resolve, reject };
    socket.write(encodeRequestFrame(api, 1, id, "kafkasm-proxy", req));
  }).then((frame) => decodeResponseFrame(api, 1, frame));
  try {
    const context = { broker: key };
    checkHandshake(await ask(SaslHandshake, HANDSHAKE_ID, { mechanism: mechanism.mechanism }), mechanism.mechanism, context);
    const { sessionLifetimeMs } = await authenticate((authBytes) => ask(SaslAuthenticate, AUTHENTICATE_ID, { authBytes }), mechanism, context);
    return sessionLifetimeMs;
  } finally {
    socket.removeListener("data", onData);
    // Until the Connection attaches its reader, nothing may be read and lost.
    socket.pause();
  }
}
