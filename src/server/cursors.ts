/**
 * Per-user delivery cursors held in memory until they are written to the store, once per
 * `cursorFlushMs` (docs/protocol.md, "Cursors"). A hello reads `held()` besides the store: a
 * user who reconnects before the flush must not be served the older stored cursor, or none.
 */
import type { Logger } from 'pino';
import type { MessageStore } from '../store/types.js';

export class CursorBook {
  /** Cursors advanced since the last flush. */
  private dirty = new Map<string, number>();
  /** The entries of the flush in flight: not in the store yet, no longer in `dirty`. */
  private writing = new Map<string, number>();
  private inFlight: Promise<void> | null = null;

  constructor(private readonly store: MessageStore, private readonly log: Logger, private readonly now: () => number) {}

  /** Records that the user's client holds every message up to `id`; cursors only move forward. */
  mark(username: string, id: number): void {
    const prev = this.dirty.get(username);
    if (prev === undefined || prev < id) this.dirty.set(username, id);
  }

  /** The highest cursor held here for the user and not yet known to be stored, or null. */
  held(username: string): number | null {
    const a = this.dirty.get(username);
    const b = this.writing.get(username);
    if (a === undefined) return b ?? null;
    return b === undefined ? a : Math.max(a, b);
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** Writes what changed, stamping those users as seen now; a failed write is retried next time. */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight.then(() => this.flush());
    if (this.dirty.size === 0) return Promise.resolve();
    this.writing = this.dirty;
    this.dirty = new Map();
    const entries = [...this.writing];
    this.inFlight = this.store.setCursors(entries, this.now() / 1000).then(
      () => {
        this.writing = new Map();
        this.inFlight = null;
      },
      (err: unknown) => {
        this.log.error({ err }, 'cursor flush failed; will retry');
        for (const [u, id] of this.writing) this.mark(u, id);
        this.writing = new Map();
        this.inFlight = null;
      },
    );
    return this.inFlight;
  }
}
