/**
 * SaslHandshake (key 17): ask the broker for a SASL mechanism before authenticating.
 *
 * | version | change |
 * |---|---|
 * | v0 | mechanism → error_code, mechanisms; the SASL tokens that follow are raw frames (GSSAPI-era framing) |
 * | v1 | same fields; the SASL tokens that follow travel in SaslAuthenticate requests (KIP-152) |
 *
 * Never flexible. UNSUPPORTED_SASL_MECHANISM (33) comes back with the broker's enabled mechanisms.
 */
import type { Api, ServerApi } from "./api.ts";
import type { Reader, Writer } from "./wire.ts";

export interface SaslHandshakeRequest {
  /** The SASL mechanism the client chose, e.g. "SCRAM-SHA-512". */
  mechanism: string;
}

export interface SaslHandshakeResponse {
  errorCode: number;
  /** The mechanisms enabled on the broker's listener. */
  mechanisms: string[];
}

export const SaslHandshake: Api<SaslHandshakeRequest, SaslHandshakeResponse> = {
  name: "SaslHandshake",
  apiKey: 17, // ApiKey.SaslHandshake: a literal, so this file imports nothing at run time (a lazy SASL chunk; see transactions.ts)
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: -1,

  encodeRequest(w: Writer, _v: number, req: SaslHandshakeRequest): void {
    w.string(req.mechanism);
  },

  decodeResponse(r: Reader): SaslHandshakeResponse {
    return {
      errorCode: r.int16("error_code"),
      mechanisms: r.array(false, (r) => r.string("mechanisms"), "mechanisms", 2),
    };
  },
};

/** SaslHandshake with the broker's half (fake broker, proxy gate, tests); a pure IIFE, so client bundles drop it. */
export const SaslHandshakeServer: ServerApi<SaslHandshakeRequest, SaslHandshakeResponse> = /* @__PURE__ */ (() => ({
  ...SaslHandshake,
  decodeRequest(r: Reader): SaslHandshakeRequest {
    return { mechanism: r.string("mechanism") };
  },

  encodeResponse(w: Writer, _v: number, res: SaslHandshakeResponse): void {
    w.int16(res.errorCode).array(false, res.mechanisms, (w, m) => w.string(m));
  },
}))();
