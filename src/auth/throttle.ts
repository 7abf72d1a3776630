/**
 * Failed-login throttling: at most `limit` failures per key (an account, an address) in a
 * window of `windowMs`; past it, attempts are refused for what is left of the window without
 * checking the password. A fixed window as in ergo's irc/connection_limits/throttler.go, with
 * the clock injected so tests drive time instead of sleeping.
 *
 * Memory is bounded: past `maxKeys` entries, expired ones are dropped, then the oldest.
 */
export type Clock = () => number;

interface Window {
  start: number;
  count: number;
}

export class Throttle {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: Clock = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. A limit of 0 never throttles. */
  retryAfter(key: string): number {
    if (this.limit <= 0) return 0;
    const w = this.windows.get(key);
    if (!w) return 0;
    const left = w.start + this.windowMs - this.now();
    if (left <= 0) {
      this.windows.delete(key);
      return 0;
    }
    return w.count >= this.limit ? left : 0;
  }

  /** Records one event (a failed login, a registration) of `key`. */
  record(key: string): void {
    if (this.limit <= 0) return;
    const t = this.now();
    const w = this.windows.get(key);
    if (w && t - w.start < this.windowMs) {
      w.count++;
      return;
    }
    if (w) this.windows.delete(key);
    if (this.windows.size >= this.maxKeys) this.prune(t);
    this.windows.set(key, { start: t, count: 1 });
  }

  get size(): number {
    return this.windows.size;
  }

  private prune(t: number): void {
    for (const [k, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(k);
    // Still full: forget the oldest windows (Map keeps insertion order).
    for (const k of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(k);
    }
  }
}
