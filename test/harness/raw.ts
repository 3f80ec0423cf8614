// Minimal raw Kafka-wire client for harness tests: sends hand-built request frames over TCP and
// returns the response frames. Independent of src/protocol on purpose (it tests the mock, not us).
import { connect } from "node:net";

/** Builds a request frame (size prefix + header v1 + body) with a null client id. */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(4 + 2 + 2 + 4 + 2);
  head.writeInt32BE(head.length - 4 + body.length, 0);
  head.writeInt16BE(apiKey, 4);
  head.writeInt16BE(apiVersion, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(-1, 12); // client_id: null
  return Buffer.concat([head, body]);
}

/**
 * Sends `frames` on one connection and resolves with the first `expect` response frames (without
 * their size prefix) and the time each arrived after sending. Rejects on timeout or close.
 */
export function exchange(host: string, port: number, frames: Uint8Array[], expect: number, timeoutMs = 5_000): Promise<{ frame: Buffer; elapsedMs: number }[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const out: { frame: Buffer; elapsedMs: number }[] = [];
    let buf = Buffer.alloc(0);
    let started = 0;
    const done = (err?: Error) => { clearTimeout(timer); socket.destroy(); if (err) reject(err); else resolve(out); };
    const timer = setTimeout(() => done(new Error(`No ${expect} responses from ${host}:${port} within ${timeoutMs} ms (got ${out.length})`)), timeoutMs);
    socket.on("connect", () => { started = performance.now(); for (const f of frames) socket.write(f); if (expect === 0) done(); });
    socket.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const size = buf.readInt32BE(0);
        out.push({ frame: buf.subarray(4, 4 + size), elapsedMs: performance.now() - started });
        buf = buf.subarray(4 + size);
        if (out.length === expect) return done();
      }
    });
    socket.on("error", (e) => done(e));
    socket.on("close", () => done(new Error(`Connection to ${host}:${port} closed after ${out.length} of ${expect} responses`)));
  });
}

/** ApiVersions v0 response: correlation id, error code, and the advertised ranges. */
export function parseApiVersionsV0(frame: Buffer): { correlationId: number; errorCode: number; apis: { apiKey: number; min: number; max: number }[] } {
  const correlationId = frame.readInt32BE(0);
  const errorCode = frame.readInt16BE(4);
  const n = frame.readInt32BE(6);
  const apis = [];
  for (let i = 0, o = 10; i < n && o + 6 <= frame.length; i++, o += 6) {
    apis.push({ apiKey: frame.readInt16BE(o), min: frame.readInt16BE(o + 2), max: frame.readInt16BE(o + 4) });
  }
  return { correlationId, errorCode, apis };
}
