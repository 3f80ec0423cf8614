/**
 * JWT verification of browser tokens (RFC 7519/7515), WebCrypto only: RS256, ES256, HS256.
 *
 * Algorithm confusion cannot happen: every configured key is imported for exactly one algorithm,
 * decided by the key's type (RSA → RS256, EC P-256 → ES256, a secret → HS256), and a token is
 * checked only against keys of the algorithm its header names, so an HS256 token "signed" with an
 * RSA public key finds no key at all; `alg: none` is never accepted. Cost is bounded: tokens over
 * `maxTokenLength` are refused before any decoding, keys are capped at MAX_KEYS, claims at
 * MAX_CLAIM_ENTRIES entries.
 */
import { Buffer } from "node:buffer";
import type { webcrypto } from "node:crypto";
import { ClientError } from "../errors.ts";
import type { ProxyClock } from "./clock.ts";

/** A JSON Web Key (node:crypto's type: the published types of kafkasm/proxy need no DOM lib). */
type JsonWebKey = webcrypto.JsonWebKey;

export type JwtAlgorithm = "RS256" | "ES256" | "HS256";

export interface JwtOptions {
  /** Public keys (JWK, or a JWKS `{ keys }`): RSA (≥ 2048 bits) → RS256, EC P-256 → ES256, oct → HS256. A `kid` selects among them. */
  keys?: readonly JsonWebKey[] | { keys: readonly JsonWebKey[] };
  /** HS256 shared secret (at least 32 bytes, RFC 7518 §3.2). */
  secret?: string;
  /** [algorithms=those of the given keys] Algorithms accepted; "none" is never accepted. */
  algorithms?: readonly JwtAlgorithm[];
  /** Required `iss` (one of). */
  issuer?: string | readonly string[];
  /** Required `aud` (the token's audience must include one of these). */
  audience?: string | readonly string[];
  /** [clockToleranceSec=0] Leeway for exp, nbf and iat, for clocks that drift apart. */
  clockToleranceSec?: number;
  /** [requireExp=true] Refuse tokens without `exp` (they would be valid for ever). */
  requireExp?: boolean;
  /** [topicsClaim="kafka_topics"] Claim listing the topics (exact or "prefix*") this token may use, intersected with the proxy's `topics`. */
  topicsClaim?: string;
  /** [transactionalIdsClaim="kafka_transactional_ids"] Claim listing transactional ids, intersected with the proxy's `transactionalIds`. */
  transactionalIdsClaim?: string;
  /** [maxTokenLength=8192] Longer tokens are refused before decoding. */
  maxTokenLength?: number;
}

/** What a verified token grants: undefined lists mean "the proxy's lists" (the claim was absent). */
export interface TokenGrant {
  topics?: readonly string[];
  transactionalIds?: readonly string[];
  /** `exp` in clock milliseconds, if the token has one. */
  expiresAtMs?: number;
}

export type Verdict = { ok: true; grant: TokenGrant } | { ok: false; why: string };

interface Key { alg: JwtAlgorithm; kid?: string; key: CryptoKey }

const MAX_KEYS = 100;
const MAX_CLAIM_ENTRIES = 1000;
const B64URL = /^[A-Za-z0-9_-]*$/;
const PARAMS: Record<JwtAlgorithm, AlgorithmIdentifier | EcdsaParams> = {
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  ES256: { name: "ECDSA", hash: "SHA-256" },
  HS256: { name: "HMAC" },
};

const invalid = (why: string): never => { throw new ClientError("INVALID_CONFIG", `Cannot start proxy: jwt.${why}`); };
const fromB64url = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(s, "base64url"));
const list = (v: string | readonly string[] | undefined) => (v === undefined ? undefined : typeof v === "string" ? [v] : [...v]);

async function importJwk(jwk: JsonWebKey, i: number): Promise<Key> {
  const at = `keys[${i}]`;
  if (jwk === null || typeof jwk !== "object") invalid(`${at} is not a JWK object`);
  const kid = (jwk as { kid?: unknown }).kid;
  if (kid !== undefined && typeof kid !== "string") invalid(`${at}.kid is not a string`);
  if (jwk.use !== undefined && jwk.use !== "sig") invalid(`${at}.use is ${JSON.stringify(jwk.use)}, expected "sig"`);
  let alg: JwtAlgorithm;
  let usable: JsonWebKey;
  let params: RsaHashedImportParams | EcKeyImportParams | HmacImportParams;
  if (jwk.kty === "RSA") {
    if (jwk.d !== undefined) invalid(`${at} is an RSA private key; give the public key (n, e) only`);
    if (typeof jwk.n !== "string" || typeof jwk.e !== "string") invalid(`${at} lacks n or e`);
    if (fromB64url(jwk.n!).length < 256) invalid(`${at} is an RSA key under 2048 bits`);
    alg = "RS256";
    usable = { kty: "RSA", n: jwk.n, e: jwk.e };
    params = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  } else if (jwk.kty === "EC") {
    if (jwk.crv !== "P-256") invalid(`${at} is on curve ${JSON.stringify(jwk.crv)}; only P-256 (ES256) is supported`);
    if (jwk.d !== undefined) invalid(`${at} is an EC private key; give the public key (x, y) only`);
    alg = "ES256";
    usable = { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
    params = { name: "ECDSA", namedCurve: "P-256" };
  } else if (jwk.kty === "oct") {
    if (typeof jwk.k !== "string" || fromB64url(jwk.k).length < 32) invalid(`${at} is an HS256 key under 32 bytes`);
    alg = "HS256";
    usable = { kty: "oct", k: jwk.k };
    params = { name: "HMAC", hash: "SHA-256" };
  } else {
    return invalid(`${at}.kty is ${JSON.stringify(jwk.kty)}, expected RSA, EC or oct`);
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) invalid(`${at}.alg is ${JSON.stringify(jwk.alg)}, but a key of type ${jwk.kty} verifies ${alg} only`);
  try {
    return { alg, kid: kid as string | undefined, key: await crypto.subtle.importKey("jwk", usable, params, false, ["verify"]) };
  } catch (e) {
    return invalid(`${at} cannot be imported: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function stringList(claims: Record<string, unknown>, name: string): readonly string[] | undefined | false {
  const v = claims[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > MAX_CLAIM_ENTRIES || v.some((x) => typeof x !== "string" || x === "")) return false;
  return v as string[];
}

/** A verifier built from options; throws ClientError INVALID_CONFIG on bad options. */
export class JwtVerifier {
  private constructor(private readonly keys: readonly Key[], private readonly algorithms: ReadonlySet<string>,
    private readonly o: Required<Pick<JwtOptions, "clockToleranceSec" | "requireExp" | "topicsClaim" | "transactionalIdsClaim" | "maxTokenLength">>,
    private readonly issuers: readonly string[] | undefined, private readonly audiences: readonly string[] | undefined,
    private readonly clock: ProxyClock) {}

  static async create(options: JwtOptions, clock: ProxyClock): Promise<JwtVerifier> {
    if (options === null || typeof options !== "object") invalid("expected { keys | secret, issuer, audience, … }");
    const jwks: unknown = options.keys === undefined ? [] : Array.isArray(options.keys) ? options.keys : (options.keys as { keys?: unknown }).keys;
    if (!Array.isArray(jwks)) return invalid("keys is neither a list of JWKs nor a JWKS { keys: [...] }");
    if (jwks.length > MAX_KEYS) invalid(`keys has ${jwks.length} keys, over ${MAX_KEYS}`);
    const keys: Key[] = [];
    for (let i = 0; i < jwks.length; i++) keys.push(await importJwk(jwks[i] as JsonWebKey, i));
    if (options.secret !== undefined) {
      if (typeof options.secret !== "string" || new TextEncoder().encode(options.secret).length < 32) invalid("secret is under 32 bytes, too short for HS256");
      keys.push({ alg: "HS256", key: await crypto.subtle.importKey("raw", new TextEncoder().encode(options.secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]) });
    }
    if (keys.length === 0) invalid("has no keys and no secret, so no token could be verified");
    const algorithms = new Set<string>(options.algorithms ?? keys.map((k) => k.alg));
    for (const a of algorithms) if (!(a in PARAMS)) invalid(`algorithms has ${JSON.stringify(a)}; supported: RS256, ES256, HS256`);
    const num = (name: string, v: number | undefined, dflt: number, min: number) => {
      const n = v ?? dflt;
      if (typeof n !== "number" || !Number.isFinite(n) || n < min) invalid(`${name} is ${v}, expected a number >= ${min}`);
      return n;
    };
    const claimName = (name: string, v: string | undefined, dflt: string) => {
      if (v !== undefined && (typeof v !== "string" || v === "")) invalid(`${name} is ${JSON.stringify(v)}, expected a claim name`);
      return v ?? dflt;
    };
    return new JwtVerifier(keys, algorithms, {
      clockToleranceSec: num("clockToleranceSec", options.clockToleranceSec, 0, 0),
      requireExp: options.requireExp !== false,
      topicsClaim: claimName("topicsClaim", options.topicsClaim, "kafka_topics"),
      transactionalIdsClaim: claimName("transactionalIdsClaim", options.transactionalIdsClaim, "kafka_transactional_ids"),
      maxTokenLength: num("maxTokenLength", options.maxTokenLength, 8192, 16),
    }, list(options.issuer), list(options.audience), clock);
  }

  /** Verifies `token`; the `why` of a refusal is for the log (it never quotes the token). */
  async verify(token: string): Promise<Verdict> {
    const no = (why: string): Verdict => ({ ok: false, why });
    if (token.length > this.o.maxTokenLength) return no(`token of ${token.length} characters is over maxTokenLength ${this.o.maxTokenLength}`);
    const parts = token.split(".");
    if (parts.length !== 3 || !parts.every((p) => B64URL.test(p)) || parts[0] === "" || parts[1] === "") return no("malformed: not three base64url parts");
    let header: Record<string, unknown>, claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    } catch {
      return no("malformed: header or payload is not JSON");
    }
    if (header === null || typeof header !== "object" || Array.isArray(header)) return no("malformed: header is not an object");
    if (claims === null || typeof claims !== "object" || Array.isArray(claims)) return no("malformed: payload is not an object");
    const alg = header.alg;
    if (typeof alg !== "string" || !this.algorithms.has(alg)) return no(`algorithm ${JSON.stringify(alg).slice(0, 20)} is not accepted`);
    if (header.crit !== undefined) return no("header has crit extensions, which are not supported");
    const kid = header.kid;
    const candidates = this.keys.filter((k) => k.alg === alg && (typeof kid !== "string" || k.kid === undefined || k.kid === kid));
    if (candidates.length === 0) return no(`no ${alg} key${typeof kid === "string" ? ` with kid ${JSON.stringify(kid.slice(0, 64))}` : ""}`);
    const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    const signature = fromB64url(parts[2]);
    let valid = false;
    for (const k of candidates) {
      if (await crypto.subtle.verify(PARAMS[alg as JwtAlgorithm], k.key, signature, signed)) { valid = true; break; }
    }
    if (!valid) return no("bad signature");

    const now = this.clock.now() / 1000;
    const tol = this.o.clockToleranceSec;
    for (const c of ["exp", "nbf", "iat"]) {
      if (claims[c] !== undefined && (typeof claims[c] !== "number" || !Number.isFinite(claims[c]))) return no(`claim ${c} is not a number`);
    }
    const exp = claims.exp as number | undefined;
    if (exp === undefined && this.o.requireExp) return no("no exp claim");
    if (exp !== undefined && now >= exp + tol) return no(`expired ${Math.round(now - exp)} s ago`);
    if (claims.nbf !== undefined && now + tol < (claims.nbf as number)) return no("not valid yet (nbf)");
    if (claims.iat !== undefined && now + tol < (claims.iat as number)) return no("issued in the future (iat)");
    if (this.issuers && (typeof claims.iss !== "string" || !this.issuers.includes(claims.iss))) return no("wrong issuer");
    if (this.audiences) {
      const aud = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
      if (!aud.some((a) => this.audiences!.includes(a as string))) return no("wrong audience");
    }
    const topics = stringList(claims, this.o.topicsClaim);
    if (topics === false) return no(`claim ${this.o.topicsClaim} is not a list of up to ${MAX_CLAIM_ENTRIES} topic names`);
    const transactionalIds = stringList(claims, this.o.transactionalIdsClaim);
    if (transactionalIds === false) return no(`claim ${this.o.transactionalIdsClaim} is not a list of up to ${MAX_CLAIM_ENTRIES} ids`);
    return { ok: true, grant: { topics, transactionalIds, expiresAtMs: exp === undefined ? undefined : (exp + tol) * 1000 } };
  }
}
