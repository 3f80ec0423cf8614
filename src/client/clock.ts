/**
 * Time and randomness, injected so that the client core (producer, consumer, connections) never touches timers directly and tests
 * can drive linger, backoff, request and delivery timeouts deterministically.
 */

/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** What the client needs from the runtime's clock. */
export interface Clock {
  /** Milliseconds since the epoch (record timestamps and every deadline use it). */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
  /** A number in [0, 1) for backoff jitter and the sticky partitioner. */
  random(): number;
}

/** The runtime's own clock, from `globalThis` (works in browsers, Deno, Node, Bun and workerd). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  random: () => Math.random(),
};
