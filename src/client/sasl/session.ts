/**
 * SASL on a client connection (a chunk of its own, imported by Brokers only when the `sasl` option is
 * set, so the browser bundle does not carry the mechanisms): SaslHandshake v1, then SaslAuthenticate
 * rounds at the negotiated version. Its requests go out `first`, so a KIP-368 re-authentication on an
 * exclusive connection is not stuck behind the requests waiting for it to finish.
 * What it shares with the entry (versionFor, formatAddress) comes in as `deps`: an import would move
 * those modules into a shared static chunk of the browser bundle (~1 KiB gzipped lost to the split).
 */
import { ClientError } from "../../errors.ts";
import { SaslAuthenticate } from "../../protocol/sasl-authenticate.ts";
import { SaslHandshake } from "../../protocol/sasl-handshake.ts";
import type { Connection } from "../connection.ts";
import type { versionFor } from "../versions.ts";
import type { Clock } from "../clock.ts";
import { authenticate, checkHandshake, type SaslConfig, saslMechanism, type SaslResult } from "./index.ts";

export interface SessionDeps {
  versionFor: typeof versionFor;
  formatAddress: (a: Connection["address"]) => string;
  clock: Clock;
}

/** KIP-368: re-authenticate at 85% of the session lifetime plus up to 10% jitter, as Java's SaslClientAuthenticator. */
const REAUTH_AT = 0.85;
const REAUTH_JITTER = 0.1;
/**
 * A login (handshake, token provider, every round) must end within Java's socket.connection.setup.timeout.max.ms:
 * each request has its own timeout, but a token provider that never answers would otherwise hold a
 * new connection opening, or a re-authenticating one exclusive, for ever.
 */
const LOGIN_TIMEOUT_MS = 30_000;

/**
 * Resolves the `sasl` option (ClientError INVALID_CONFIG) into the hook Brokers runs on every new
 * connection. The hook logs in, then re-authenticates on the same connection before each session
 * lifetime ends, exclusively (`Connection.exclusive`: in-flight requests complete, new ones wait);
 * it resolves with the function that stops that when the connection closes.
 */
export function saslHook(config: SaslConfig, { versionFor, formatAddress, clock }: SessionDeps): (conn: Connection) => Promise<() => void> {
  // One mechanism for every connection: OAUTHBEARER's token cache lives in it.
  const mechanism = saslMechanism(config);
  const login = (conn: Connection): Promise<SaslResult> => new Promise<SaslResult>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new ClientError("CONNECTION_ERROR",
      `SASL ${mechanism.mechanism} authentication with ${formatAddress(conn.address)} did not complete within ${LOGIN_TIMEOUT_MS} ms`, { retriable: true })), LOGIN_TIMEOUT_MS);
    exchange(conn).then(resolve, reject).finally(() => clock.clearTimeout(timer));
  });
  const exchange = async (conn: Connection): Promise<SaslResult> => {
    const context = { broker: formatAddress(conn.address) };
    const hv = versionFor(conn, SaslHandshake);
    // v0 sends the tokens as raw frames (Kafka < 1.0, no re-authentication): not worth its code.
    if (hv < 1) throw new ClientError("UNSUPPORTED_VERSION", `SASL ${mechanism.mechanism} with ${context.broker} needs SaslHandshake v1 (Kafka 1.0+); the broker offers v0 only`);
    const hs = await conn.request(SaslHandshake, hv, { mechanism: mechanism.mechanism }, true, true);
    checkHandshake(hs, mechanism.mechanism, context);
    const av = versionFor(conn, SaslAuthenticate);
    return authenticate((authBytes) => conn.request(SaslAuthenticate, av, { authBytes }, true, true), mechanism, context);
  };
  return async (conn) => {
    let timer: unknown;
    const later = ({ sessionLifetimeMs }: SaslResult): void => {
      if (!(sessionLifetimeMs > 0) || conn.isClosed) return;
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (conn.isClosed) return;
        conn.exclusive(() => login(conn)).then(later, (e: unknown) => {
          // Requests queued behind it retry on a new connection, whose login then says what is wrong.
          conn.close(new ClientError("CONNECTION_ERROR", `Re-authentication with ${formatAddress(conn.address)} failed: ${(e as Error)?.message ?? String(e)}`, { retriable: true, cause: e }));
        });
      }, Math.floor(sessionLifetimeMs * (REAUTH_AT + REAUTH_JITTER * clock.random())));
    };
    later(await login(conn));
    return () => { if (timer !== undefined) clock.clearTimeout(timer); };
  };
}
