/**
 * One TCP connection between two peers (docs/protocol-peers.md): a `peer-hello` each way, then
 * each side streams what the other lacks and, from then on, every message it stores.
 *
 * Outbound, a link remembers per origin the highest sequence the other side holds (`sent`,
 * first from its hello, then from what we send it and what it sends us) and a cursor into the
 * local store: every message with a local id up to the cursor has been considered for this link.
 * The pump reads the store from the cursor, page by page, waiting for the socket to drain in
 * between, and sends a message only when it is the next of its origin for the other side, so
 * per origin the other side sees no gap and, on this link, no duplicate. A live message goes
 * out at once when the link is idle; while the pump runs, or while the socket is backed up,
 * the store is the buffer and the pump picks it up.
 *
 * Inbound, frames are handled in order; two token buckets slow a flooding peer down by pausing
 * the socket (nothing is dropped, TCP pushes back); bad input earns an error frame, repeated
 * bad input or a bad hello closes the link, and nothing else is disturbed.
 */
import type { Logger } from 'pino';
import type { FrameConn } from '../net/frame-conn.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeFrame, encodeFrame, type FrameMode } from '../protocol/frame.js';
import { TokenBucket } from '../server/rate-limit.js';
import type { PeerOptions } from './config.js';
import { PEER_PROTOCOL_VERSION, parsePeerPacket, type HaveMap, type PeerHelloPacket, type PeerMessagePacket, type PeerPacket, type PeerUser } from './packets.js';
import type { PeerStore, PeerStoredMessage } from './peer-store.js';

/** What a link needs from the node that owns it. */
export interface LinkHost {
  readonly store: PeerStore;
  readonly opts: PeerOptions;
  readonly log: Logger;
  now(): number;
  helloPacket(): PeerHelloPacket;
  /** The other side said hello: register the link, or refuse it (self, duplicate pair). */
  linkReady(link: PeerLink): boolean;
  receive(link: PeerLink, p: PeerMessagePacket): void;
  linkUsers(link: PeerLink): void;
  linkSynced(link: PeerLink): void;
  linkClosed(link: PeerLink): void;
}

export type LinkState = 'hello' | 'ready' | 'closed';

/** Backed-up output above which live messages wait in the store instead of the send queue. */
const LIVE_QUEUE_LIMIT = 256 * 1024;

export class PeerLink {
  state: LinkState = 'hello';
  remoteId = '';
  remoteName = '';
  remotePort: number | null = null;
  users: PeerUser[] = [];
  /** True until the other side's `peer-synced`: what arrives meanwhile is its catch-up. */
  receivingSync = true;
  /** Set by the node when this link was opened towards a dial target. */
  target: string | null = null;
  closeReason = '';
  readonly openedAt: number;
  lastSeen: number;
  received = 0;
  sentCount = 0;
  log: Logger;

  private readonly sent = new Map<string, number>();
  private windowStartId = 0;
  private cursor = 0;
  private pumping = false;
  private syncedSent = false;
  private errors = 0;
  private inbox: Buffer[] = [];
  private throttled = false;
  private lastResync = 0;
  private readonly originBucket: TokenBucket;
  private readonly frameBucket: TokenBucket;

  constructor(
    private readonly host: LinkHost,
    readonly conn: FrameConn,
    readonly direction: 'in' | 'out',
    readonly mode: FrameMode,
  ) {
    this.openedAt = this.lastSeen = host.now();
    this.log = host.log.child({ link: conn.id, remote: conn.remote, dir: direction });
    const o = host.opts;
    this.originBucket = new TokenBucket(o.originRate, o.originBurst, () => host.now());
    this.frameBucket = new TokenBucket(o.frameRate, o.frameBurst, () => host.now());
    if (direction === 'out') this.send(host.helloPacket());
  }

  // ---- inbound ----------------------------------------------------------------------------
  onFrame(line: Buffer): void {
    if (this.state === 'closed') return;
    if (this.throttled) {
      this.inbox.push(line);
      return;
    }
    this.lastSeen = this.host.now();
    this.handleLine(line);
    if (!this.frameBucket.take()) this.throttle();
  }

  /** Stops reading for a moment: the sender's TCP window fills and it slows down. */
  private throttle(): void {
    if (this.throttled || this.state === 'closed') return;
    this.throttled = true;
    this.conn.pause();
    const t = setTimeout(() => {
      this.throttled = false;
      if (this.state === 'closed') return;
      const pending = this.inbox;
      this.inbox = [];
      for (let i = 0; i < pending.length; i++) {
        if (this.throttled) {
          this.inbox.push(...pending.slice(i));
          return;
        }
        this.onFrame(pending[i]!);
      }
      if (!this.throttled) this.conn.resume();
    }, 50);
    t.unref();
  }

  private handleLine(line: Buffer): void {
    const decoded = decodeFrame(line, this.mode);
    if (!decoded.ok) return this.fail(new ProtocolError(decoded.code, decoded.message, { fatal: this.state === 'hello' }));
    let p: PeerPacket;
    try {
      p = parsePeerPacket(decoded.value, this.host.opts.limits);
    } catch (err) {
      const pe = err instanceof ProtocolError ? err : new ProtocolError('bad_packet', String(err));
      return this.fail(this.state === 'hello' ? new ProtocolError(pe.code, pe.message, { fatal: true }) : pe);
    }
    if (this.state === 'hello') {
      if (p.type !== 'peer-hello') return this.fail(new ProtocolError('not_hello', `a peer link starts with peer-hello, not ${p.type}`, { fatal: true }));
      return this.onHello(p);
    }
    switch (p.type) {
      case 'peer-message':
        this.received++;
        this.note(p.origin, p.seq);
        if (p.origin === this.remoteId && !this.originBucket.take()) this.throttle();
        this.host.receive(this, p);
        return;
      case 'peer-synced':
        this.receivingSync = false;
        this.log.info({ received: this.received }, 'peer caught us up');
        this.host.linkSynced(this);
        return;
      case 'peer-have':
        // The other side found a gap: restart from what it really holds.
        for (const [o, s] of Object.entries(p.have)) this.sent.set(o, s);
        this.restartFrom();
        return;
      case 'peer-users':
        this.users = p.users;
        this.host.linkUsers(this);
        return;
      case 'ping':
        this.send(p.data === undefined ? { type: 'pong' } : { type: 'pong', data: p.data });
        return;
      case 'pong':
        return;
      case 'bye':
        this.close(`peer said bye${p.reason ? `: ${p.reason}` : ''}`, false);
        return;
      case 'error':
        this.log.warn({ code: p.code, message: p.message }, 'peer reported an error');
        return;
      case 'peer-hello':
        return this.fail(new ProtocolError('already_hello', 'peer-hello was already sent on this link'));
    }
  }

  private onHello(p: PeerHelloPacket): void {
    if (p.version !== PEER_PROTOCOL_VERSION) {
      return this.fail(new ProtocolError('bad_packet', `peer protocol version ${p.version} is not ${PEER_PROTOCOL_VERSION}`, { fatal: true }));
    }
    this.remoteId = p.peer_id;
    this.remoteName = p.name;
    this.remotePort = p.port;
    this.users = p.users;
    this.log = this.log.child({ peer: p.peer_id });
    if (this.direction === 'in') this.send(this.host.helloPacket());
    if (!this.host.linkReady(this)) return;
    this.state = 'ready';
    this.startSync(p.have);
  }

  /** Records that the other side holds `origin` up to `seq` (it sends per origin without gaps). */
  private note(origin: string, seq: number): void {
    const s = this.sent.get(origin);
    if (s === undefined || seq > s) this.sent.set(origin, seq);
  }

  /** We saw a gap in what this link sent: tell it what we hold (at most once a second). */
  requestResync(): void {
    const t = this.host.now();
    if (t - this.lastResync < 1000) return;
    this.lastResync = t;
    this.log.warn({}, 'gap in what the peer sent; asking it to resend');
    this.send({ type: 'peer-have', have: this.host.store.have() });
  }

  // ---- outbound ---------------------------------------------------------------------------
  private startSync(theirHave: HaveMap): void {
    for (const [o, s] of Object.entries(theirHave)) this.sent.set(o, s);
    const lastId = this.host.store.lastIdSync();
    // A newcomer (an origin it has never heard of) gets only the window's worth of the past.
    this.windowStartId = Math.max(0, lastId - this.host.opts.historyWindow);
    this.restartFrom(lastId);
  }

  /** Moves the cursor back to the first message the other side may lack, and pumps. */
  private restartFrom(lastId = this.host.store.lastIdSync()): void {
    const store = this.host.store;
    let start = this.pumping ? Math.min(this.cursor, lastId) : lastId;
    for (const [o, h] of Object.entries(store.have())) {
      const s = this.sent.get(o);
      let id: number | undefined;
      if (s === undefined) id = store.firstIdAfterId(o, this.windowStartId);
      else if (s < h) id = store.firstIdAfterSeq(o, s);
      if (id !== undefined && id - 1 < start) start = id - 1;
    }
    this.cursor = start;
    if (!this.pumping) void this.pump();
  }

  /** A message was just stored here: send it now if the link is idle, else let the pump do it. */
  offer(m: PeerStoredMessage): void {
    if (this.state !== 'ready' || m.id <= this.cursor) return;
    if (this.pumping) return;
    // Not the very next local id (a rolled-back id, or an offer we missed): let the pump read
    // the store, which cannot skip anything.
    if (m.id !== this.cursor + 1 || this.conn.pendingBytes > LIVE_QUEUE_LIMIT) {
      void this.pump();
      return;
    }
    this.consider(m);
    this.cursor = m.id;
  }

  private consider(m: PeerStoredMessage): void {
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
    this.sentCount++;
    this.send({
      type: 'peer-message', gid: m.gid, origin: m.origin, seq: m.seq, uid: m.uid, username: m.username,
      subject: m.subject, content: m.content, room: m.room, to: m.to, timestamp: m.timestamp,
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const page = this.host.opts.pageSize;
    try {
      for (;;) {
        if (this.state !== 'ready') return;
        if (this.conn.pendingBytes > LIVE_QUEUE_LIMIT) await this.conn.drained();
        if (this.state !== 'ready') return;
        // Synchronous from the read to the end of the loop body: nothing is stored meanwhile.
        const rows = this.host.store.after(this.cursor, page);
        for (const m of rows) {
          this.consider(m);
          this.cursor = m.id;
        }
        if (rows.length < page) break;
        await this.conn.drained();
      }
    } catch (err) {
      this.log.error({ err }, 'catch-up failed');
      this.close('catch-up failed');
      return;
    } finally {
      this.pumping = false;
    }
    if (!this.syncedSent && this.state === 'ready') {
      this.syncedSent = true;
      this.send({ type: 'peer-synced', sent: this.sentCount });
    }
  }

  sendUsers(users: PeerUser[]): void {
    if (this.state === 'ready') this.send({ type: 'peer-users', users });
  }

  ping(): void {
    this.send({ type: 'ping' });
  }

  send(p: PeerPacket): void {
    this.conn.send(encodeFrame(p, this.mode));
  }

  // ---- ending -----------------------------------------------------------------------------
  private fail(err: ProtocolError): void {
    if (this.state === 'closed') return;
    this.errors++;
    this.send({ type: 'error', code: err.code, message: err.message });
    this.log.info({ code: err.code }, `peer input rejected: ${err.message}`);
    if (err.fatal) this.close(err.code, false);
    else if (this.errors >= this.host.opts.maxErrors) this.close('too many errors', false);
  }

  /** Closes once, saying bye first when `bye` (a duplicate pair, shutting down). */
  close(reason: string, bye = true): void {
    if (this.state === 'closed') return;
    if (bye) this.send({ type: 'bye', reason });
    this.closeReason = reason;
    this.state = 'closed';
    this.conn.end(1000);
    this.host.linkClosed(this);
  }

  /** The socket is gone (closed by the other side, reset, or by us). */
  onConnClosed(): void {
    if (this.state === 'closed') return;
    this.closeReason ||= 'connection closed';
    this.state = 'closed';
    this.host.linkClosed(this);
  }

  /** Destroys a link whose socket overflowed (a peer that does not read). */
  overflow(pending: number): void {
    this.log.warn({ pending }, 'peer does not read; closing the link (it catches up when it returns)');
    this.closeReason = 'send queue full';
    this.state = 'closed';
    this.conn.destroy();
    this.host.linkClosed(this);
  }
}
