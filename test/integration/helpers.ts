/** Shared checks for the integration tests: what kcat reads back. */
import * as assert from "uvu/assert";
import type { KcatRecord } from "../harness/kcat.ts";

/** Values are "key:n" with n increasing per key in send order. Asserts exactly once and per-key order. */
export function assertExactlyOnceInKeyOrder(records: KcatRecord[], expected: number): void {
  const seen = new Set<string>();
  const lastByKey = new Map<string, { n: number; partition: number }>();
  for (const r of records) {
    const v = r.payload!;
    assert.ok(!seen.has(v), `duplicate ${v} at ${r.partition}/${r.offset}`);
    seen.add(v);
    const [k, n] = v.split(":");
    assert.is(r.key, k);
    const last = lastByKey.get(k);
    if (last) {
      assert.is(r.partition, last.partition, `key ${k} stays on one partition`);
      assert.ok(Number(n) > last.n, `key ${k}: ${n} after ${last.n} (offset ${r.offset})`);
    }
    lastByKey.set(k, { n: Number(n), partition: r.partition });
  }
  assert.is(seen.size, expected);
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
