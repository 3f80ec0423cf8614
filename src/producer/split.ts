/**
 * MESSAGE_TOO_LARGE (the broker's or topic's message.max.bytes) for a batch of several records: as
 * the Java client does, the records are split into two batches of half as many, which are sent in
 * the original's place and order (split again if still too large). Only without idempotence: an
 * idempotent batch already used its sequence numbers, and re-sequencing safely needs the broker to
 * have nothing later in flight; such a batch fails with MESSAGE_TOO_LARGE (lower batchSize then).
 * The records are read back from the built batch (decoded, decompressed), so this rare path costs
 * the hot path nothing. The sender loads this file on demand, with a dynamic import; it imports
 * nothing the entry has but errors.ts (a module shared with the entry would become one more file the
 * browser loads up front: bench/size.ts, test/protocol/bundle.test.ts), so what it needs is passed in.
 */
import type { Codec, RecordHeader } from "../../bindings/codec.ts";
import { ClientError } from "../errors.ts";
import type { Batch } from "./accumulator.ts";
import type { ResolvedConfig } from "./config.ts";
import type { Sender, SenderHooks } from "./sender.ts";

/** RecordBatch v2 header bytes before the records section. */
const HEADER_SIZE = 61;
const decoder = new TextDecoder();
/** Halves take ids within [id, id + span) of the batch they came from (span 1 for a batch never split). */
const spans = new WeakMap<Batch, number>();

interface SplitRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

/**
 * Reads the key, value and headers of each of the `n` records of a records section this producer
 * encoded (timestamps are in the batch's Records). A lean copy of protocol/record-batch.ts's reader,
 * which is not used because it imports the codec bindings (see above); a section that does not hold
 * exactly `n` well-formed records is an error.
 */
function readRecords(section: Uint8Array, n: number): SplitRecord[] {
  let pos = 0;
  /** Zigzag varint or varlong as a number (reads past the end give 0, caught by the length checks). */
  const varint = (): number => {
    let z = 0;
    let mul = 1;
    let byte: number;
    do {
      byte = section[pos++] ?? 0;
      z += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte >= 0x80);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  };
  const bytes = (): Uint8Array | null => {
    const len = varint();
    return len < 0 ? null : section.subarray(pos, (pos += len));
  };
  const out: SplitRecord[] = [];
  for (let i = 0; i < n; i++) {
    const end = varint() + pos;
    pos++; // attributes
    varint(); // timestampDelta
    varint(); // offsetDelta
    const key = bytes();
    const value = bytes();
    const headers: RecordHeader[] = [];
    for (let h = varint(); h > 0; h--) headers.push({ key: decoder.decode(bytes()!), value: bytes() });
    if (pos !== end) throw new ClientError("CORRUPT_RECORD_BATCH", `Cannot split a batch: record ${i} ends at ${pos}, not ${end}`);
    out.push({ key, value, headers });
  }
  if (pos !== section.length) throw new ClientError("CORRUPT_RECORD_BATCH", `Cannot split a batch: ${n} records end at ${pos} of ${section.length} bytes`);
  return out;
}

/**
 * Replaces `b` (held in its partition's queue meanwhile) with two batches holding the first and the
 * second half of its records and their callbacks; `b` completes when both have. Rejects if the
 * records cannot be read back, and the sender then fails `b` with the MESSAGE_TOO_LARGE error.
 */
export async function split(b: Batch, sender: Sender, codec: Codec, config: ResolvedConfig, hooks: SenderHooks): Promise<void> {
  if (b.done) return; // failed while this file loaded
  const capacity = config.maxRequestSize;
  const bytes = b.bytes!;
  let section = bytes.subarray(HEADER_SIZE);
  const attribute = bytes[22] & 7; // compression, attributes bits 0-2
  if (attribute) section = await (await (await import("../compression/index.ts")).codecForAttribute(attribute)).decompress(section, capacity);
  const n = b.recordCount;
  const records = readRecords(section, n);
  const half = Math.ceil(n / 2);
  const span = (spans.get(b) ?? 1) / 2;
  const made: Batch[] = [];
  const make = (from: number, to: number, id: number): Batch => {
    const h = new (b.constructor as typeof Batch)(b.tp, codec.newBatchBuilder(capacity), b.createdAt);
    made.push(h);
    h.id = id;
    spans.set(h, span);
    const s = b.records;
    for (let i = from; i < to; i++) {
      const r = records[i];
      // A subset of a batch that was built fits in maxRequestSize; this is only a guard.
      if (!h.builder!.append(s.time(i), r.key, r.value, r.headers)) throw new ClientError("RECORD_TOO_LARGE", `Cannot split a batch: record ${i} does not fit ${capacity} bytes`);
      h.records.add(s.record(i), s.resolve(i), s.reject(i), s.time(i));
    }
    h.accounted = h.builder!.sizeInBytes;
    return h;
  };
  try {
    make(0, half, b.id);
    make(half, n, b.id + span);
  } catch (e) {
    for (const h of made) h.builder!.release();
    throw e;
  }
  const [first, second] = made;
  if (b.done) {
    // Failed meanwhile (close({timeoutMs}), delivery timeout): its records were told already.
    first.builder!.release();
    second.builder!.release();
    return;
  }
  b.tp.replace(b, first, second);
  // The halves' staging replaces the original's encoded bytes in bufferMemory.
  hooks.release(b.accounted - first.accounted - second.accounted);
  b.accounted = 0;
  // `b` has no records left to tell; flush() and close() may be waiting for it.
  Promise.all([first.whenDone(), second.whenDone()]).then(() => b.succeed(-1, -1, hooks.onCallbackError));
  sender.active.add(b.tp);
  sender.wake();
}
