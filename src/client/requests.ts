/**
 * The requests of a repeater connection waiting for their answer (join, leave, who, history, rooms).
 * An answer resolves the oldest request of its type for its room; a server error without a uid,
 * a bad answer, the timeout or the connection going away rejects one or all of them.
 */
import type { HistoryPacket, JoinedPacket, LeftPacket, RoomsPacket, WhoPacket } from '../protocol/packets.js';
import type { Clock, TimerHandle } from './clock.js';

export type Answer = JoinedPacket | LeftPacket | WhoPacket | HistoryPacket | RoomsPacket;

/** The room an answer is about: '' for `rooms`, which is about none. */
const roomOf = (p: Answer): string => ('room' in p ? p.room : '');

interface Pending {
  type: Answer['type'];
  room: string;
  resolve(p: Answer): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

export class PendingRequests {
  private pending: Pending[] = [];

  constructor(private readonly clock: Clock, private readonly timeoutMs: number) {}

  get size(): number {
    return this.pending.length;
  }

  /** Waits for an answer of type `type` about `room` ('' for `rooms`); rejects with `timedOut()` after the timeout. */
  wait<A extends Answer>(type: A['type'], room: string, timedOut: () => Error): Promise<A> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending = this.pending.filter((r) => r.timer !== timer);
        reject(timedOut());
      }, this.timeoutMs);
      this.pending.push({ type, room, resolve: resolve as (p: Answer) => void, reject, timer });
    });
  }

  answer(p: Answer): void {
    const room = roomOf(p);
    const r = this.take((x) => x.type === p.type && x.room === room);
    r?.resolve(p);
  }

  /** Rejects the oldest request (of `type` when given); false when there was none. */
  failOldest(err: Error, type?: string): boolean {
    const r = this.take((x) => type === undefined || x.type === type);
    r?.reject(err);
    return r !== undefined;
  }

  failAll(err: Error): void {
    const all = this.pending;
    this.pending = [];
    for (const r of all) {
      this.clock.clearTimeout(r.timer);
      r.reject(err);
    }
  }

  private take(match: (r: Pending) => boolean): Pending | undefined {
    const i = this.pending.findIndex(match);
    if (i === -1) return undefined;
    const [r] = this.pending.splice(i, 1);
    this.clock.clearTimeout(r!.timer);
    return r;
  }
}
