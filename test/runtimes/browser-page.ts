// What the Chromium tests share: the shipped browser bundle of `entry` (scripts/bundles.mjs) and a page in a
// temporary folder, served on 127.0.0.1 (the .wasm as application/wasm), and headless Chromium.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import * as esbuild from "esbuild";
import { chromium, type Browser } from "playwright-core";
import { within } from "../harness/bounded.ts";
import { bundleSpec, root } from "./runtime-helpers.ts";

const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };

export interface PageSite {
  /** The folder served at the site's root (the bundle is in `kafkasm/`, the page is `index.html`). */
  dir: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Builds `entry` into `<dir>/kafkasm/`, writes `page` as index.html, and serves the folder; `handle` answers
 * first (same-origin endpoints such as bench/browser's event counter) and returns false to leave a request to the files.
 */
export async function servePage(entry: string, page: string, opts: { handle?(req: IncomingMessage, res: ServerResponse): boolean } = {}): Promise<PageSite> {
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-page-"));
  const spec = await bundleSpec(entry);
  await esbuild.build({ bundle: true, format: "esm", logLevel: "warning", absWorkingDir: root, ...spec, outdir: join(dir, "kafkasm") });
  writeFileSync(join(dir, "index.html"), page);
  const http = createServer((req, res) => {
    if (opts.handle?.(req, res)) return;
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dir, path === "/" ? "index.html" : path);
    if (!file.startsWith(dir) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  return {
    dir,
    port: (http.address() as { port: number }).port,
    async close() {
      await within(new Promise<void>((r) => http.close(() => r())), 15_000, "the page server to close");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium as this machine allows it (no sandbox as root, no background networking). */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"], timeout: 90_000 });
