/**
 * Codecs the runtime itself provides, registered by the entries of runtimes that have them (Node,
 * Bun, Deno: zstd-node.ts); codecs consult this before settling on their WebAssembly build alone.
 */

/** A native zstd compressor: synchronous, with CompressionCodec's headroom. */
export interface NativeZstd {
  compress(data: Uint8Array, level: number, headroom: number): Uint8Array;
}

let zstdProvider: (() => Promise<NativeZstd | null>) | undefined;

/** Registers where native zstd comes from (it answers null where the runtime has none). */
export function setNativeZstd(provider: () => Promise<NativeZstd | null>): void {
  zstdProvider = provider;
}

/** The runtime's zstd compressor, or null. */
export function nativeZstd(): Promise<NativeZstd | null> {
  return zstdProvider ? zstdProvider().catch(() => null) : Promise.resolve(null);
}
