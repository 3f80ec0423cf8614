// Minimal raw Kafka-wire client for harness tests: sends hand-built request frames over TCP and
// returns the response frames. Independent of src/protocol on purpose (it tests the mock, not us).
import { connect } from "node:net";
import { crc32c } from "@node-rs/crc32";

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
export function exchange(host: string, port: number, frames: Uint8Array[], expect: number, timeoutMs = 15_000): Promise<{ frame: Buffer; elapsedMs: number }[]> {
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

function zigzagVarint(n: number): number[] {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  const out: number[] = [];
  while (z > 0x7f) { out.push((z & 0x7f) | 0x80); z >>>= 7; }
  out.push(z);
  return out;
}

function kafkaString(s: string): Buffer {
  const b = Buffer.from(s);
  const h = Buffer.alloc(2);
  h.writeInt16BE(b.length);
  return Buffer.concat([h, b]);
}

/**
 * A RecordBatch v2 (uncompressed, no keys or headers) written straight from the format spec, for
 * probing the mock; not our encoder on purpose. `crc` overrides the computed CRC32C.
 */
export function rawRecordBatch(o: { values: Uint8Array[]; producerId?: bigint; producerEpoch?: number; baseSequence?: number; crc?: number }): Buffer {
  const records = o.values.map((v, i) => {
    const body = Buffer.concat([Buffer.from([0, ...zigzagVarint(0), ...zigzagVarint(i), ...zigzagVarint(-1), ...zigzagVarint(v.length)]), v, Buffer.from(zigzagVarint(0))]);
    return Buffer.concat([Buffer.from(zigzagVarint(body.length)), body]);
  });
  const fixed = Buffer.alloc(40); // attributes .. record count
  const now = BigInt(Date.now());
  fixed.writeInt16BE(0, 0);
  fixed.writeInt32BE(o.values.length - 1, 2);
  fixed.writeBigInt64BE(now, 6);
  fixed.writeBigInt64BE(now, 14);
  fixed.writeBigInt64BE(o.producerId ?? -1n, 22);
  fixed.writeInt16BE(o.producerEpoch ?? -1, 30);
  fixed.writeInt32BE(o.baseSequence ?? -1, 32);
  fixed.writeInt32BE(o.values.length, 36);
  const crcPart = Buffer.concat([fixed, ...records]);
  const head = Buffer.alloc(21);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(4 + 1 + 4 + crcPart.length, 8);
  head.writeInt32BE(-1, 12);
  head.writeInt8(2, 16);
  head.writeUInt32BE((o.crc ?? crc32c(crcPart)) >>> 0, 17);
  return Buffer.concat([head, crcPart]);
}

/** Produce v3 request body (transactional_id null) for one topic. */
export function produceV3Body(topic: string, partitions: { index: number; records: Uint8Array }[], acks = -1, timeoutMs = 5_000): Buffer {
  const head = Buffer.alloc(12);
  head.writeInt16BE(-1, 0);
  head.writeInt16BE(acks, 2);
  head.writeInt32BE(timeoutMs, 4);
  head.writeInt32BE(1, 8);
  const parts = partitions.map((p) => {
    const h = Buffer.alloc(8);
    h.writeInt32BE(p.index, 0);
    h.writeInt32BE(p.records.length, 4);
    return Buffer.concat([h, p.records]);
  });
  const n = Buffer.alloc(4);
  n.writeInt32BE(partitions.length);
  return Buffer.concat([head, kafkaString(topic), n, ...parts]);
}

/** Produce v3 response (one topic) → per-partition error code and base offset. */
export function parseProduceV3(frame: Buffer): { correlationId: number; partitions: { index: number; errorCode: number; baseOffset: bigint }[] } {
  let o = 4;
  o += 4; // topic count (1)
  o += 2 + frame.readInt16BE(o);
  const n = frame.readInt32BE(o); o += 4;
  const partitions = [];
  for (let i = 0; i < n; i++) {
    partitions.push({ index: frame.readInt32BE(o), errorCode: frame.readInt16BE(o + 4), baseOffset: frame.readBigInt64BE(o + 6) });
    o += 4 + 2 + 8 + 8; // + log_append_time
  }
  return { correlationId: frame.readInt32BE(0), partitions };
}

/** InitProducerId v0 (no transactional id) request body, and its response. */
export function initProducerIdV0Body(transactionTimeoutMs = 60_000): Buffer {
  const b = Buffer.alloc(6);
  b.writeInt16BE(-1, 0);
  b.writeInt32BE(transactionTimeoutMs, 2);
  return b;
}
export function parseInitProducerIdV0(frame: Buffer): { errorCode: number; producerId: bigint; producerEpoch: number } {
  return { errorCode: frame.readInt16BE(8), producerId: frame.readBigInt64BE(10), producerEpoch: frame.readInt16BE(18) };
}
