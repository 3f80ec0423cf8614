/** Test helpers for the producer: a manual clock. */
import type { Clock } from "../../src/client/clock.ts";

/** A clock whose time only moves when the test says so; timers fire in deadline order. */
export class ManualClock implements Clock {
  t: number;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  randomValue = 0.5;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.#timers.delete(h as number);
  };
  random = (): number => this.randomValue;
  /** Pending timer deadlines, soonest first. */
  deadlines(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }
  /** Moves time forward by `ms`, firing due timers in order (with microtasks flushed between them). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (!best || e[1].at < best[1].at || (e[1].at === best[1].at && e[0] < best[0]))) best = e;
      if (!best) break;
      this.#timers.delete(best[0]);
      this.t = Math.max(this.t, best[1].at);
      best[1].fn();
    }
    this.t = end;
    await flush();
  }
}

/** Lets pending promise callbacks and a few macrotask turns run. */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
