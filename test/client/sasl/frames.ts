// A `SaslSend` for tests that goes through real SaslAuthenticate frames at `version`: the client's request
// is encoded, decoded by the broker's half, answered by `handler`, and the response frame decoded again.
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, readRequestHeader } from "../../../src/protocol/frame.ts";
import { SaslAuthenticate, SaslAuthenticateServer, type SaslAuthenticateResponse } from "../../../src/protocol/sasl-authenticate.ts";
import type { SaslSend } from "../../../src/client/sasl/mechanism.ts";

export type SaslHandler = (authBytes: Uint8Array, round: number) => Partial<SaslAuthenticateResponse>;

export function saslSend(version: number, handler: SaslHandler, sent: Uint8Array[] = []): SaslSend {
  let round = 0;
  return async (authBytes) => {
    const frame = encodeRequestFrame(SaslAuthenticate, version, round + 1, "kafkasm-test", { authBytes });
    const { reader } = readRequestHeader(frame.slice(4), () => SaslAuthenticate);
    const req = SaslAuthenticateServer.decodeRequest(reader, version);
    sent.push(req.authBytes.slice());
    const res: SaslAuthenticateResponse = { errorCode: 0, errorMessage: null, authBytes: new Uint8Array(0), sessionLifetimeMs: 0, ...handler(req.authBytes, round++) };
    return decodeResponseFrame(SaslAuthenticate, version, encodeResponseFrame(SaslAuthenticateServer, version, round, res).subarray(4));
  };
}

export const text = (b: Uint8Array) => new TextDecoder().decode(b);
export const bytes = (s: string) => new TextEncoder().encode(s);

/** Runs `fn` and returns what it threw (fails when it resolves). */
export async function rejection(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, but it resolved");
}
