/**
 * One TCP connection between two peers (docs/protocol-peers.md): a `peer-hello` each way (its
 * have map paged over `peer-have` frames when it is large), then each side streams what the
 * other lacks and, from then on, every message it stores (LinkSender).
 *
 * Inbound, frames are handled in order. Per-link quotas slow a flooding peer down by pausing
 * the socket (nothing is dropped, TCP pushes back); bad input earns an error frame, repeated
 * bad input or a bad hello closes the link; messages the admission rules refuse are dropped.
 * Every refusal is counted and told once a minute (Refusals). Whatever a frame does, nothing
 * thrown escapes the link: an unexpected exception closes this link alone with `internal`,
 * logged once with its stack, and the peer goes on (docs/architecture.md, "A fault stays in
 * its session").
 */
import type { Logger } from 'pino';
import type { FrameConn } from '../net/frame-conn.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeFrame, encodeFrame, type FrameMode } from '../protocol/frame.js';
import type { PeerOptions } from './config.js';
import { HaveCollector, pageHave } from './have-pages.js';
import { LinkSender } from './link-sender.js';
import { PEER_PROTOCOL_VERSION, parsePeerPacket, type PeerAuthPacket, type PeerHelloPacket, type PeerMessagePacket, type PeerPacket, type PeerUser } from './packets.js';
import type { PeerStore, PeerStoredMessage } from './peer-store.js';
import { toB64url } from './canonical.js';
import { checkProof, makeProof, newChallenge, type HelloRole, type KeyCache, type PeerIdentity } from './identity.js';
import { LinkQuotas } from './quotas.js';
import { Refusals, type RefusalReason, type RefusalReport } from './refusals.js';

/** What became of a peer-message (node.receive). */
export type Received =
  | 'stored' | 'stored-new-origin' | 'duplicate' | 'gap' | 'ignored'
  | { refused: RefusalReason; detail: string };

/** What a link needs from the node that owns it. */
export interface LinkHost {
  readonly store: PeerStore;
  readonly opts: PeerOptions;
  readonly log: Logger;
  now(): number;
  readonly identity: PeerIdentity;
  readonly keys: KeyCache;
  /** Our hello without its have map (the link pages that in) nor its keys and challenge. */
  helloPacket(): Omit<PeerHelloPacket, 'have' | 'have_more' | 'key' | 'box_key' | 'challenge'>;
  /** The other side said hello: register the link, or refuse it (self, duplicate pair). */
  linkReady(link: PeerLink): boolean;
  /** The other side's whole have map arrived: it holds `seq` of its own origin. */
  originSays(link: PeerLink, seq: number): void;
  receive(link: PeerLink, p: PeerMessagePacket): Received;
  linkUsers(link: PeerLink): void;
  linkSynced(link: PeerLink): void;
  linkClosed(link: PeerLink): void;
  linkRefused(link: PeerLink, r: RefusalReport): void;
  /** An unexpected exception on this link (it is being closed with `internal`). */
  linkFault(link: PeerLink, err: unknown): void;
}

/** hello: waiting for its hello; auth: for its proof (peer-auth); ready: both proved. */
export type LinkState = 'hello' | 'auth' | 'ready' | 'closed';

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
  log: Logger;
  readonly refusals: Refusals;

  private readonly sender: LinkSender;
  private readonly quotas: LinkQuotas;
  private errors = 0;
  private inbox: Buffer[] = [];
  private paused = false;
  private lastResync = 0;
  /** Origins that showed a gap since the last peer-have we sent (told at most once a second). */
  private gaps = new Set<string>();
  private resyncTimer: NodeJS.Timeout | null = null;
  /** Pages of the other side's have map, until the last one (then null). */
  private haveIn: { map: HaveCollector; hello: boolean } | null = null;
  /** The hello's have map arrived whole before the link was proved: acted on once it is. */
  private haveWhole = false;
  /** Our fresh challenge for this connection, and the other side's hello (until proved). */
  private readonly challenge = newChallenge();
  private theirHello: PeerHelloPacket | null = null;
  /** The other side's Ed25519 key, once its proof checked, and its X25519 key (vouched for by the proof). */
  remoteKey: Buffer | null = null;
  remoteBoxKey: Buffer | null = null;

  constructor(
    private readonly host: LinkHost,
    readonly conn: FrameConn,
    readonly direction: 'in' | 'out',
    readonly mode: FrameMode,
  ) {
    this.openedAt = this.lastSeen = host.now();
    this.log = host.log.child({ link: conn.id, remote: conn.remote, dir: direction });
    const now = (): number => host.now();
    this.quotas = new LinkQuotas(host.opts, now);
    this.refusals = new Refusals(now, (r) => host.linkRefused(this, r));
    this.sender = new LinkSender({
      store: host.store, conn,
      ready: () => this.state === 'ready',
      send: (p) => this.send(p),
      failed: (err) => this.fault(err),
    }, host.opts.historyWindow, host.opts.pageSize);
    if (direction === 'out') this.sendHello();
  }

  /** True while we stop reading this link (a quota asked for a pause): it is not silent. */
  get throttled(): boolean {
    return this.paused;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get sentCount(): number {
    return this.sender.count;
  }

  // ---- inbound ----------------------------------------------------------------------------
  /** One frame from the socket. Never throws: a fault closes this link alone. */
  onFrame(line: Buffer): void {
    if (this.state === 'closed') return;
    if (this.paused) {
      this.inbox.push(line);
      return;
    }
    try {
      this.lastSeen = this.host.now();
      this.quotas.frame(line.length + 1);
      this.handleLine(line);
      const wait = this.quotas.wait();
      if (wait) this.pause(wait.ms, `slowed: ${wait.quota}`);
    } catch (err) {
      this.fault(err);
    }
  }

  /** Stops reading for `ms`: the sender's TCP window fills and it slows down. */
  private pause(ms: number, why: RefusalReason): void {
    if (this.paused || this.state === 'closed') return;
    this.paused = true;
    this.refusals.add(why);
    this.conn.pause();
    this.recheckIn(ms);
  }

  /** Looks again at most every 100 ms: the quotas' clock decides, not the timer. */
  private recheckIn(ms: number): void {
    const t = setTimeout(() => this.unpause(), Math.min(100, Math.max(10, ms)));
    t.unref();
  }

  private unpause(): void {
    if (this.state === 'closed') return;
    const wait = this.quotas.wait();
    if (wait) return this.recheckIn(wait.ms);
    this.paused = false;
    const pending = this.inbox;
    this.inbox = [];
    for (let i = 0; i < pending.length; i++) {
      if (this.paused || this.closed) {
        this.inbox.push(...pending.slice(i));
        return;
      }
      this.onFrame(pending[i]!);
    }
    if (!this.paused) this.conn.resume();
  }

  private handleLine(line: Buffer): void {
    const decoded = decodeFrame(line, this.mode);
    if (!decoded.ok) return this.fail(new ProtocolError(decoded.code, decoded.message, { fatal: this.state === 'hello' }));
    let p: PeerPacket;
    try {
      p = parsePeerPacket(decoded.value, this.host.opts.limits);
    } catch (err) {
      // A ProtocolError is bad input; anything else thrown by the parser is a fault (below).
      if (!(err instanceof ProtocolError)) throw err;
      return this.fail(this.state === 'hello' ? new ProtocolError(err.code, err.message, { fatal: true }) : err);
    }
    if (this.state === 'hello') {
      if (p.type !== 'peer-hello') return this.fail(new ProtocolError('not_hello', `a peer link starts with peer-hello, not ${p.type}`, { fatal: true }));
      return this.onHello(p);
    }
    if (this.state === 'auth') {
      // Between the hellos and the proof only the hello's have pages may come (and pings).
      if (p.type === 'peer-auth') return this.onAuth(p);
      if (p.type === 'peer-have' && this.haveIn?.hello) {
        this.haveIn.map.add(p.have);
        if (!p.more) this.haveWhole = true;
        return;
      }
      if (p.type === 'bye') return this.close(`peer said bye${p.reason ? `: ${p.reason}` : ''}`, false);
      if (p.type === 'error') return this.log.warn({ code: p.code, message: p.message }, 'peer reported an error');
      if (p.type === 'ping' || p.type === 'pong') return;
      return this.fail(new ProtocolError('not_hello', `peer-auth must follow peer-hello, not ${p.type}`, { fatal: true }));
    }
    switch (p.type) {
      case 'peer-message':
        return this.onMessage(p);
      case 'peer-synced':
        this.receivingSync = false;
        this.log.info({ received: this.received }, 'peer caught us up');
        this.host.linkSynced(this);
        return;
      case 'peer-have':
        // A page of its hello's have map, or a resync after a gap: act once the map is whole.
        this.haveIn ??= { map: new HaveCollector(), hello: false };
        this.haveIn.map.add(p.have);
        if (!p.more) this.haveComplete();
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
      case 'peer-auth':
        return this.fail(new ProtocolError('already_hello', 'peer-auth was already sent on this link'));
    }
  }

  private get role(): HelloRole {
    return this.direction === 'out' ? 'dialler' : 'listener';
  }

  private onHello(p: PeerHelloPacket): void {
    if (p.version !== PEER_PROTOCOL_VERSION) {
      return this.fail(new ProtocolError('bad_packet', `peer protocol version ${p.version} is not ${PEER_PROTOCOL_VERSION} (upgrade lab93 on both peers)`, { fatal: true }));
    }
    this.remoteId = p.peer_id;
    this.remoteName = p.name;
    this.remotePort = p.port;
    this.users = p.users;
    this.log = this.log.child({ peer: p.peer_id });
    // "That is me" (our own announcement dialled): the node closes it, no proof needed.
    if (p.peer_id === this.host.identity.peerId) {
      this.host.linkReady(this);
      return;
    }
    this.theirHello = p;
    this.haveIn = { map: new HaveCollector(), hello: true };
    this.haveIn.map.add(p.have);
    this.haveWhole = !p.have_more;
    this.state = 'auth';
    if (this.direction === 'in') this.sendHello();
    const proof = makeProof(this.host.identity, this.role, this.challenge, { key: p.key, boxKey: p.box_key, challenge: p.challenge }, this.host.opts.networkKey);
    if (!proof.ok) return this.fail(new ProtocolError('bad_packet', `hello: ${proof.message}`, { fatal: true }));
    this.send({ type: 'peer-auth', sig: toB64url(proof.value.sig), ...(proof.value.mac ? { mac: toB64url(proof.value.mac) } : {}) });
  }

  /** The other side's proof: its key is its own (and it knows the network key, if we have one). */
  private onAuth(p: PeerAuthPacket): void {
    const h = this.theirHello!;
    const me = this.host.identity;
    const r = checkProof(this.role, { key: me.signPublic, boxKey: me.boxPublic, challenge: this.challenge }, { key: h.key, boxKey: h.box_key, challenge: h.challenge }, { sig: p.sig, mac: p.mac }, this.host.opts.networkKey, this.host.keys);
    if (!r.ok) {
      const code = r.code === 'wrong_network' ? 'wrong_network' : 'bad_proof';
      return this.fail(new ProtocolError(code, `${code === 'wrong_network' ? 'different network key' : 'hello proof refused'}: ${r.message}`, { fatal: true }));
    }
    this.remoteKey = h.key;
    this.remoteBoxKey = h.box_key;
    this.theirHello = null;
    if (!this.host.linkReady(this)) return;
    this.state = 'ready';
    if (this.haveWhole) this.haveComplete();
  }

  /** The other side's have map is whole: start streaming (hello) or resume from it (resync). */
  private haveComplete(): void {
    const { map, hello } = this.haveIn!;
    this.haveIn = null;
    if (map.dropped > 0) this.refusals.add('have map too large', `${map.dropped} origins past ${map.have.size} treated as unknown`);
    if (hello) {
      this.host.originSays(this, map.have.get(this.remoteId) ?? 0);
      this.sender.start(map.have);
    } else this.sender.reset(map.have);
  }

  private onMessage(p: PeerMessagePacket): void {
    this.received++;
    const r = this.host.receive(this, p);
    if (typeof r === 'object') {
      this.refusals.add(r.refused, r.detail);
      return;
    }
    // It holds what it sent us (per origin without gaps): never send that back.
    this.sender.note(p.origin, p.seq);
    if (r === 'gap') this.requestResync(p.origin);
    else if (r === 'stored' || r === 'stored-new-origin') this.quotas.stored(p.origin === this.remoteId, r === 'stored-new-origin');
  }

  /**
   * A message of this link failed verification (node.flushIncoming): dropped, and an error of
   * the link. An honest peer verifies before it forwards, so a forgery from a link is an error
   * frame, counted towards maxErrors, not only a dropped message.
   */
  forged(detail: string): void {
    try {
      this.fail(new ProtocolError('bad_signature', detail));
    } catch (err) {
      this.fault(err);
    }
  }

  /**
   * We saw a gap in what this link sent for `origin`: tell it what we hold of the origins that
   * gapped (not the whole map: a gap costs the sender one frame, the answer must not cost us
   * thousands), at most once a second.
   */
  requestResync(origin: string): void {
    if (this.gaps.size < 10_000) this.gaps.add(origin);
    if (this.resyncTimer) return;
    const wait = 1000 - (this.host.now() - this.lastResync);
    if (wait <= 0) return this.sendGaps();
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      try {
        this.sendGaps();
      } catch (err) {
        this.fault(err);
      }
    }, wait);
    this.resyncTimer.unref();
  }

  private sendGaps(): void {
    if (this.state !== 'ready' || this.gaps.size === 0) return;
    this.lastResync = this.host.now();
    const store = this.host.store;
    const entries = [...this.gaps].flatMap((o): Array<[string, number]> => {
      const h = store.haveOf(o);
      return h === undefined ? [] : [[o, h]];
    });
    this.log.warn({ origins: this.gaps.size }, 'gap in what the peer sent; asking it to resend');
    this.gaps.clear();
    const pages = pageHave(entries);
    pages.forEach((have, i) => this.send({ type: 'peer-have', have, more: i < pages.length - 1 }));
  }

  /** Tells the other side what we hold of some origins (after removing forged messages). */
  sendHaveOf(have: Record<string, number>): void {
    if (this.state === 'ready') this.send({ type: 'peer-have', have, more: false });
  }

  // ---- outbound ---------------------------------------------------------------------------
  private sendHello(): void {
    const store = this.host.store;
    const pages = pageHave(store.haveEntries(), store.peerId);
    const me = this.host.identity;
    this.send({ ...this.host.helloPacket(), key: toB64url(me.signPublic), box_key: toB64url(me.boxPublic), challenge: toB64url(this.challenge), have: pages[0]!, have_more: pages.length > 1 });
    for (let i = 1; i < pages.length; i++) this.send({ type: 'peer-have', have: pages[i]!, more: i < pages.length - 1 });
  }

  /** A message was just stored here (never throws into the bus: a fault closes this link). */
  offer(m: PeerStoredMessage): void {
    try {
      this.sender.offer(m);
    } catch (err) {
      this.fault(err);
    }
  }

  sendUsers(users: PeerUser[]): void {
    if (this.state === 'ready') this.send({ type: 'peer-users', users });
  }

  ping(): void {
    this.send({ type: 'ping' });
  }

  /** A packet with its binary fields already written as base64url (hello, auth, messages). */
  send(p: PeerPacket | { type: string; [k: string]: unknown }): void {
    this.conn.send(encodeFrame(p, this.mode));
  }

  // ---- ending -----------------------------------------------------------------------------
  private fail(err: ProtocolError): void {
    if (this.state === 'closed') return;
    this.errors++;
    this.send({ type: 'error', code: err.code, message: err.message });
    this.refusals.add(err.code, err.message);
    if (err.fatal) this.close(err.code, false);
    else if (this.errors >= this.host.opts.maxErrors) this.close('too many errors', false);
  }

  /** An unexpected exception: `internal` to the other side, this link closed, logged once. */
  private fault(err: unknown): void {
    if (this.state === 'closed') return;
    try {
      this.host.linkFault(this, err);
      this.send({ type: 'error', code: 'internal', message: 'the peer failed to handle what this link sent; the link is closed' });
    } finally {
      this.close('internal', false);
    }
  }

  /** Closes once, saying bye first when `bye` (a duplicate pair, shutting down). */
  close(reason: string, bye = true): void {
    if (this.state === 'closed') return;
    if (bye) this.send({ type: 'bye', reason });
    this.closeReason = reason;
    this.state = 'closed';
    this.conn.end(1000);
    this.ended();
  }

  /** The socket is gone (closed by the other side, reset, or by us). */
  onConnClosed(): void {
    if (this.state === 'closed') return;
    this.closeReason ||= 'connection closed';
    this.state = 'closed';
    this.ended();
  }

  /** Destroys a link whose socket overflowed (a peer that does not read). */
  overflow(pending: number): void {
    if (this.state === 'closed') return;
    this.log.warn({ pending }, 'peer does not read; closing the link (it catches up when it returns)');
    this.closeReason = 'send queue full';
    this.state = 'closed';
    this.conn.destroy();
    this.ended();
  }

  private ended(): void {
    this.inbox = [];
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.refusals.flush();
    this.host.linkClosed(this);
  }
}
