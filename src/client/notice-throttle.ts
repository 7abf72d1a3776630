/**
 * Notices about trouble the user cannot act on (a server sending bad frames) must be seen, but a
 * server that sends ten thousand of them must not bury the chat under ten thousand lines. Per
 * kind: the first notice is shown at once, the next ones within `windowMs` are counted and
 * summed up in one line when the window ends.
 */
import type { Clock, TimerHandle } from './clock.js';

/** What is counted, for the summary line: "1 more bad frame…", "5 more bad frames…". */
export interface Counted {
  one: string;
  many: string;
}

interface Kind {
  until: number;
  suppressed: number;
  timer: TimerHandle | null;
}

export class NoticeThrottle {
  private readonly kinds = new Map<string, Kind>();

  constructor(
    private readonly show: (text: string) => void,
    private readonly clock: Clock,
    private readonly windowMs: number,
  ) {}

  /** `text` now, or counted as one more of `what`. */
  report(kind: string, text: string, what: Counted): void {
    const now = this.clock.now();
    let k = this.kinds.get(kind);
    if (!k) {
      k = { until: 0, suppressed: 0, timer: null };
      this.kinds.set(kind, k);
    }
    if (now >= k.until && k.timer === null) {
      k.until = now + this.windowMs;
      this.show(text);
      return;
    }
    k.suppressed++;
    if (k.timer === null) k.timer = this.clock.setTimeout(() => this.summarise(k, what), Math.max(0, k.until - now));
  }

  private summarise(k: Kind, what: Counted): void {
    k.timer = null;
    if (k.suppressed === 0) return;
    const n = k.suppressed;
    k.suppressed = 0;
    // A flood that goes on gets one line per window, not one per frame.
    k.until = this.clock.now() + this.windowMs;
    const window = this.windowMs >= 1000 ? `${Math.round(this.windowMs / 1000)} s` : `${this.windowMs} ms`;
    this.show(`${n} more ${n === 1 ? what.one : what.many} in the last ${window}`);
  }

  /** Stops the timers; what was counted and not shown yet is dropped. */
  dispose(): void {
    for (const k of this.kinds.values()) if (k.timer !== null) this.clock.clearTimeout(k.timer);
    this.kinds.clear();
  }
}
