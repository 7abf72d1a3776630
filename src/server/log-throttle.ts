/**
 * Logs a recurring event at most once per window and reason, with how many happened since the
 * line before: a flood of refused connections must not become a flood of log lines (a full
 * disk is one more way to stop a server). The clock is injected so tests drive the window.
 */
export class LogThrottle<K extends string = string> {
  private readonly last = new Map<K, { at: number; skipped: number }>();

  constructor(private readonly windowMs: number, private readonly now: () => number) {}

  /**
   * One event of `key`: calls `emit` with the number of events of that key left unlogged since
   * its previous line, or only counts the event when that line is younger than the window.
   */
  hit(key: K, emit: (skipped: number) => void): void {
    const t = this.now();
    const s = this.last.get(key);
    if (s && t - s.at < this.windowMs) {
      s.skipped++;
      return;
    }
    this.last.set(key, { at: t, skipped: 0 });
    emit(s?.skipped ?? 0);
  }

  /**
   * Reports the events counted but not logged once their window is over (called from a sweep),
   * so the last burst of a flood is not left untold, and forgets quiet keys.
   */
  flush(emit: (key: K, skipped: number) => void): void {
    const t = this.now();
    for (const [key, s] of this.last) {
      if (t - s.at < this.windowMs) continue;
      if (s.skipped > 0) {
        emit(key, s.skipped);
        this.last.set(key, { at: t, skipped: 0 });
      } else this.last.delete(key);
    }
  }
}
