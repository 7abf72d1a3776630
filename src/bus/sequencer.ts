/**
 * Puts a cluster's message events back into id order, with no gaps, before the server fans them
 * out (docs/cluster.md, "Ordering").
 *
 * Why: on one server, messages are published in id order. In a cluster, server A's #11 and
 * server B's #12 travel separate paths, so a client on B may get #12 before #11; if it drops
 * between the two, it comes back with `since: 12` and never gets #11. And core NATS delivers at
 * most once: whatever is published while a server is cut off from NATS is gone from the wire.
 *
 * How: the shared store commits ids in increasing order (PostgresStore.append), so once #N
 * exists every smaller id that will ever exist is readable. Events are delivered strictly as
 * horizon+1, horizon+2, …; an event beyond a gap waits `graceMs` for the missing ones to arrive
 * (normally they are a millisecond behind), then the gap is read from the store. A poll every
 * `pollMs` reads what was committed a poll ago and never announced (lost on the wire), so while
 * NATS is down the servers still exchange messages through the database, a second or two late.
 * Ids that never committed (a rolled-back batch) are simply skipped.
 */
import type { Logger } from 'pino';
import type { StoredMessage } from '../store/types.js';
import type { BusEvent } from './types.js';

export type MessageEvent = Extract<BusEvent, { kind: 'message' }>;

/** Where missing messages are read from: the cluster's shared store. */
export interface SequenceSource {
  lastId(): Promise<number>;
  /** Every message with afterId < id <= upToId, any room or recipient, ascending, at most `limit`. */
  range(afterId: number, upToId: number, limit: number): Promise<StoredMessage[]>;
}

export interface SequencerOptions {
  /** How long an event beyond a gap waits for the gap to close by itself (default 200 ms). */
  graceMs?: number;
  /** How often the store is asked for messages nobody announced (default 1000 ms). */
  pollMs?: number;
  /** Events held behind a gap before we give up waiting and read the store at once (default 10,000). */
  maxPending?: number;
  log?: Logger;
}

/**
 * Origin of messages read from the store: matches no connection, so every session gets them.
 * (Were a server stalled for a whole poll between its commit and its own publish, the sender
 * would get its message back as a `message`; the terminal client takes it as the ack, see
 * RepeaterConnection.onMessage.)
 */
export const STORE_ORIGIN = 'store';

const PAGE = 1000;

export class Sequencer {
  /** Highest id delivered (or skipped as never committed); everything at or below is done. */
  private horizon = 0;
  private readonly pending = new Map<number, MessageEvent>();
  private maxPendingId = 0;
  private filling = false;
  private gapTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  /** The store's last id at the previous poll: anything up to it has had a whole poll to arrive. */
  private lastTop = 0;
  private closed = false;
  /** Until start() has read the store's last id, events are ignored: no session exists yet. */
  private started = false;
  /** The store failed the last read: say so once, and once more when it answers again. */
  private storeFailing = false;
  private readonly graceMs: number;
  private readonly pollMs: number;
  private readonly maxPending: number;

  constructor(private readonly source: SequenceSource, private readonly deliver: (e: MessageEvent) => void, private readonly o: SequencerOptions = {}) {
    this.graceMs = o.graceMs ?? 200;
    this.pollMs = o.pollMs ?? 1000;
    this.maxPending = o.maxPending ?? 10_000;
  }

  /** Starts after what the store holds now: those messages are catch-up's, not fan-out's. */
  async start(): Promise<void> {
    this.horizon = this.lastTop = await this.source.lastId();
    this.started = true;
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  /** Highest id delivered so far. */
  get delivered(): number {
    return this.horizon;
  }

  /** Takes an event (local or from another server); delivers it now when it is next in line. */
  push(e: MessageEvent): void {
    const id = e.message.id;
    if (!this.started || this.closed || id <= this.horizon || this.pending.has(id)) return; // not yet ours, delivered already, or an echo
    if (id === this.horizon + 1 && !this.filling) {
      this.horizon = id;
      this.deliver(e);
      if (this.pending.size > 0) this.drain();
      return;
    }
    this.pending.set(id, e);
    if (id > this.maxPendingId) this.maxPendingId = id;
    if (this.pending.size > this.maxPending) {
      if (this.storeFailing && !this.filling) this.skipGap();
      else {
        this.o.log?.warn({ horizon: this.horizon, pending: this.pending.size }, 'bus: too many events behind a gap; reading it from the store now');
        void this.fill(this.maxPendingId);
      }
    } else this.armGap();
  }

  /**
   * The store cannot fill the gap and the events behind it pass maxPending: memory comes first.
   * The missing messages are stored (someone committed them) but will not be delivered live here;
   * a client that reconnects with a `since` below them gets them by catch-up.
   */
  private skipGap(): void {
    const first = Math.min(...this.pending.keys());
    this.o.log?.error({ from: this.horizon + 1, to: first - 1, pending: this.pending.size }, 'bus: the store is down and too many events wait behind a gap; skipping the gap');
    this.horizon = first - 1;
    this.drain();
  }

  private drain(): void {
    for (let e = this.pending.get(this.horizon + 1); e !== undefined && !this.closed; e = this.pending.get(this.horizon + 1)) {
      this.pending.delete(this.horizon + 1);
      this.horizon++;
      this.deliver(e);
    }
    if (this.pending.size === 0) {
      this.maxPendingId = 0;
      if (this.gapTimer) clearTimeout(this.gapTimer);
      this.gapTimer = null;
    } else this.armGap();
  }

  private armGap(): void {
    if (this.gapTimer !== null || this.filling || this.closed) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      void this.fill(this.maxPendingId);
    }, this.graceMs);
    this.gapTimer.unref();
  }

  /** Reads (horizon, upTo] from the store and delivers it in order, held events in their place. */
  private async fill(upTo: number): Promise<void> {
    if (this.filling || this.closed || upTo <= this.horizon) return;
    this.filling = true;
    try {
      while (this.horizon < upTo && !this.closed) {
        const rows = await this.source.range(this.horizon, upTo, PAGE);
        let filled = 0;
        for (const m of rows) {
          if (m.id <= this.horizon) continue;
          // A held event keeps its origin (so its sender is still skipped); the rest came from elsewhere.
          const held = this.pending.get(m.id);
          this.pending.delete(m.id);
          this.horizon = m.id;
          if (!held) filled++;
          this.deliver(held ?? { kind: 'message', message: m, origin: STORE_ORIGIN });
        }
        if (this.storeFailing) this.o.log?.info('bus: the store answers again');
        this.storeFailing = false;
        if (filled > 0) this.o.log?.info({ filled, upTo: this.horizon }, 'bus: messages missing from the bus were read from the store');
        if (rows.length < PAGE) {
          // Ids up to upTo that the store does not have never committed: nothing will fill them.
          this.horizon = Math.max(this.horizon, upTo);
          break;
        }
      }
      // Held events the store did not return (it always should): late rather than never.
      for (const id of [...this.pending.keys()].filter((id) => id <= this.horizon).sort((a, b) => a - b)) {
        const e = this.pending.get(id)!;
        this.pending.delete(id);
        this.deliver(e);
      }
    } catch (err) {
      // Later messages wait behind the gap (order first); retried every graceMs.
      if (!this.storeFailing) this.o.log?.warn({ err: (err as Error).message, pending: this.pending.size }, 'bus: cannot read missing messages from the store; later ones wait, retrying');
      this.storeFailing = true;
    } finally {
      this.filling = false;
    }
    if (!this.closed) this.drain();
  }

  private async poll(): Promise<void> {
    if (this.filling || this.closed) return;
    // Committed a whole poll ago and still not delivered: its event was lost (NATS away).
    if (this.lastTop > this.horizon && this.pending.size === 0) await this.fill(this.lastTop);
    try {
      this.lastTop = await this.source.lastId();
    } catch {
      // The store is down; the next poll tries again.
    }
  }

  close(): void {
    this.closed = true;
    if (this.gapTimer) clearTimeout(this.gapTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pending.clear();
  }
}
