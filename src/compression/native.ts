/**
 * Codecs the runtime itself provides, registered by the entries of runtimes that have them (Node,
 * Bun, Deno: zstd-node.ts); codecs consult this before loading their WebAssembly build.
 */

/** zstd by a native library: synchronous, with CompressionCodec's headroom and output cap. */
export interface NativeZstd {
  compress(data: Uint8Array, level: number, headroom: number): Uint8Array;
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array;
}

let zstdProvider: (() => Promise<NativeZstd | null>) | undefined;

/** Registers where native zstd comes from (it answers null where the runtime has none). */
export function setNativeZstd(provider: () => Promise<NativeZstd | null>): void {
  zstdProvider = provider;
}

/** The runtime's zstd, or null: the codec then uses its WebAssembly build. */
export function nativeZstd(): Promise<NativeZstd | null> {
  return zstdProvider ? zstdProvider().catch(() => null) : Promise.resolve(null);
}
