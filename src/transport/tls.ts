/**
 * The `ssl` producer option, shared by the TLS transports of Node, Bun, Deno and workerd (never by the
 * browser entry: pages reach brokers through the proxy, over `wss:`). Validation lives here rather
 * than in config.ts so that none of it enters the browser bundle.
 */
import { ClientError } from "../errors.ts";

/** PEM text, or its bytes. */
export type Pem = string | Uint8Array;

/** TLS settings of the `ssl` option. */
export interface TlsOptions {
  /** Certificate authorities to trust instead of the runtime's defaults (PEM). @default the runtime's trust store */
  ca?: Pem | Pem[];
  /** Client certificate chain for mutual TLS (`ssl.client.auth=required`), PEM. Not in workerd. */
  cert?: Pem;
  /** The client certificate's private key, PEM (unencrypted). Not in workerd. */
  key?: Pem;
  /** Name sent in SNI and checked against the broker's certificate. @default the broker's host (Node, Bun only) */
  servername?: string;
  /** Whether an untrusted or mismatching certificate fails the connection. `false` is for tests only (Node, Bun only). @default true */
  rejectUnauthorized?: boolean;
}

/** The `ssl` option: `true` for TLS with the runtime's trust store, or {@link TlsOptions}. */
export type SslOption = boolean | TlsOptions;

/** Validated TLS settings: PEM as text, `ca` as a list. */
export interface ResolvedTls {
  ca?: string[];
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

function invalid(why: string): never {
  throw new ClientError("INVALID_CONFIG", `Invalid producer option ssl: ${why}`);
}

const pem = (v: unknown, name: string): string => {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  invalid(`${name}: expected PEM text or bytes, got ${v === null ? "null" : typeof v}`);
};

/**
 * Validates `ssl` (throws ClientError INVALID_CONFIG) and returns the settings, or undefined for no TLS.
 * `unsupported` names the options this runtime cannot honour, with why.
 */
export function resolveTls(ssl: unknown, unsupported: Partial<Record<keyof TlsOptions, string>> = {}): ResolvedTls | undefined {
  if (ssl === undefined || ssl === false) return undefined;
  if (ssl === true) return { rejectUnauthorized: true };
  if (ssl === null || typeof ssl !== "object" || Array.isArray(ssl)) invalid(`expected true or { ca, cert, key, servername, rejectUnauthorized }, got ${JSON.stringify(ssl)}`);
  const o = ssl as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["ca", "cert", "key", "servername", "rejectUnauthorized"].includes(k)) invalid(`unknown setting ${JSON.stringify(k)}`);
  }
  for (const [k, why] of Object.entries(unsupported)) {
    if (o[k] !== undefined && !(k === "rejectUnauthorized" && o[k] === true)) invalid(`${k} is not supported here: ${why}`);
  }
  const out: ResolvedTls = { rejectUnauthorized: true };
  if (o.ca !== undefined) out.ca = (Array.isArray(o.ca) ? o.ca : [o.ca]).map((c, i) => pem(c, `ca[${i}]`));
  if (o.cert !== undefined) out.cert = pem(o.cert, "cert");
  if (o.key !== undefined) out.key = pem(o.key, "key");
  if ((out.cert === undefined) !== (out.key === undefined)) invalid("cert and key go together (mutual TLS needs both)");
  if (o.servername !== undefined) {
    if (typeof o.servername !== "string" || o.servername.length === 0) invalid("servername: expected a non-empty string");
    out.servername = o.servername;
  }
  if (o.rejectUnauthorized !== undefined) {
    if (typeof o.rejectUnauthorized !== "boolean") invalid("rejectUnauthorized: expected a boolean");
    out.rejectUnauthorized = o.rejectUnauthorized;
  }
  return out;
}

// OpenSSL / rustls / BoringSSL wording → what a user should check. Order matters: first match wins.
const reasons: [RegExp, string][] = [
  [/ALTNAME|hostname|host ?name|NotValidForName|not valid for|CertNotValidForName|IP address mismatch/i, "the broker's certificate does not match the host name"],
  [/EXPIRED|NotValidYet|not yet valid|Expired/i, "the broker's certificate has expired or is not valid yet"],
  [/SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|UnknownIssuer|unknown ?issuer|unable to (get|verify)|self[- ]signed|untrusted|CERT_UNTRUSTED|invalid peer certificate/i, "the broker's certificate is not trusted (signed by an unknown CA: set ssl.ca)"],
  [/certificate required|alert 116|CertificateRequired|HANDSHAKE_FAILURE|bad certificate|alert 42/i, "the broker requires a client certificate (ssl.cert and ssl.key) or refused the one given"],
  [/wrong version number|WRONG_VERSION|packet length|unexpected eof|ECONNRESET|InvalidContentType|CorruptMessage/i, "the TLS handshake failed (is this a TLS listener?)"],
];

/**
 * A TLS failure as a ClientError CONNECTION_ERROR saying why (not retriable: trying again soon
 * cannot make an untrusted certificate trusted); other failures (refused, unreachable) pass through.
 */
export function tlsError(name: string, e: unknown, handshake: boolean): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const text = `${(err as { code?: string }).code ?? ""} ${err.message}`;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ConnectionRefused|refused/i.test(text)) return new Error(`Cannot connect to ${name}: ${err.message}`, { cause: err });
  const hit = reasons.find(([re]) => re.test(text));
  if (!hit && !handshake) return new Error(`Cannot connect to ${name}: ${err.message}`, { cause: err });
  return new ClientError("CONNECTION_ERROR", `TLS to ${name} failed: ${hit ? hit[1] : "the TLS handshake failed"} (${err.message})`, { retriable: false, cause: err });
}
