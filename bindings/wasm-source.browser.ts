/**
 * The browser bundle's default WASM source (it replaces wasm-source.ts there): the binary is a file
 * next to the bundle, fetched on first use. Raw WASM gzips to ~1.6 KB where base64 inside the
 * JavaScript costs ~2.3 KB, and the bytes are not a string held in memory for the page's life.
 * esbuild's file loader turns the import into the file's path relative to the importing chunk.
 */
// @ts-ignore -- the esbuild file loader (scripts/bundles.mjs) makes this the asset's relative URL.
import wasmPath from "../build/kafkasm-browser.wasm"; // the build without CRC32C folding (scripts/build.mjs)

export async function defaultWasmBytes(): Promise<BufferSource> {
  const res = await fetch(new URL(wasmPath as string, import.meta.url));
  if (!res.ok) throw new Error(`fetching ${res.url} answered HTTP ${res.status}`);
  return res.arrayBuffer();
}
