/**
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) on WebCrypto, as Kafka's ScramSaslClient does it:
 *
 *   client-first  n,,n=<saslname>,r=<client nonce>[,tokenauth=true]
 *   server-first  r=<client nonce + server nonce>,s=<base64 salt>,i=<iterations>     (or e=<error>)
 *   client-final  c=biws,r=<nonce>,p=<base64 ClientKey XOR HMAC(H(ClientKey), AuthMessage)>
 *   server-final  v=<base64 HMAC(ServerKey, AuthMessage)>                             (or e=<error>)
 *
 * The username is escaped as an RFC 5802 saslname (`,` → `=2C`, `=` → `=3D`) and, like Kafka's
 * ScramFormatter, neither it nor the password is SASLprep-normalized: credentials stored by Kafka tools
 * hash the plain UTF-8, and normalizing would break non-ASCII passwords that work with the Java client.
 */
import { ClientError } from "../../errors.ts";
import { fromBase64, fromUtf8, type HashName, digest, hmac, pbkdf2, randomBytes, timingSafeEqual, toBase64, utf8 } from "./bytes.ts";
import { checkCredentials, type UsernamePassword } from "./credentials.ts";
import { describeAs, ILLEGAL_SASL_STATE, type SaslClient, type SaslContext, type SaslMechanism, saslError } from "./mechanism.ts";

/** Kafka's ScramMechanism minimum: fewer iterations than this is a downgrade, refused. */
export const SCRAM_MIN_ITERATIONS = 4096;
/** Kafka's ScramMechanism maximum for stored credentials; bounds the PBKDF2 work a hostile broker can demand. */
export const SCRAM_MAX_ITERATIONS = 16384;

export interface ScramOptions extends UsernamePassword {
  /** Authenticate with a delegation token (Kafka's `tokenauth=true` extension; username = token id, password = HMAC). */
  tokenAuth?: boolean;
  /** Upper bound on the broker's iteration count [16384]. */
  maxIterations?: number;
  /** The client nonce, injected by tests; default 24 random bytes in base64 (never contains ','). */
  nonce?: () => string;
}

const HASH_BYTES: Record<HashName, number> = { "SHA-1": 20, "SHA-256": 32, "SHA-512": 64 };

/** RFC 5802 saslname: `=` and `,` escaped. */
export function saslName(username: string): string {
  return username.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

// "a=1,b=2" → attributes in order; a value may itself contain '=' (base64), so split at the first one only.
function attributes(message: string): [string, string][] {
  return message.split(",").map((part) => {
    const eq = part.indexOf("=");
    return eq === 1 ? [part[0], part.slice(2)] : ["", part];
  });
}

export class ScramMechanism implements SaslMechanism {
  readonly mechanism: string;
  readonly username: string;
  readonly #password: string;
  readonly #hash: HashName;
  readonly #tokenAuth: boolean;
  readonly #maxIterations: number;
  readonly #nonce: () => string;

  /** `hash` is pluggable so RFC 5802's SCRAM-SHA-1 example can be checked; Kafka offers SHA-256 and SHA-512. */
  constructor(mechanism: string, hash: HashName, options: ScramOptions) {
    checkCredentials(mechanism, options);
    const max = options.maxIterations ?? SCRAM_MAX_ITERATIONS;
    if (!Number.isSafeInteger(max) || max < SCRAM_MIN_ITERATIONS) {
      throw new ClientError("INVALID_CONFIG", `Invalid sasl ${mechanism} maxIterations ${max}: expected an integer ≥ ${SCRAM_MIN_ITERATIONS}`);
    }
    this.mechanism = mechanism;
    this.username = options.username;
    this.#password = options.password;
    this.#hash = hash;
    this.#tokenAuth = options.tokenAuth === true;
    this.#maxIterations = max;
    this.#nonce = options.nonce ?? (() => toBase64(randomBytes(24)));
    describeAs(this, mechanism, { username: this.username, ...(this.#tokenAuth ? { tokenAuth: true } : {}) });
  }

  client(context: SaslContext): SaslClient {
    const name = this.mechanism;
    const hash = this.#hash;
    const password = this.#password;
    const maxIterations = this.#maxIterations;
    const fail = (reason: string, code?: number) => saslError(name, context, reason, code);
    const clientNonce = this.#nonce();
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw fail("client nonce must be printable ASCII without ','");
    const clientFirstBare = `n=${saslName(this.username)},r=${clientNonce}${this.#tokenAuth ? ",tokenauth=true" : ""}`;
    let state: "first" | "final" | "done" = "first";
    let serverSignature: Uint8Array | undefined;

    const text = (bytes: Uint8Array, what: string): string => {
      try {
        return fromUtf8(bytes);
      } catch {
        throw fail(`${what} is not UTF-8`);
      }
    };

    return {
      start: async () => utf8(`n,,${clientFirstBare}`),

      next: async (serverMessage) => {
        if (state === "first") {
          const serverFirst = text(serverMessage, "server-first-message");
          const attrs = attributes(serverFirst);
          if (attrs[0]?.[0] === "e") throw fail(`server error "${attrs[0][1]}"`);
          if (attrs[0]?.[0] === "m") throw fail("server requires an unsupported mandatory extension");
          const [[r, nonce] = ["", ""], [s, salt64] = ["", ""], [i, iterText] = ["", ""]] = attrs;
          if (r !== "r" || s !== "s" || i !== "i") throw fail("malformed server-first-message (expected r=…,s=…,i=…)");
          // The server appends its nonce to ours; anything else is a replay or a broken server.
          if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) {
            throw fail("server nonce does not extend the client nonce");
          }
          const salt = fromBase64(salt64);
          if (!salt || salt.length === 0) throw fail("server salt is not base64");
          if (!/^[0-9]{1,10}$/.test(iterText)) throw fail(`invalid iteration count "${iterText.slice(0, 20)}"`);
          const iterations = Number(iterText);
          if (iterations < SCRAM_MIN_ITERATIONS) throw fail(`iteration count ${iterations} is below the minimum ${SCRAM_MIN_ITERATIONS}`);
          if (iterations > maxIterations) throw fail(`iteration count ${iterations} is above maxIterations ${maxIterations}`);

          const salted = await pbkdf2(hash, utf8(password), salt, iterations, HASH_BYTES[hash]);
          const clientKey = await hmac(hash, salted, utf8("Client Key"));
          const storedKey = await digest(hash, clientKey);
          const clientFinalWithoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,"): no channel binding
          const authMessage = utf8(`${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`);
          const proof = xor(clientKey, await hmac(hash, storedKey, authMessage));
          serverSignature = await hmac(hash, await hmac(hash, salted, utf8("Server Key")), authMessage);
          state = "final";
          return utf8(`${clientFinalWithoutProof},p=${toBase64(proof)}`);
        }
        if (state === "final") {
          const [[k, v] = ["", ""]] = attributes(text(serverMessage, "server-final-message"));
          if (k === "e") throw fail(`server error "${v}"`);
          const signature = k === "v" ? fromBase64(v) : null;
          if (!signature) throw fail("malformed server-final-message (expected v=…)");
          // A server that cannot prove it knows the credentials is not the server they were stored on.
          if (!timingSafeEqual(signature, serverSignature!)) throw fail("invalid server signature");
          state = "done";
          return null;
        }
        throw fail("broker sent a message after the exchange completed", ILLEGAL_SASL_STATE);
      },
    };
  }
}

/** SCRAM-SHA-256 with the given username and password. */
export const scramSha256 = (options: ScramOptions): SaslMechanism => new ScramMechanism("SCRAM-SHA-256", "SHA-256", options);
/** SCRAM-SHA-512 with the given username and password. */
export const scramSha512 = (options: ScramOptions): SaslMechanism => new ScramMechanism("SCRAM-SHA-512", "SHA-512", options);
