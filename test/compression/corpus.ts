/**
 * A deterministic, realistic telemetry corpus: newline-separated JSON events like a browser or
 * service would ship (page views, HTTP spans, metrics, errors), from a seeded PRNG, so ratios are
 * comparable between runs and codecs. Shared by the tests and bench/compression.ts.
 */

/** mulberry32: a tiny seeded PRNG (deterministic across runtimes). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const services = ["checkout", "cart", "search", "auth", "catalog", "payments", "recommendations", "gateway"];
const regions = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1"];
const paths = ["/", "/products", "/products/:id", "/cart", "/checkout", "/api/v2/search", "/api/v2/orders/:id", "/login", "/account/settings"];
const methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const agents = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
  "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
];
const metrics = ["cpu.utilization", "memory.rss", "http.server.duration", "db.pool.active", "gc.pause"];
const errors = ["TypeError: Cannot read properties of undefined (reading 'id')", "TimeoutError: upstream request exceeded 3000 ms", "ValidationError: email is required"];

/** One telemetry event as a JSON string; `i` is its index, `rnd` the shared PRNG. */
function event(i: number, rnd: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const hex = (n: number) => { let s = ""; for (let k = 0; k < n; k++) s += "0123456789abcdef"[Math.floor(rnd() * 16)]; return s; };
  const ts = 1_732_000_000_000 + i * 37 + Math.floor(rnd() * 30);
  const kind = rnd();
  if (kind < 0.45) {
    const status = rnd() < 0.93 ? 200 : pick([301, 404, 500, 503]);
    return JSON.stringify({
      type: "http.request", ts, service: pick(services), region: pick(regions), trace_id: hex(32), span_id: hex(16),
      method: pick(methods), route: pick(paths), status, duration_ms: Math.round(rnd() * rnd() * 2500 * 100) / 100,
      user_agent: pick(agents), client: { ip: `10.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`, country: pick(["DE", "FR", "US", "GB", "SG", "NL"]) },
    });
  }
  if (kind < 0.75) {
    return JSON.stringify({
      type: "metric", ts, name: pick(metrics), service: pick(services), host: `ip-10-0-${Math.floor(rnd() * 16)}-${Math.floor(rnd() * 256)}`,
      value: Math.round(rnd() * 10000) / 100, unit: pick(["percent", "bytes", "ms", "count"]), tags: { env: "production", region: pick(regions), version: `1.${Math.floor(rnd() * 20)}.${Math.floor(rnd() * 10)}` },
    });
  }
  if (kind < 0.95) {
    return JSON.stringify({
      type: "page_view", ts, session_id: hex(24), user_id: rnd() < 0.6 ? `u_${Math.floor(rnd() * 100000)}` : null, url: `https://shop.example.com${pick(paths).replace(":id", String(Math.floor(rnd() * 5000)))}`,
      referrer: rnd() < 0.5 ? "https://www.google.com/" : null, viewport: { w: pick([390, 768, 1280, 1440, 1920]), h: pick([844, 1024, 720, 900, 1080]) }, lcp_ms: Math.round(rnd() * 4000), cls: Math.round(rnd() * 30) / 100,
    });
  }
  return JSON.stringify({
    type: "error", ts, service: pick(services), level: "error", message: pick(errors), trace_id: hex(32),
    stack: `    at handler (/app/src/${pick(services)}/index.js:${Math.floor(rnd() * 400)}:${Math.floor(rnd() * 80)})\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`,
  });
}

/** The events, one JSON document each (deterministic for a given count and seed). */
export function telemetryEvents(count: number, seed = 42): string[] {
  const rnd = prng(seed);
  const out: string[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = event(i, rnd);
  return out;
}

/** At least `bytes` of newline-separated telemetry JSON, cut to exactly `bytes` (UTF-8, ASCII only). */
export function telemetryCorpus(bytes: number, seed = 42): Uint8Array {
  const out = new Uint8Array(bytes);
  const enc = new TextEncoder();
  const rnd = prng(seed);
  let o = 0, i = 0;
  while (o < bytes) {
    const line = enc.encode(event(i++, rnd) + "\n");
    out.set(line.subarray(0, Math.min(line.length, bytes - o)), o);
    o += line.length;
  }
  return out;
}

/** Incompressible bytes (seeded PRNG output). */
export function noise(bytes: number, seed = 7): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

/** The edge cases every codec must round-trip. */
export function edgeCases(): { name: string; data: Uint8Array }[] {
  const long = new Uint8Array(300_000).fill(0x61);
  const pattern = new Uint8Array(200_000);
  for (let i = 0; i < pattern.length; i++) pattern[i] = "abcdefg"[i % 7]!.charCodeAt(0);
  const mixed = new Uint8Array(150_000);
  mixed.set(telemetryCorpus(50_000, 3), 0); mixed.set(noise(50_000, 9), 50_000); mixed.set(telemetryCorpus(50_000, 3), 100_000);
  return [
    { name: "empty", data: new Uint8Array(0) },
    { name: "1 byte", data: new Uint8Array([0x42]) },
    { name: "2-16 bytes", data: new TextEncoder().encode("kafka is fine.\n") },
    { name: "17 bytes", data: new TextEncoder().encode("0123456789abcdefg") },
    { name: "incompressible 100 KiB", data: noise(100 * 1024) },
    { name: "long run of one byte (300 KB)", data: long },
    { name: "short repeating pattern (200 KB)", data: pattern },
    { name: "telemetry around a 32 KiB chunk boundary", data: telemetryCorpus(32 * 1024 + 1) },
    { name: "telemetry 64 KiB exactly", data: telemetryCorpus(64 * 1024) },
    { name: "telemetry 64 KiB + 1 (over one LZ4 block)", data: telemetryCorpus(64 * 1024 + 1) },
    { name: "telemetry, noise, telemetry (150 KB)", data: mixed },
    { name: "telemetry 1 MiB", data: telemetryCorpus(1 << 20) },
  ];
}

/** Byte equality that reports the first difference. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
