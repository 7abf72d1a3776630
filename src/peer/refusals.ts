/**
 * What a link was refused or slowed down for, counted per reason, and told once a minute at
 * most per link and reason: a rogue peer sending a thousand bad messages a second makes one
 * log line a minute, not a thousand (docs/broadcast.md, "Bad input and floods"). The first of
 * a reason is told at once; the ones that follow within the minute are counted and told with
 * the next one after it, and what is still untold when the link closes is told then.
 */
import type { ErrorCode } from '../protocol/errors.js';

/** Why a message or frame of a link was not taken as it came. */
export type RefusalReason =
  // dropped: the message is not stored
  | 'own origin' | 'seq over bound' | 'first seq too high' | 'have map too large'
  // bad input: an error frame went back (its wire code)
  | ErrorCode
  // slowed down: nothing lost, the link stopped reading for a moment
  | 'slowed: frames per second' | 'slowed: own messages per second' | 'slowed: messages per second'
  | 'slowed: bytes per minute' | 'slowed: new origins per minute';

export interface RefusalReport {
  reason: RefusalReason;
  /** Refusals of this reason since the last report. */
  count: number;
  /** All of this reason on this link. */
  total: number;
  detail: string;
}

const MINUTE = 60_000;

export class Refusals {
  readonly totals = new Map<RefusalReason, number>();
  private readonly untold = new Map<RefusalReason, { count: number; detail: string }>();
  private readonly toldAt = new Map<RefusalReason, number>();

  constructor(private readonly now: () => number, private readonly tell: (r: RefusalReport) => void) {}

  add(reason: RefusalReason, detail = ''): void {
    const total = (this.totals.get(reason) ?? 0) + 1;
    this.totals.set(reason, total);
    const u = this.untold.get(reason) ?? { count: 0, detail };
    u.count++;
    u.detail = detail;
    const t = this.now();
    const last = this.toldAt.get(reason);
    if (last !== undefined && t - last < MINUTE) {
      this.untold.set(reason, u);
      return;
    }
    this.untold.delete(reason);
    this.toldAt.set(reason, t);
    this.tell({ reason, count: u.count, total, detail: u.detail });
  }

  /** Tells what is still untold (the link is closing). */
  flush(): void {
    for (const [reason, u] of this.untold) this.tell({ reason, count: u.count, total: this.totals.get(reason) ?? u.count, detail: u.detail });
    this.untold.clear();
  }

  /** "own origin 3, slowed: bytes per minute 12": for /peers. Empty when nothing was refused. */
  summary(): string {
    return [...this.totals].map(([r, n]) => `${r} ${n}`).join(', ');
  }
}
