/**
 * The outbound half of a peer link (docs/protocol-peers.md, rule 3): what the other side
 * lacks, streamed from the local store in storage order, then every message stored here.
 *
 * It remembers per origin the highest sequence the other side holds (`sent`: first from its
 * have map, then from what we send it and what it sends us) and a cursor into the local store:
 * every message with a local id up to the cursor has been considered for this link. The pump
 * reads the store from the cursor, page by page, waiting for the socket to drain in between,
 * and sends a message only when it is the next of its origin for the other side, so per origin
 * the other side sees no gap and, on this link, no duplicate. A live message goes out at once
 * when the link is idle; while the pump runs, or while the socket is backed up, the store is
 * the buffer and the pump picks it up.
 */
import { toB64url } from './canonical.js';
import type { FrameConn } from '../net/frame-conn.js';
import type { PeerPacket } from './packets.js';
import type { PeerStore, PeerStoredMessage } from './peer-store.js';

/** Backed-up output above which live messages wait in the store instead of the send queue. */
const LIVE_QUEUE_LIMIT = 256 * 1024;
/** Index lookups a restart may make before it reads the whole store instead. */
const MAX_LOOKUPS = 1000;

export interface SenderHost {
  readonly store: PeerStore;
  readonly conn: FrameConn;
  /** The link is up (false once it closed). */
  ready(): boolean;
  send(p: PeerPacket | { type: string; [k: string]: unknown }): void;
  /** The pump failed (a store error): the link is closed. */
  failed(err: unknown): void;
}

export class LinkSender {
  /** Messages sent on this link. */
  count = 0;
  private readonly sent = new Map<string, number>();
  private windowStartId = 0;
  private cursor = 0;
  private pumping = false;
  private syncedSent = false;
  /** Nothing goes out before the other side's have map is whole (it may come in pages). */
  private started = false;

  constructor(private readonly host: SenderHost, private readonly historyWindow: number, private readonly pageSize: number) {}

  /** Records that the other side holds `origin` up to `seq` (it sends per origin without gaps). */
  note(origin: string, seq: number): void {
    const s = this.sent.get(origin);
    if (s === undefined || seq > s) this.sent.set(origin, seq);
  }

  /**
   * The other side's whole have map is known: stream what it lacks. What it claims to hold of
   * our own origin beyond what we wrote is false (someone claimed our origin in its store):
   * we forget it and send it our window, as to a newcomer, so the claim cannot silence us.
   */
  start(theirHave: ReadonlyMap<string, number>): void {
    const store = this.host.store;
    const own = store.haveOf(store.peerId) ?? 0;
    // Only origins we hold matter (we send nothing else), which also bounds this map by our
    // store rather than by what the other side claims.
    for (const [o, s] of theirHave) if (store.haveOf(o) !== undefined && (o !== store.peerId || s <= own)) this.sent.set(o, s);
    this.started = true;
    const lastId = store.lastIdSync();
    // A newcomer (an origin it has never heard of) gets only the window's worth of the past.
    this.windowStartId = Math.max(0, lastId - this.historyWindow);
    this.restartFrom(lastId);
  }

  /** The other side found a gap (peer-have): resume from what it really holds. */
  reset(theirHave: ReadonlyMap<string, number>): void {
    if (!this.started) return this.start(theirHave);
    const store = this.host.store;
    const own = store.haveOf(store.peerId) ?? 0;
    for (const [o, s] of theirHave) {
      if (o === store.peerId && s > own) this.sent.delete(o);
      else if (store.haveOf(o) !== undefined) this.sent.set(o, s);
    }
    this.restartFrom();
  }

  /**
   * Moves the cursor back to the first message the other side may lack, and pumps. One index
   * lookup per origin the other side is behind on, up to MAX_LOOKUPS; past that, reading the
   * store from the start (page by page, as the pump does) costs less than the lookups.
   */
  private restartFrom(lastId = this.host.store.lastIdSync()): void {
    const store = this.host.store;
    let start = this.pumping ? Math.min(this.cursor, lastId) : lastId;
    let lookups = 0;
    for (const [o, h] of store.haveEntries()) {
      const s = this.sent.get(o);
      if (s === undefined) {
        // Unknown to the other side: its window, read from the window's start.
        if (this.windowStartId < start) start = this.windowStartId;
      } else if (s < h) {
        if (++lookups > MAX_LOOKUPS) {
          start = 0;
          break;
        }
        const id = store.firstIdAfterSeq(o, s);
        if (id !== undefined && id - 1 < start) start = id - 1;
      }
    }
    this.cursor = start;
    if (!this.pumping) void this.pump();
  }

  /** A message was just stored here: send it now if the link is idle, else let the pump do it. */
  offer(m: PeerStoredMessage): void {
    if (!this.started || !this.host.ready() || m.id <= this.cursor) return;
    if (this.pumping) return;
    // Not the very next local id (a rolled-back id, or an offer we missed): let the pump read
    // the store, which cannot skip anything.
    if (m.id !== this.cursor + 1 || this.host.conn.pendingBytes > LIVE_QUEUE_LIMIT) {
      void this.pump();
      return;
    }
    this.consider(m);
    this.cursor = m.id;
  }

  private consider(m: PeerStoredMessage): void {
    // A row from before signatures: readable here, never sent (new peers refuse unsigned ones).
    // A DM in clear (written before DMs were sealed): never sent either, so no history or have
    // exchange carries anyone's direct messages readable; only sealed ones travel.
    if (!m.sig || !m.key || (m.to && !m.box)) return;
    const s = this.sent.get(m.origin);
    if (s === undefined) {
      if (m.id <= this.windowStartId) return; // before the newcomer's window
    } else if (m.seq !== s + 1) {
      // m.seq <= s: it has it. m.seq > s + 1: our own record of that origin starts later
      // than what it lacks (a history window cut it off here), so we cannot fill its hole
      // without making a gap; another peer may.
      return;
    }
    this.sent.set(m.origin, m.seq);
    this.count++;
    this.host.send({
      type: 'peer-message', gid: m.gid, origin: m.origin, seq: m.seq, uid: m.uid, username: m.username,
      // A sealed DM is built from its box, never from the plaintext its two ends hold.
      ...(m.box ? { to_peer: m.toPeer, box: toB64url(m.box) } : { subject: m.subject, content: m.content }),
      room: m.room, to: m.to, timestamp: m.timestamp,
      key: toB64url(m.key), sig: toB64url(m.sig), ...(m.boxKey ? { box_key: toB64url(m.boxKey) } : {}), ...(m.prev ? { prev: toB64url(m.prev) } : {}),
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const conn = this.host.conn;
    try {
      for (;;) {
        if (!this.host.ready()) return;
        if (conn.pendingBytes > LIVE_QUEUE_LIMIT) await conn.drained();
        if (!this.host.ready()) return;
        // Synchronous from the read to the end of the loop body: nothing is stored meanwhile.
        const rows = this.host.store.after(this.cursor, this.pageSize);
        for (const m of rows) {
          this.consider(m);
          this.cursor = m.id;
        }
        if (rows.length < this.pageSize) break;
        await conn.drained();
      }
    } catch (err) {
      this.pumping = false;
      this.host.failed(err);
      return;
    } finally {
      this.pumping = false;
    }
    if (!this.syncedSent && this.host.ready()) {
      this.syncedSent = true;
      this.host.send({ type: 'peer-synced', sent: this.count });
    }
  }
}
