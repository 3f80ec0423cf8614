/**
 * The compression codec registry. Each codec is a dynamic import, so a bundle carries only the
 * codecs a program uses; snappy, lz4 and zstd compile their WebAssembly once, on first use.
 */
import { ClientError } from "../errors.ts";
import type { CompressionCodec, CompressionName } from "./codec.ts";

export type { CompressionCodec, CompressionName } from "./codec.ts";

const loaded = new Map<string, Promise<CompressionCodec>>();

async function importCodec(name: Exclude<CompressionName, "none">): Promise<CompressionCodec> {
  switch (name) {
    case "gzip": return (await import("./gzip.ts")).gzipCodec;
    case "snappy": return (await import("./snappy.ts")).loadSnappyCodec();
    case "lz4": return (await import("./lz4.ts")).loadLz4Codec();
    case "zstd": return (await import("./zstd.ts")).loadZstdCodec();
  }
}

/**
 * Loads a codec by Kafka's name for it.
 * @example
 * ```ts
 * import { loadCompressionCodec } from "./index.ts";
 * const lz4 = await loadCompressionCodec("lz4");
 * const frame = await lz4.compress(new TextEncoder().encode("hello"));
 * ```
 */
export function loadCompressionCodec(name: "gzip" | "snappy" | "lz4" | "zstd"): Promise<CompressionCodec> {
  if (name !== "gzip" && name !== "snappy" && name !== "lz4" && name !== "zstd") {
    return Promise.reject(new ClientError("INVALID_CONFIG", `Unknown compression codec "${String(name)}": expected gzip, snappy, lz4 or zstd`));
  }
  let p = loaded.get(name);
  if (!p) {
    p = importCodec(name);
    loaded.set(name, p);
    p.catch(() => loaded.delete(name));
  }
  return p;
}

const byAttribute = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

/**
 * The codec a RecordBatch's attributes name (bits 0-2). Rejects with COMPRESSION_ERROR for
 * "none" (0) and for the undefined values 5-7.
 */
export function codecForAttribute(attributes: number): Promise<CompressionCodec> {
  const name = byAttribute[attributes & 7];
  if (name === undefined || name === "none") {
    return Promise.reject(new ClientError("COMPRESSION_ERROR", `Cannot decompress a batch with compression attribute ${attributes & 7}: ${name === "none" ? "it is not compressed" : "no such codec"}`));
  }
  return loadCompressionCodec(name);
}

export { buildCompressed } from "../../bindings/compressed-batch.ts";
export { onCompressionThread } from "./worker.ts";
