/** A token bucket with an injected clock, so tests drive time instead of sleeping. */
export type Clock = () => number;

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly ratePerSecond: number, private readonly burst: number, private readonly now: Clock = Date.now) {
    this.tokens = burst;
    this.last = now();
  }
  /** Takes one token; false when the bucket is empty. A rate of 0 means unlimited. */
  take(): boolean {
    if (this.ratePerSecond <= 0) return true;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
