/**
 * Compressed RecordBatches: loaded with a compression codec (src/compression/index.ts), so a producer
 * without compression does not carry this in its bundle.
 */
import type { BatchHeader, Codec, RecordBatchBuilder } from "./codec.ts";
import type { CompressionCodec } from "../src/compression/codec.ts";

/** Bytes of a RecordBatch v2 header, before the records section. */
const BATCH_HEADER_SIZE = 61;

/**
 * Encodes `builder`'s records as one RecordBatch with the records section compressed by `compression`
 * (attribute bits set accordingly); synchronous when `compression.compress` is.
 */
export function buildCompressed(codec: Codec, builder: RecordBatchBuilder, header: BatchHeader, compression: CompressionCodec): Uint8Array | Promise<Uint8Array> {
  const batch = builder.encode(header, compression.attribute, `build a ${compression.name} RecordBatch`);
  const head = batch.slice(0, BATCH_HEADER_SIZE);
  // A view, no copy: compress reads its input before it returns (CompressionCodec's contract);
  // its output leaves room for the header, so the batch is framed without copying it again.
  const c = compression.compress(batch.subarray(BATCH_HEADER_SIZE), BATCH_HEADER_SIZE);
  const frame = (out: Uint8Array) => {
    out.set(head);
    const dv = new DataView(out.buffer, out.byteOffset);
    dv.setInt32(8, out.length - 12); // batchLength
    dv.setUint32(17, codec.crc32c(out.subarray(21))); // CRC over attributes..end
    return out;
  };
  if (c instanceof Uint8Array) return frame(c);
  // A compression thread that failed (crashed, closed, answered garbage) leaves the batch to its
  // inline codec: encoded again (the builder still holds the records), so no record is lost to it.
  const inline = compression.inline;
  return inline ? c.then(frame, () => buildCompressed(codec, builder, header, inline)) : c.then(frame);
}
