/**
 * Where the codec's WASM comes from by default: inlined as base64 (Node, Deno, Bun, the codec entry),
 * so there is no file to locate. The browser bundle swaps this module for wasm-source.browser.ts
 * (scripts/bundles.mjs), which fetches the binary instead; workerd passes its imported module.
 */
import wasmBase64 from "../build/kafkasm.wasm.base64.js";

export function defaultWasmBytes(): Promise<BufferSource> {
  const bin = atob(wasmBase64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return Promise.resolve(out);
}
