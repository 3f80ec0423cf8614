// esbuild bundles built by scripts/build.mjs. Add an entry per published entry point / runtime.
export const bundles = [
  { entryPoints: ["src/index.ts"], outfile: "dist/node/index.js", platform: "node", target: "node20", external: ["ws"] },
  { entryPoints: ["src/codec.ts"], outfile: "dist/node/codec.js", platform: "node", target: "node20" },
  { entryPoints: ["src/cli/main.ts"], outfile: "dist/node/cli.js", platform: "node", target: "node20", external: ["ws"] },
];
