import { test } from "uvu";
import * as assert from "uvu/assert";
import { backoff } from "../../src/client/backoff.ts";

test("doubles per attempt from baseMs, with jitter in [0.8, 1.2) of the term", () => {
  for (let attempt = 0; attempt < 4; attempt++) {
    const term = 100 * 2 ** attempt;
    assert.is(backoff(attempt, 100, 10_000, 0), Math.round(term * 0.8), `attempt ${attempt}, random 0`);
    assert.is(backoff(attempt, 100, 10_000, 0.5), term, `attempt ${attempt}, random 0.5`);
    const high = backoff(attempt, 100, 10_000, 0.999999);
    assert.ok(high <= Math.round(term * 1.2) && high > term, `attempt ${attempt}, random ~1: ${high}`);
  }
});

test("never exceeds maxMs, however many attempts (no overflow to Infinity or NaN)", () => {
  for (const attempt of [5, 10, 31, 100, 1e6]) {
    for (const r of [0, 0.5, 0.999999]) {
      const v = backoff(attempt, 50, 1000, r);
      assert.ok(Number.isFinite(v) && v <= 1000 && v >= 800, `attempt ${attempt}, random ${r}: ${v}`);
    }
  }
});

test("jitter applies to the capped term, as Java's ExponentialBackoff (random 0 at the cap gives 0.8 × maxMs)", () => {
  assert.is(backoff(20, 100, 1000, 0), 800);
  assert.is(backoff(20, 100, 1000, 0.999999), 1000);
});

test.run();
