/**
 * SASL, sans-IO: a mechanism produces a fresh client per authentication (one per connection, and one per
 * KIP-368 re-authentication); `authenticate` drives it over a function that sends one SaslAuthenticate
 * payload and returns the broker's response, so the connection layer only has to supply that function.
 *
 * Secrets live in `#private` fields of the mechanism objects: they never reach an error message,
 * `toString()`, `JSON.stringify` or `util.inspect` / Deno's inspect (each shows the mechanism name and the
 * non-secret options only).
 */
import { KafkaError, kafkaErrorFor, KafkasmError } from "../../errors.ts";
import type { SaslAuthenticateResponse } from "../../protocol/sasl-authenticate.ts";
import type { SaslHandshakeResponse } from "../../protocol/sasl-handshake.ts";

/** Kafka's error codes for SASL failures. */
export const UNSUPPORTED_SASL_MECHANISM = 33;
export const ILLEGAL_SASL_STATE = 34;
export const SASL_AUTHENTICATION_FAILED = 58;

/** What a mechanism knows of the connection it authenticates. */
export interface SaslContext {
  /** The broker, as error messages name it, e.g. `broker 1 (b1.example.com:9096)`. */
  broker: string;
}

/** One authentication exchange (RFC 4422 client side); used once, then dropped. */
export interface SaslClient {
  /** The client's first message (every mechanism here is client-first). */
  start(): Promise<Uint8Array>;
  /** The answer to the broker's message, or null when the exchange is complete on the client's side. */
  next(serverMessage: Uint8Array): Promise<Uint8Array | null>;
  /** What the mechanism learned of a failure from the broker's own messages (OAUTHBEARER's JSON status). */
  failureDetail?(): string | undefined;
}

export interface SaslMechanism {
  /** The name sent in SaslHandshake, e.g. "SCRAM-SHA-512". */
  readonly mechanism: string;
  /** A client for one exchange with the broker named by `context`. */
  client(context: SaslContext): SaslClient;
}

/** Sends one SaslAuthenticate request carrying `authBytes` and resolves with the broker's response. */
export type SaslSend = (authBytes: Uint8Array) => Promise<SaslAuthenticateResponse>;

export interface SaslResult {
  /** The broker's session lifetime (KIP-368): re-authenticate before it passes; 0 = none (or SaslAuthenticate v0). */
  sessionLifetimeMs: number;
}

// No mechanism here needs more than two rounds; a broker that keeps asking is broken or hostile.
const MAX_ROUNDS = 8;

/** The error for a failed exchange: SASL_AUTHENTICATION_FAILED unless told otherwise; never carries a secret. */
export function saslError(mechanism: string, context: SaslContext, reason: string, errorCode = SASL_AUTHENTICATION_FAILED,
  cause?: unknown): KafkaError {
  return new KafkaError(errorCode, `SASL ${mechanism} authentication with ${context.broker} failed: ${reason}`,
    cause === undefined ? undefined : { cause });
}

/**
 * Runs one SASL exchange after a successful SaslHandshake v1: the client's first message, then one
 * SaslAuthenticate round per broker challenge until the mechanism is done. A broker error fails at once
 * with a KafkaError (58 SASL_AUTHENTICATION_FAILED for bad credentials; not retriable) naming the
 * mechanism, the broker and the broker's reason.
 */
export async function authenticate(send: SaslSend, mechanism: SaslMechanism, context: SaslContext): Promise<SaslResult> {
  const name = mechanism.mechanism;
  const client = mechanism.client(context);
  let message: Uint8Array | null = await wrapped(name, context, () => client.start());
  for (let round = 0; message !== null; round++) {
    if (round === MAX_ROUNDS) throw saslError(name, context, `broker still challenging after ${MAX_ROUNDS} rounds`, ILLEGAL_SASL_STATE);
    const res = await send(message);
    if (res.errorCode !== 0) {
      const info = kafkaErrorFor(res.errorCode).code;
      const detail = client.failureDetail?.();
      const reason = `${res.errorMessage ?? "broker gave no reason"} (${info} ${res.errorCode})${detail ? `; ${detail}` : ""}`;
      throw saslError(name, context, reason, res.errorCode);
    }
    message = await wrapped(name, context, () => client.next(res.authBytes));
    if (message === null) return { sessionLifetimeMs: res.sessionLifetimeMs };
  }
  throw saslError(name, context, "mechanism sent nothing", ILLEGAL_SASL_STATE); // unreachable: start() returns bytes
}

// kafkasm's own errors pass through (a bad server signature, an invalid token from the provider); anything
// else (a token provider's TypeError…) becomes a SASL failure that keeps the original as its cause.
async function wrapped<T>(name: string, context: SaslContext, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof KafkasmError) throw e;
    throw saslError(name, context, e instanceof Error ? e.message : String(e), SASL_AUTHENTICATION_FAILED, e);
  }
}

/**
 * Checks the broker's SaslHandshake answer: UNSUPPORTED_SASL_MECHANISM names what the broker enables.
 */
export function checkHandshake(res: SaslHandshakeResponse, mechanism: string, context: SaslContext): void {
  if (res.errorCode === 0) return;
  if (res.errorCode === UNSUPPORTED_SASL_MECHANISM) {
    throw saslError(mechanism, context,
      `the listener does not enable ${mechanism}; it enables ${res.mechanisms.length ? res.mechanisms.join(", ") : "none"}`,
      UNSUPPORTED_SASL_MECHANISM);
  }
  throw saslError(mechanism, context, `SaslHandshake returned ${kafkaErrorFor(res.errorCode).code} (${res.errorCode})`, res.errorCode);
}

/**
 * Makes `target` show only `view` to toString, JSON.stringify, Node's util.inspect and Deno's inspect
 * (its secrets are `#private` already; this keeps the printed form short and stable).
 */
export function describeAs(target: object, label: string, view: Record<string, unknown>): void {
  const shown = () => ({ mechanism: label, ...view });
  Object.defineProperties(target, {
    toJSON: { value: shown },
    toString: { value: () => `SaslMechanism ${JSON.stringify(shown())}` },
    [Symbol.for("nodejs.util.inspect.custom")]: { value: () => shown() },
    [Symbol.for("Deno.customInspect")]: { value: () => `SaslMechanism ${JSON.stringify(shown())}` },
  });
}
