/**
 * Time for the client's reconnect, keepalive and retry logic, injectable so that tests drive
 * time instead of sleeping (STYLE.md, "Inject clocks and timers").
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Exponential backoff with jitter: the ceiling doubles from `initialMs` up to `maxMs`, and the
 * delay is drawn from its upper half, so a classroom of clients does not reconnect in lockstep
 * when the server comes back, yet nobody waits much less than the ceiling.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
