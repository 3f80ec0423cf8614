// esbuild bundles built by scripts/build.mjs. Add an entry per published entry point / runtime.

/** Browser bundles take the codec's WASM as a fetched file instead of inline base64. */
const browserWasmSource = {
  name: "browser-wasm-source",
  setup(build) {
    build.onResolve({ filter: /\/wasm-source\.ts$/ }, () => ({ path: new URL("../bindings/wasm-source.browser.ts", import.meta.url).pathname }));
  },
};
export const bundles = [
  // Compression codecs (zstd's inline WASM is 336 KB) in chunks loaded on first use: a client without them starts faster.
  { entryPoints: ["src/index.ts"], outdir: "dist/node", entryNames: "index", chunkNames: "chunks/[name]-[hash]", splitting: true,
    platform: "node", target: "node20", external: ["ws"] },
  { entryPoints: ["src/codec.ts"], outfile: "dist/node/codec.js", platform: "node", target: "node20" },
  // kafkasm/consumer: a separate entry so the browser producer bundle never carries the consumer; codecs in chunks too.
  { entryPoints: ["src/consumer-node.ts"], outdir: "dist/node", entryNames: "consumer", chunkNames: "chunks/[name]-[hash]", splitting: true,
    platform: "node", target: "node20" },
  { entryPoints: ["src/consumer-deno.ts"], outdir: "dist/deno", entryNames: "consumer", chunkNames: "chunks/[name]-[hash]", splitting: true, platform: "neutral", target: "es2022" },
  { entryPoints: ["src/consumer-bun.ts"], outdir: "dist/bun", entryNames: "consumer", chunkNames: "chunks/[name]-[hash]", splitting: true, platform: "neutral", target: "es2022" },
  { entryPoints: ["src/consumer-workerd.ts"], outdir: "dist/workerd", entryNames: "consumer", assetNames: "[name]", chunkNames: "chunks/[name]-[hash]",
    splitting: true, loader: { ".wasm": "copy" }, platform: "neutral", target: "es2022", external: ["cloudflare:sockets"] },
  // The CLI, split so a command loads only its own dependencies (`produce` neither the proxy's ws nor node:tls).
  // The producer it imports is an entry of its own (cli-producer.js), so that its import.meta.url finds
  // compression-worker.js beside it.
  { entryPoints: { cli: "src/cli/main.ts", "cli-producer": "src/index.ts" }, outdir: "dist/node", chunkNames: "chunks/[name]-[hash]", splitting: true,
    platform: "node", target: "node20", external: ["ws"] },
  { entryPoints: ["src/proxy/proxy.ts"], outfile: "dist/node/proxy.js", platform: "node", target: "node20", external: ["ws"] },
  // kafkasm/otel: one neutral file for every runtime; @opentelemetry/api is the application's (peer dependency).
  { entryPoints: ["src/otel.ts"], outfile: "dist/otel/index.js", platform: "neutral", target: "es2022", external: ["@opentelemetry/api"] },
  // Browser: minified ESM; compression codecs are split into chunks loaded on first use (bench/size.ts);
  // the codec's WASM is a file next to the bundle, fetched on first use (bindings/wasm-source.browser.ts).
  { entryPoints: ["src/browser.ts"], outdir: "dist/browser", entryNames: "kafkasm", chunkNames: "chunks/[name]-[hash]",
    assetNames: "[name]-[hash]", loader: { ".wasm": "file" }, plugins: [browserWasmSource],
    splitting: true, minify: true, platform: "browser", target: "es2022" },
  // kafkasm/consumer for browsers: its own entry (the producer's kafkasm.js budget is untouched), same WASM and chunk handling.
  { entryPoints: ["src/consumer-browser.ts"], outdir: "dist/browser", entryNames: "consumer", chunkNames: "chunks/[name]-[hash]",
    assetNames: "[name]-[hash]", loader: { ".wasm": "file" }, plugins: [browserWasmSource],
    splitting: true, minify: true, platform: "browser", target: "es2022" },
  // workerd: the codec's .wasm stays a module import (copied next to index.js) because Workers forbid compiling bytes.
  // (a workerd config lists index.js, kafkasm.wasm and every chunks/*.js as modules)
  { entryPoints: ["src/workerd.ts"], outdir: "dist/workerd", entryNames: "index", assetNames: "[name]", chunkNames: "chunks/[name]-[hash]",
    splitting: true, loader: { ".wasm": "copy" }, platform: "neutral", target: "es2022", external: ["cloudflare:sockets"] },
  { entryPoints: ["src/deno.ts"], outdir: "dist/deno", entryNames: "index", chunkNames: "chunks/[name]-[hash]", splitting: true, platform: "neutral", target: "es2022", external: ["node:*"] },
  { entryPoints: ["src/bun.ts"], outdir: "dist/bun", entryNames: "index", chunkNames: "chunks/[name]-[hash]", splitting: true, platform: "neutral", target: "es2022", external: ["node:*"] },
  // The compression thread, next to each runtime's index.js (its entry names it; after the outdir bundles, which empty their dir).
  { entryPoints: ["src/compression/worker-entry.ts"], outfile: "dist/node/compression-worker.js", platform: "node", target: "node20" },
  { entryPoints: ["src/compression/worker-entry.ts"], outfile: "dist/deno/compression-worker.js", platform: "neutral", target: "es2022", external: ["node:*"] },
  { entryPoints: ["src/compression/worker-entry.ts"], outfile: "dist/bun/compression-worker.js", platform: "neutral", target: "es2022", external: ["node:*"] },
];
