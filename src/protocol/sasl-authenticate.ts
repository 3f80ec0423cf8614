/**
 * SaslAuthenticate (key 36): carry one SASL token each way after SaslHandshake v1.
 *
 * | version | change |
 * |---|---|
 * | v0 | auth_bytes → error_code, error_message, auth_bytes |
 * | v1 | response + session_lifetime_ms: the broker closes the session after it unless the client re-authenticates (KIP-368) |
 * | v2 | flexible |
 *
 * A failed exchange answers SASL_AUTHENTICATION_FAILED (58) with the broker's reason in error_message;
 * auth_bytes may still hold the mechanism's own error (OAUTHBEARER's JSON status).
 */
import type { Api, ServerApi } from "./api.ts";
import type { Reader, Writer } from "./wire.ts";

export interface SaslAuthenticateRequest {
  /** The mechanism's token for this round (RFC 4422 "client response"). */
  authBytes: Uint8Array;
}

export interface SaslAuthenticateResponse {
  errorCode: number;
  errorMessage: string | null;
  /** The mechanism's challenge or final message; a view into the frame. */
  authBytes: Uint8Array;
  /** v1+: milliseconds until the broker expires the session; 0 = never (and always 0 in v0). */
  sessionLifetimeMs: number;
}

const EMPTY = new Uint8Array(0);

export const SaslAuthenticate: Api<SaslAuthenticateRequest, SaslAuthenticateResponse> = {
  name: "SaslAuthenticate",
  apiKey: 36, // ApiKey.SaslAuthenticate: a literal, so this file imports nothing at run time (a lazy SASL chunk; see transactions.ts)
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 2,

  encodeRequest(w: Writer, v: number, req: SaslAuthenticateRequest): void {
    const flex = v >= 2;
    w.byteArray(flex, req.authBytes).tags(flex);
  },

  decodeResponse(r: Reader, v: number): SaslAuthenticateResponse {
    const flex = v >= 2;
    const res: SaslAuthenticateResponse = {
      errorCode: r.int16("error_code"),
      errorMessage: r.nullableStr(flex, "error_message"),
      // auth_bytes is not nullable; a broker that sends null anyway has sent nothing to the mechanism.
      authBytes: r.nullableByteArray(flex, "auth_bytes") ?? EMPTY,
      sessionLifetimeMs: v >= 1 ? r.int64("session_lifetime_ms") : 0,
    };
    r.tags(flex);
    return res;
  },
};

/** SaslAuthenticate with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const SaslAuthenticateServer: ServerApi<SaslAuthenticateRequest, SaslAuthenticateResponse> = /* @__PURE__ */ (() => ({
  ...SaslAuthenticate,
  decodeRequest(r: Reader, v: number): SaslAuthenticateRequest {
    const flex = v >= 2;
    const req = { authBytes: r.nullableByteArray(flex, "auth_bytes") ?? EMPTY };
    r.tags(flex);
    return req;
  },

  encodeResponse(w: Writer, v: number, res: SaslAuthenticateResponse): void {
    const flex = v >= 2;
    w.int16(res.errorCode).str(flex, res.errorMessage).byteArray(flex, res.authBytes);
    if (v >= 1) w.int64(res.sessionLifetimeMs);
    w.tags(flex);
  },
}))();
