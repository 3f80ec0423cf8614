/**
 * The proxy's clock: time and timers in one injectable object, so idle and rate-limit tests drive a
 * manual clock instead of waiting on the wall clock.
 */
export interface ProxyClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: ProxyClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
