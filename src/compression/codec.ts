/**
 * A compression codec as the RecordBatch v2 attributes bits 0-2 name it. Only the records section
 * of a batch is compressed; the 61-byte batch header stays plain.
 */
export type CompressionName = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** Attribute bits 0-2 for each codec, from Kafka's RecordBatch specification. */
export const compressionAttribute: Readonly<Record<CompressionName, 0 | 1 | 2 | 3 | 4>> = {
  none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4,
};

export interface CompressionCodec {
  readonly name: Exclude<CompressionName, "none">;
  readonly attribute: 1 | 2 | 3 | 4;
  /**
   * Compresses a records section. May be async (gzip through CompressionStream is), but reads or
   * copies `data` before returning: callers pass a view of memory they reuse at once.
   * `headroom` (default 0) bytes of unspecified content precede the compressed bytes in the result,
   * so a caller can put its header there without copying the output again (the RecordBatch framing).
   */
  compress(data: Uint8Array, headroom?: number): Uint8Array | Promise<Uint8Array>;
  /**
   * Decompresses a records section, refusing to produce more than `maxOutputBytes` (a compressed
   * batch can expand ~1000x, so decompression is capped). Throws a KafkasmError on corrupt input.
   */
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array | Promise<Uint8Array>;
  /**
   * A codec whose compress can fail for reasons of its own (the compression thread: crashed, closed)
   * names the codec that compresses the same data inline; the caller, which still has the records,
   * encodes them again for it.
   */
  readonly inline?: CompressionCodec;
}
