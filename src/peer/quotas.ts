/**
 * Per-link quotas (docs/broadcast.md, "Bad input and floods"). A link is charged for what it
 * sends: frames and bytes as they arrive, messages and new origins as they are stored. A quota
 * is a token bucket that may go into debt: the frame that overdraws it is handled, then the
 * link stops reading until the debt is paid back. The sender's TCP window fills and it slows
 * down; nothing it sent is lost, and other links and local users are not held up. Per-minute
 * quotas refill continuously (a sixtieth a second), so a pause is short even when a quota is
 * spent: the wait for one more token, not for the next minute.
 */
import type { PeerOptions } from './config.js';

/** A token bucket with debt and an injected clock. A rate of 0 means unlimited. */
export class DebtBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly ratePerSecond: number, private readonly burst: number, private readonly now: () => number) {
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }

  charge(n = 1): void {
    if (this.ratePerSecond <= 0) return;
    this.refill();
    this.tokens -= n;
  }

  /** Milliseconds until the bucket is out of debt (0: it is not). */
  waitMs(): number {
    if (this.ratePerSecond <= 0) return 0;
    this.refill();
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }
}

export type QuotaName = 'frames per second' | 'own messages per second' | 'messages per second' | 'bytes per minute' | 'new origins per minute';

export class LinkQuotas {
  private readonly buckets: Array<[QuotaName, DebtBucket]>;
  private readonly frames: DebtBucket;
  private readonly bytes: DebtBucket;
  private readonly own: DebtBucket;
  private readonly messages: DebtBucket;
  private readonly origins: DebtBucket;

  constructor(o: Pick<PeerOptions, 'frameRate' | 'frameBurst' | 'originRate' | 'originBurst' | 'linkMessageRate' | 'linkMessageBurst' | 'linkBytesPerMinute' | 'linkNewOriginsPerMinute'>, now: () => number) {
    this.frames = new DebtBucket(o.frameRate, o.frameBurst, now);
    this.bytes = new DebtBucket(o.linkBytesPerMinute / 60, o.linkBytesPerMinute, now);
    this.own = new DebtBucket(o.originRate, o.originBurst, now);
    this.messages = new DebtBucket(o.linkMessageRate, o.linkMessageBurst, now);
    this.origins = new DebtBucket(o.linkNewOriginsPerMinute / 60, o.linkNewOriginsPerMinute, now);
    this.buckets = [
      ['frames per second', this.frames],
      ['bytes per minute', this.bytes],
      ['own messages per second', this.own],
      ['messages per second', this.messages],
      ['new origins per minute', this.origins],
    ];
  }

  /** Every frame that arrives, with its size on the wire. */
  frame(bytes: number): void {
    this.frames.charge();
    this.bytes.charge(bytes);
  }

  /** A message this link brought that was stored: `own` = of the link's own origin. */
  stored(own: boolean, newOrigin: boolean): void {
    this.messages.charge();
    if (own) this.own.charge();
    if (newOrigin) this.origins.charge();
  }

  /** How long to stop reading, and which quota asks for it (the longest wait); null: go on. */
  wait(): { ms: number; quota: QuotaName } | null {
    let worst: { ms: number; quota: QuotaName } | null = null;
    for (const [quota, b] of this.buckets) {
      const ms = b.waitMs();
      if (ms > 0 && (worst === null || ms > worst.ms)) worst = { ms, quota };
    }
    return worst;
  }
}
