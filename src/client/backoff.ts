/**
 * The one backoff: Kafka's exponential backoff with jitter (ExponentialBackoff.java, as used for
 * retry.backoff.ms / retry.backoff.max.ms and reconnect.backoff.ms / reconnect.backoff.max.ms):
 * `baseMs · 2^attempt` capped at `maxMs`, times a factor in [0.8, 1.2) from `random` (the injected
 * clock's, in [0, 1)), capped at `maxMs` again. `attempt` counts from 0 (the first retry waits ~baseMs).
 */
export function backoff(attempt: number, baseMs: number, maxMs: number, random: number): number {
  // 2^30 already passes any int32 millisecond value: larger exponents change nothing.
  return Math.min(maxMs, Math.round(Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30)) * (0.8 + 0.4 * random)));
}
