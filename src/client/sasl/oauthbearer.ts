/**
 * OAUTHBEARER (RFC 7628, KIP-255 and KIP-342 extensions) as Kafka's OAuthBearerSaslClient speaks it:
 *
 *   client-first  n,,\x01auth=Bearer <token>[\x01<key>=<value>]*\x01\x01
 *   success       empty server message
 *   failure       server message = JSON error status → client answers \x01 → broker fails the exchange
 *
 * Tokens come from a provider, cached and fetched again before they expire (at `refreshRatio` of their
 * lifetime, as Java's login refresh thread does at 80%), shared by every connection of the mechanism.
 */
import { ClientError } from "../../errors.ts";
import { fromUtf8, utf8 } from "./bytes.ts";
import { describeAs, ILLEGAL_SASL_STATE, type SaslClient, type SaslContext, type SaslMechanism, saslError } from "./mechanism.ts";

export interface OAuthBearerToken {
  /** The bearer token (e.g. a compact JWT). */
  value: string;
  /** When the token expires, in ms since the epoch; without it the provider is asked for every authentication. */
  expiresAt?: number;
  /** SASL extensions sent with the token (KIP-342), e.g. Confluent Cloud's logicalCluster / identityPoolId. */
  extensions?: Record<string, string>;
}

export type OAuthBearerTokenProvider = () => Promise<OAuthBearerToken>;

export interface OAuthBearerOptions {
  /** Called for a token when none is cached or the cached one is past `refreshRatio` of its lifetime. */
  token: OAuthBearerTokenProvider;
  /** The fraction of a token's lifetime after which it is fetched again [0.8]. */
  refreshRatio?: number;
  /** The clock that says when a token is due for refresh [Date.now]. */
  now?: () => number;
}

// Kafka's OAuthBearerClientInitialResponse: extension keys are letters only, values printable ASCII or
// whitespace, and "auth" is the token's own key.
const EXTENSION_KEY = /^[A-Za-z]+$/;
const EXTENSION_VALUE = /^[\x21-\x7E \t\r\n]+$/;
// RFC 6750 b64token: what may follow "Bearer " without breaking the \x01-separated message.
const BEARER_TOKEN = /^[-._~+/A-Za-z0-9]+=*$/;

/** Checks extensions as Kafka's client does before sending them; INVALID_CONFIG names the key, never the value. */
export function validateExtensions(extensions: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(extensions ?? {})) {
    if (key === "auth") throw new ClientError("INVALID_CONFIG", `Invalid OAUTHBEARER extension "auth": the name is reserved for the token`);
    if (!EXTENSION_KEY.test(key)) throw new ClientError("INVALID_CONFIG", `Invalid OAUTHBEARER extension name "${key.slice(0, 40)}": expected letters only`);
    if (typeof value !== "string" || !EXTENSION_VALUE.test(value)) {
      throw new ClientError("INVALID_CONFIG", `Invalid OAUTHBEARER extension "${key}": the value must be non-empty printable ASCII or whitespace`);
    }
  }
}

/** The OAUTHBEARER client-first message for `token`. */
export function clientFirstMessage(token: OAuthBearerToken): Uint8Array {
  if (typeof token?.value !== "string" || !BEARER_TOKEN.test(token.value)) {
    throw new ClientError("INVALID_CONFIG", "Invalid OAUTHBEARER token: the provider must return { value } with a non-empty RFC 6750 bearer token");
  }
  validateExtensions(token.extensions);
  let ext = "";
  for (const [key, value] of Object.entries(token.extensions ?? {})) ext += `\x01${key}=${value}`;
  return utf8(`n,,\x01auth=Bearer ${token.value}${ext}\x01\x01`);
}

/**
 * A provider that caches the token until `refreshRatio` of its lifetime (from when it was obtained to
 * `expiresAt`) has passed; concurrent callers share one call of the provider, and a failed call is not cached.
 */
export function cachedTokenProvider(provider: OAuthBearerTokenProvider, options: { refreshRatio?: number; now?: () => number } = {}): OAuthBearerTokenProvider {
  const ratio = options.refreshRatio ?? 0.8;
  if (!(ratio > 0 && ratio <= 1)) throw new ClientError("INVALID_CONFIG", `Invalid OAUTHBEARER refreshRatio ${ratio}: expected a number in (0, 1]`);
  const now = options.now ?? (() => Date.now());
  let cached: { token: OAuthBearerToken; refreshAt: number } | undefined;
  let pending: Promise<OAuthBearerToken> | undefined;
  return () => {
    if (cached && now() < cached.refreshAt) return Promise.resolve(cached.token);
    pending ??= (async () => {
      const obtainedAt = now();
      try {
        const token = await provider();
        const expiresAt = token?.expiresAt;
        cached = typeof expiresAt === "number" && Number.isFinite(expiresAt)
          ? { token, refreshAt: obtainedAt + Math.max(0, expiresAt - obtainedAt) * ratio }
          : undefined;
        return token;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}

export class OAuthBearerMechanism implements SaslMechanism {
  readonly mechanism = "OAUTHBEARER";
  readonly #token: OAuthBearerTokenProvider;

  constructor(options: OAuthBearerOptions) {
    if (typeof options?.token !== "function") {
      throw new ClientError("INVALID_CONFIG", "Invalid sasl OAUTHBEARER options: expected { token: () => Promise<{ value, expiresAt?, extensions? }> }");
    }
    this.#token = cachedTokenProvider(options.token, options);
    describeAs(this, this.mechanism, {});
  }

  client(context: SaslContext): SaslClient {
    let state: "first" | "failed" | "done" = "first";
    let serverError: string | undefined;
    return {
      start: async () => clientFirstMessage(await this.#token()),
      next: async (serverMessage) => {
        if (state === "first") {
          if (serverMessage.length === 0) {
            state = "done";
            return null;
          }
          // RFC 7628 §3.2.2: the broker's JSON status; answer with a lone \x01 so the broker ends the exchange.
          serverError = describeServerError(serverMessage);
          state = "failed";
          return new Uint8Array([1]);
        }
        if (state === "failed") throw saslError(this.mechanism, context, `token rejected: ${serverError}`);
        throw saslError(this.mechanism, context, "broker sent a message after the exchange completed", ILLEGAL_SASL_STATE);
      },
      failureDetail: () => serverError && `token rejected: ${serverError}`,
    };
  }
}

// {"status":"invalid_token","scope":"…","openid-configuration":"…"} → a one-line summary (no token in it).
function describeServerError(message: Uint8Array): string {
  let text: string;
  try {
    text = fromUtf8(message);
  } catch {
    return `${message.length} bytes that are not UTF-8`;
  }
  try {
    const json = JSON.parse(text);
    if (json && typeof json === "object") {
      return Object.entries(json).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ").slice(0, 500);
    }
  } catch {
    // not JSON: shown as text below
  }
  return JSON.stringify(text.slice(0, 500));
}

/** OAUTHBEARER with tokens from `options.token`, cached until 80% of their lifetime. */
export const oauthBearer = (options: OAuthBearerOptions): SaslMechanism => new OAuthBearerMechanism(options);
