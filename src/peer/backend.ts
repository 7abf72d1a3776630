/**
 * The broadcast peer as a ChatBackend, so the terminal UI of the repeater client runs on it
 * unchanged. The peer's own user is not a network connection: what it types is stored in the
 * peer's store (as a message of this peer's origin) and spreads from there; what reaches the
 * store from the mesh or from repeater clients of this peer is shown when it concerns the user.
 */
import { shortFingerprint } from './identity.js';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { BackendState, ChatBackend, ChatMessage, OutgoingMessage, ScanEntry } from '../client/backend.js';
import { ProtocolError } from '../protocol/errors.js';
import { parseClientPacket } from '../protocol/packets.js';
import type { PeerNode, PeerInfo } from './node.js';
import type { PeerStoredMessage } from './peer-store.js';
import type { RefusalReport } from './refusals.js';
import { ERROR_CODES } from '../protocol/errors.js';

export function toChatMessage(m: PeerStoredMessage): ChatMessage {
  return { key: `p:${m.gid}`, id: null, uid: m.uid, username: m.username, subject: m.subject, content: m.content, room: m.room, to: m.to, timestamp: m.timestamp };
}

/**
 * One line for the UI about what a peer link was refused or slowed down for (at most once a
 * minute per link and reason: the node tells no more often). A bad frame is one notice, and
 * the peer goes on.
 */
export function refusalNotice(p: PeerInfo, r: RefusalReport): string {
  const who = `peer ${p.name || p.address}`;
  const times = r.count > 1 ? ` (${r.count} times)` : '';
  const detail = r.detail.length > 120 ? `${r.detail.slice(0, 117)}...` : r.detail;
  if (r.reason in ERROR_CODES) return `${who} sent bad input, ignored${times}: ${r.reason}${detail ? `: ${detail}` : ''}`;
  if (r.reason.startsWith('slowed: ')) return `${who} sends too much, slowed down: ${r.reason.slice(8)}${times}`;
  return `${who}: message refused${times}: ${r.reason}${detail ? ` (${detail})` : ''}`;
}

export class PeerBackend extends EventEmitter implements ChatBackend {
  readonly kind = 'broadcast' as const;
  state: BackendState = 'connecting';
  private readonly rooms: Set<string>;
  private pending = 0;
  private missedSince = new Map<string, number>();

  constructor(readonly node: PeerNode, rooms: string[] = ['lobby']) {
    super();
    this.rooms = new Set(rooms);
  }

  get username(): string {
    return this.node.opts.username;
  }

  private visible(m: PeerStoredMessage): boolean {
    if (m.to === null) return this.rooms.has(m.room);
    // A sealed DM this peer relays but cannot read (or whose box did not open) is nobody's here.
    if (m.box && !m.opened) return false;
    return m.to === this.username || m.username === this.username;
  }

  async start(): Promise<void> {
    const n = this.node;
    n.setUiRooms(this.rooms);
    n.on('message', (m: PeerStoredMessage, info: { missed: boolean; own: boolean }) => {
      if (info.own || !this.visible(m)) return;
      const c = toChatMessage(m);
      // Names are bound to keys (trust on first use): another key with a known name is shown
      // as another person, name#tag, with a one-time notice. Rows from before signatures say so.
      if (m.key) {
        const who = n.store.nameOf(m.username, m.key, n.now() / 1000);
        if (who.notice) this.emit('notice', who.notice);
        c.username = who.display;
      } else if (m.sig === null) c.username = `${m.username} (unsigned, before signatures)`;
      this.emit('message', c, { missed: info.missed });
    });
    n.on('presence', (p: { room: string; username: string; status: string }) => {
      if (this.rooms.has(p.room) && p.username !== this.username) this.emit('presence', p);
    });
    n.on('link-up', (p: PeerInfo) => {
      this.missedSince.set(p.peerId, n.stats.stored);
      this.emit('notice', `peer ${p.name} connected (${p.address})`);
    });
    n.on('link-down', (p: PeerInfo, reason: string) => this.emit('notice', `peer ${p.name} disconnected (${reason})`));
    n.on('refused', (p: PeerInfo, r: RefusalReport) => this.emit('notice', refusalNotice(p, r)));
    n.on('link-fault', (p: PeerInfo) => this.emit('notice', `peer ${p.name || p.address}: link closed after an internal error (details in the log)`));
    n.on('synced', (p: PeerInfo) => this.emit('synced', { missed: n.stats.stored - (this.missedSince.get(p.peerId) ?? n.stats.stored) }));
    const port = await n.start();
    this.state = 'online';
    this.emit('state', 'online', `listening on port ${port}`);
    this.emit('notice', `broadcast mode: listening on port ${port}${n.discovering ? ', looking for peers on the LAN' : ''}`);
  }

  send(m: OutgoingMessage): string {
    const uid = randomUUID();
    const now = this.node.now();
    let checked;
    try {
      // The same checks a repeater server makes: what we store must be acceptable to every peer.
      checked = parseClientPacket({ type: 'message', uid, content: m.content, subject: m.subject ?? null, room: m.room, to: m.to ?? null }, this.node.opts.limits);
      if (checked.type !== 'message') throw new ProtocolError('bad_packet');
    } catch (err) {
      const why = err instanceof ProtocolError ? `${err.code}: ${err.message}` : String(err);
      setImmediate(() => {
        this.emit('failed', uid, why);
        this.emit('notice', `message not sent: ${why}`);
      });
      return uid;
    }
    // A DM is sealed to the key its recipient's name is bound to: with none known, refused
    // with a reason (never sent in clear, never held back unseen).
    const noKey = checked.to !== null ? this.node.dmRefusal(checked.to) : null;
    if (noKey !== null) {
      setImmediate(() => {
        this.emit('failed', uid, `no_key: ${noKey}`);
        this.emit('notice', `message not sent: ${noKey}`);
      });
      return uid;
    }
    this.pending++;
    this.node
      .post({ uid, username: this.username, room: checked.room, to: checked.to, subject: checked.subject, content: checked.content, timestamp: now / 1000, remote: null })
      .then(
        (stored) => {
          this.pending--;
          this.emit('acked', uid, toChatMessage(stored));
        },
        (err: unknown) => {
          this.pending--;
          this.emit('failed', uid, `internal: ${(err as Error).message}`);
          this.emit('notice', `message not stored: ${(err as Error).message}`);
        },
      );
    return uid;
  }

  pendingCount(): number {
    return this.pending;
  }

  async join(room: string): Promise<void> {
    this.rooms.add(room);
    this.node.setUiRooms(this.rooms);
  }

  async leave(room: string): Promise<void> {
    this.rooms.delete(room);
    this.node.setUiRooms(this.rooms);
  }

  /**
   * Who is in `room`, each with the short fingerprint of the key that vouches for them (this
   * peer's, or the linked peer's whose proved hello lists them): `alice#3f9a`. Two people with
   * one name behind two keys are two entries.
   */
  async who(room: string): Promise<string[]> {
    const users = new Set<string>();
    const mine = shortFingerprint(this.node.identity.signPublic);
    for (const u of this.node.localUsers()) if (u.rooms.includes(room)) users.add(`${u.username}#${mine}`);
    for (const l of this.node.links.values()) {
      if (!l.remoteKey) continue;
      const fp = shortFingerprint(l.remoteKey);
      for (const u of l.users) if (u.rooms.includes(room)) users.add(`${u.username}#${fp}`);
    }
    return [...users].sort();
  }

  /** The direct messages this peer shows (sent by or sealed to it), in plaintext, oldest first. */
  directMessages(limit = 1000): ChatMessage[] {
    return this.node.store.openedDirect(limit).map(toChatMessage);
  }

  async history(room: string, limit: number): Promise<ChatMessage[]> {
    return this.node.store.historySync(room, null, limit).map(toChatMessage);
  }

  recent(limit: number): ChatMessage[] {
    // Read generously and filter: DMs between others and rooms we left are not ours to show.
    return this.node.store.recentSync(limit * 4).filter((m) => this.visible(m)).slice(-limit).map(toChatMessage);
  }

  async scan(): Promise<ScanEntry[]> {
    const found = await this.node.services(true);
    return found.map((e) => ({
      name: e.instance, host: e.addresses[0] ?? e.host, port: e.port, mode: e.mode, lastSeen: e.lastSeen,
      connected: e.mode === 'broadcast' && this.node.links.has(e.peerId),
    }));
  }

  /** The linked peers; `refused`: what each link was refused or slowed down for, counted. */
  peers(): Array<{ name: string; address: string; users: string[]; refused: string; fingerprint?: string }> {
    return [...this.node.links.values()].map((l) => ({
      name: l.remoteName, address: l.conn.remote, users: l.users.map((u) => u.username), refused: l.refusals.summary(),
      // The short fingerprint of the key the link proved (a display aid: `lab93 peer --trust` confirms keys).
      ...(l.remoteKey ? { fingerprint: shortFingerprint(l.remoteKey) } : {}),
    }));
  }

  /** `/trust NAME NUMBER`: confirms which key NAME is (safety number or short fingerprint). */
  trust(name: string, number: string): string {
    return this.node.store.trust(name, number).message;
  }

  async close(): Promise<void> {
    this.state = 'offline';
    await this.node.close();
  }
}
