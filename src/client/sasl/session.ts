/**
 * SASL on a client connection (a chunk of its own, imported by Brokers only when the `sasl` option is
 * set, so the browser bundle does not carry the mechanisms): SaslHandshake v1, then SaslAuthenticate
 * rounds at the negotiated version. Its requests go out `first`, so a KIP-368 re-authentication on an
 * exclusive connection is not stuck behind the requests waiting for it to finish.
 */
import { ClientError } from "../../errors.ts";
import { SaslAuthenticate } from "../../protocol/sasl-authenticate.ts";
import { SaslHandshake } from "../../protocol/sasl-handshake.ts";
import { type Connection, formatAddress } from "../connection.ts";
import { versionFor } from "../versions.ts";
import { authenticate, checkHandshake, type SaslConfig, saslMechanism, type SaslResult } from "./index.ts";

/** Resolves the `sasl` option (ClientError INVALID_CONFIG) into the hook Brokers runs on every connection. */
export function saslHook(config: SaslConfig): (conn: Connection) => Promise<SaslResult> {
  // One mechanism for every connection: OAUTHBEARER's token cache lives in it.
  const mechanism = saslMechanism(config);
  return async (conn) => {
    const context = { broker: formatAddress(conn.address) };
    const hv = versionFor(conn, SaslHandshake);
    // v0 sends the tokens as raw frames (Kafka < 1.0, no re-authentication): not worth its code.
    if (hv < 1) throw new ClientError("UNSUPPORTED_VERSION", `SASL ${mechanism.mechanism} with ${context.broker} needs SaslHandshake v1 (Kafka 1.0+); the broker offers v0 only`);
    const hs = await conn.request(SaslHandshake, hv, { mechanism: mechanism.mechanism }, true, true);
    checkHandshake(hs, mechanism.mechanism, context);
    const av = versionFor(conn, SaslAuthenticate);
    return authenticate((authBytes) => conn.request(SaslAuthenticate, av, { authBytes }, true, true), mechanism, context);
  };
}
