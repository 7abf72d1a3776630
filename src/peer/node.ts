/**
 * A broadcast-mode peer (docs/broadcast.md): its store, one TCP listener shared by peer links
 * and repeater clients, the links to other peers, the dialler that keeps them up, and mDNS
 * discovery.
 *
 * The repeater server core is embedded with this peer's store and an in-process bus: a
 * repeater client (`lab93 -r -c -a PEER`) is served exactly as by a server, what it posts
 * becomes a message of this peer's origin, and it receives what the mesh brings. Every message,
 * whoever wrote it, goes store -> bus; the bus fans it out to local clients, to every peer link,
 * and to this peer's own terminal user.
 *
 * Events: 'listening' (port), 'link-up' (PeerInfo), 'link-down' (PeerInfo, reason),
 * 'message' (m, { missed, own }), 'presence' ({ room, username, status }), 'synced' (PeerInfo),
 * 'refused' (PeerInfo, RefusalReport: at most once a minute per link and reason),
 * 'link-fault' (PeerInfo, error: the link was closed with `internal`).
 */
import { EventEmitter } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { LocalBus } from '../bus/local.js';
import type { BusEvent } from '../bus/types.js';
import { FrameConn } from '../net/frame-conn.js';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import { sniff } from '../protocol/sniff.js';
import { createServer, type Lab93Server } from '../server/server.js';
import type { NewMessage } from '../store/types.js';
import type { PeerOptions } from './config.js';
import { Discovery, type ServiceEntry } from './discovery.js';
import { admit } from './admission.js';
import { fitUsers } from './have-pages.js';
import { PeerLink, type LinkHost, type Received } from './link.js';
import { PEER_PROTOCOL_VERSION, type PeerHelloPacket, type PeerMessagePacket, type PeerUser } from './packets.js';
import { PeerStore, signedFieldsOf, type PeerStoredMessage, type SealTarget } from './peer-store.js';
import type { RefusalReport } from './refusals.js';
import { generateIdentity, KeyCache, verifyBatch, type PeerIdentity } from './identity.js';
import { loadOrCreateIdentity, recordLastSeq } from './identity-file.js';

/** The identity file of a store: beside it, named after it (the data folder's, not the port's). */
export function identityPathOf(dbPath: string): string {
  return `${dbPath.replace(/\.db$/, '')}.identity.json`;
}

/** This peer's keys: given, or from the identity file beside the store (made at first start). */
export function peerIdentityFor(opts: Pick<PeerOptions, 'identity' | 'dbPath'>): PeerIdentity {
  return peerIdentityFileFor(opts).identity;
}

/** The keys, the last seq the identity file records, and its path (null: no file, keys given or in memory). */
function peerIdentityFileFor(opts: Pick<PeerOptions, 'identity' | 'dbPath'>): { identity: PeerIdentity; lastSeq: number; path: string | null } {
  if (opts.identity) return { identity: opts.identity, lastSeq: 0, path: null };
  if (opts.dbPath === ':memory:') return { identity: generateIdentity(), lastSeq: 0, path: null };
  const path = identityPathOf(opts.dbPath);
  const r = loadOrCreateIdentity(path);
  if (!r.ok) throw new Error(`the peer identity ${path} cannot be used: ${r.message}`);
  return { identity: r.value.identity, lastSeq: r.value.lastSeq, path };
}

export interface PeerInfo {
  peerId: string;
  name: string;
  address: string;
  direction: 'in' | 'out';
  users: PeerUser[];
}

interface Target {
  key: string;
  source: 'manual' | 'mdns';
  addresses: string[];
  port: number;
  peerId: string | null;
  link: PeerLink | null;
  connecting: boolean;
  delay: number;
  attempt: number;
  timer: NodeJS.Timeout | null;
  isSelf: boolean;
}

export class PeerNode extends EventEmitter implements LinkHost {
  readonly store: PeerStore;
  readonly bus = new LocalBus();
  readonly server: Lab93Server;
  readonly log: Logger;
  /** Ready links by the other side's peer id: at most one per pair. */
  readonly links = new Map<string, PeerLink>();
  private readonly all = new Set<PeerLink>();
  private readonly targets = new Map<string, Target>();
  private readonly sockets = new Set<Socket>();
  private readonly pinged = new Map<PeerLink, number>();
  private listener: net.Server | null = null;
  private discovery: Discovery | null = null;
  private incoming: Array<{ p: PeerMessagePacket & { via: string }; sync: boolean; link: PeerLink }> = [];
  private flushScheduled = false;
  private usersScheduled = false;
  private lastUsersJson = '';
  private remotePresence = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private uiRooms: Set<string> | null = null;
  port = 0;
  readonly stats = { duplicates: 0, gaps: 0, stored: 0, refused: 0, faults: 0, purged: 0, forged: 0 };
  readonly identity: PeerIdentity;
  /** Imported public keys of hellos and messages (one import per key, not per use). */
  readonly keys = new KeyCache();

  constructor(readonly opts: PeerOptions, log: Logger, private readonly clock: () => number = Date.now) {
    super();
    this.log = log;
    const idFile = peerIdentityFileFor(opts);
    this.identity = idFile.identity;
    this.store = new PeerStore(opts.dbPath, 'full', this.identity);
    if (idFile.path) this.keepOwnSeq(idFile.path, idFile.lastSeq);
    this.store.maxMessages = opts.maxStore > 0 ? opts.maxStore : Infinity;
    this.server = createServer({
      store: this.store,
      bus: this.bus,
      log: log.child({ component: 'repeater' }),
      options: { limits: opts.limits, serverName: `lab93-peer ${opts.username}` },
      now: clock,
      // DMs of repeater clients of this peer are sealed too: refused when there is no key.
      directCheck: (to) => this.dmRefusal(to),
    });
    this.bus.subscribe((ev) => this.onBus(ev));
  }

  get peerId(): string {
    return this.store.peerId;
  }

  /**
   * The identity file outlives the store (docs/broadcast.md, "A lost store"): it records the
   * highest seq this peer has numbered, and a store that holds less goes on after it. Recorded
   * after each commit of own messages, before they are sent anywhere. The cost: a small file
   * written, fsynced and renamed per group commit of this peer's own messages (once per batch,
   * not per message), about what SQLite's commit costs again: a lone post took ~8 ms and takes
   * ~15 ms on the test machine's disk; under load the batches grow and the cost is shared. It
   * must be exact, not reserved ahead: numbers skipped would be a gap no neighbour can fill. A
   * stale record (a write that failed) matters only if the store is lost before the next one.
   */
  private keepOwnSeq(path: string, lastSeq: number): void {
    this.store.continueOwnAfter(lastSeq);
    let failing = false;
    const record = (seq: number): void => {
      const r = recordLastSeq(path, this.identity, seq);
      // Told once per streak of failures (a full or read-only disk would fail every post).
      if (!r.ok && !failing) this.log.warn({ path, seq, err: r.message }, 'cannot record the last seq in the identity file');
      else if (r.ok && failing) this.log.info({ path, seq }, 'the identity file records the last seq again');
      failing = !r.ok;
    };
    this.store.onOwnSeq = record;
    // A file from before it recorded seqs (or a write that failed) catches up with the store now.
    const own = this.store.haveOf(this.peerId) ?? 0;
    if (own > lastSeq) record(own);
  }

  now(): number {
    return this.clock();
  }

  // ---- lifecycle --------------------------------------------------------------------------
  async start(): Promise<number> {
    this.port = await this.listen();
    const o = this.opts;
    const limits = {
      maxStore: o.maxStore, maxFirstSeq: o.maxFirstSeq, historyWindow: o.historyWindow, linkTimeoutMs: o.linkTimeoutMs, linkMessageRate: o.linkMessageRate,
      linkBytesPerMinute: o.linkBytesPerMinute, linkNewOriginsPerMinute: o.linkNewOriginsPerMinute, originRate: o.originRate, originBurst: o.originBurst,
      frameRate: o.frameRate, frameBurst: o.frameBurst, maxErrors: o.maxErrors, maxSendQueue: o.maxSendQueue,
    };
    this.log.info({ port: this.port, peer: this.peerId, user: o.username, db: o.dbPath, limits }, 'peer listening');
    this.emit('listening', this.port);
    const tick = Math.max(50, Math.min(this.opts.pingMs, this.opts.linkTimeoutMs / 3) / 2);
    this.sweepTimer = setInterval(() => this.sweep(), tick);
    this.sweepTimer.unref();
    for (const p of this.opts.peers) this.addManualPeer(p.host, p.port);
    if (this.opts.discovery) {
      this.discovery = new Discovery({
        service: { port: this.port, peerId: this.peerId, mode: 'broadcast', username: this.opts.username, ...(this.opts.instance ? { instance: this.opts.instance } : {}), ...(this.opts.networkKey ? { net: this.opts.networkKey.tag } : {}) },
        browse: true,
        ttl: this.opts.mdnsTtl,
        log: this.log,
        ...(this.opts.mdnsInterfaces ? { interfaces: this.opts.mdnsInterfaces } : {}),
        ...(this.opts.mdnsPort ? { mdnsPort: this.opts.mdnsPort } : {}),
      });
      this.discovery.on('up', (e: ServiceEntry) => this.onService(e, true));
      this.discovery.on('update', (e: ServiceEntry) => this.onService(e, false));
      this.discovery.on('down', (e: ServiceEntry, why: string) => this.onServiceGone(e, why));
      await this.discovery.start();
    }
    return this.port;
  }

  private listen(): Promise<number> {
    const tries = this.opts.port === 0 ? 1 : this.opts.portSearch + 1;
    const attempt = (i: number): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        const srv = net.createServer({ noDelay: true }, (s) => this.accept(s));
        srv.once('error', reject);
        srv.listen({ port: this.opts.port === 0 ? 0 : this.opts.port + i, host: this.opts.host }, () => {
          srv.off('error', reject);
          this.listener = srv;
          resolve((srv.address() as AddressInfo).port);
        });
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE' && i + 1 < tries) return attempt(i + 1);
        throw err;
      });
    return attempt(0);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const t of this.targets.values()) if (t.timer) clearTimeout(t.timer);
    const gone = this.discovery?.stop();
    for (const l of [...this.all]) l.close('shutting down');
    this.flushIncoming();
    await this.server.close();
    const stopped = this.listener ? new Promise<void>((r) => this.listener!.close(() => r())) : Promise.resolve();
    await Promise.all([...this.all].map((l) => l.conn.drained()));
    for (const s of this.sockets) s.destroy();
    await gone;
    await stopped;
    await this.bus.close();
    await this.store.close();
    this.log.info('peer stopped');
  }

  // ---- accepting: a peer link or a repeater client, told apart by the first frame ----------
  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    const max = this.opts.limits.maxFrameBytes;
    const onError = (): void => {};
    const done = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.setTimeout(0);
    };
    const toServer = (): void => {
      done();
      socket.pause();
      if (buf.length > 0) socket.unshift(buf);
      this.server.handleSocket(socket);
      socket.resume();
    };
    // Nothing thrown while telling the kind of a connection may escape into the event loop:
    // that connection alone ends with `internal` (docs/architecture.md, "A fault stays...").
    const onData = (chunk: Buffer): void => {
      try {
        sniffFirst(chunk);
      } catch (err) {
        done();
        socket.on('error', () => {}); // a reset after this must not become an unhandled 'error'
        this.log.error({ err, remote: socket.remoteAddress }, 'internal error on a new connection; closing it');
        socket.end(encodeFrame({ type: 'error', code: 'internal', message: 'the peer failed to handle this connection' }, buf[0] === 0x7b ? 'plain' : 'base64'));
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    };
    const sniffFirst = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const kind = sniff(buf);
      if (kind === 'more') return;
      if (kind === 'classic' || kind === 'tls') return toServer();
      const nl = buf.indexOf(10);
      if (nl === -1) {
        if (buf.length > max) toServer();
        return;
      }
      let line = buf.subarray(0, nl);
      if (line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      const d = decodeFrame(line, kind);
      if (!d.ok || d.value.type !== 'peer-hello') return toServer();
      done();
      this.startLink(socket, 'in', kind, null, buf);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.setTimeout(10_000, () => socket.destroy());
  }

  private startLink(socket: Socket, direction: 'in' | 'out', mode: 'base64' | 'plain', target: Target | null, first?: Buffer): PeerLink {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.setKeepAlive(true, 15_000);
    let link: PeerLink;
    const conn = new FrameConn(socket, { maxFrameBytes: this.opts.limits.maxFrameBytes, maxSendQueue: this.opts.maxSendQueue }, {
      frame: (line) => link.onFrame(line),
      oversize: () => link.close('frame too large', false),
      overflow: (pending) => link.overflow(pending),
      close: () => link.onConnClosed(),
    });
    link = new PeerLink(this, conn, direction, mode);
    if (target) {
      link.target = target.key;
      target.link = link;
    }
    this.all.add(link);
    if (first) conn.feed(first);
    return link;
  }

  // ---- LinkHost ---------------------------------------------------------------------------
  helloPacket(): Omit<PeerHelloPacket, 'have' | 'have_more' | 'key' | 'box_key' | 'challenge'> {
    return { type: 'peer-hello', peer_id: this.peerId, name: this.opts.username, version: PEER_PROTOCOL_VERSION, port: this.port, users: this.fittedUsers() };
  }

  /** Local users, as many as fit in one frame (a hello or peer-users must stay one frame). */
  private fittedUsers(): PeerUser[] {
    const { users, left } = fitUsers(this.localUsers());
    if (left > 0) this.log.warn({ left }, 'too many local users to tell peers about; some are left out');
    return users;
  }

  linkReady(link: PeerLink): boolean {
    const id = link.remoteId;
    const target = link.target ? this.targets.get(link.target) : undefined;
    if (target) target.peerId = id;
    if (id === this.peerId) {
      if (target) target.isSelf = true;
      link.close('that is me');
      return false;
    }
    const other = this.links.get(id);
    if (other && other !== link) {
      // Both dialled at once: the connection dialled by the lower peer id survives, on both
      // sides alike. Two links of the same direction: the newer one replaces a stale one.
      const iAmLower = this.peerId < id;
      const keeps = (l: PeerLink): boolean => (l.direction === 'out') === iAmLower;
      if (keeps(other) && !keeps(link)) {
        link.close('duplicate link');
        return false;
      }
      other.close(keeps(link) ? 'duplicate link' : 'replaced by a newer link');
    }
    this.links.set(id, link);
    // Its X25519 key, proved with the hello: DMs to its users can be sealed from now on.
    if (link.remoteKey && link.remoteBoxKey && this.store.db.open) this.store.rememberBoxKey(link.remoteKey, link.remoteBoxKey, this.now() / 1000);
    if (target) target.delay = this.opts.redialMinMs;
    this.log.info({ peer: id, user: link.remoteName, remote: link.conn.remote, dir: link.direction, users: link.users.map((u) => u.username) }, 'peer link up');
    this.emit('link-up', this.info(link));
    this.updateRemotePresence();
    return true;
  }

  receive(link: PeerLink, p: PeerMessagePacket): Received {
    const a = admit(p, {
      self: this.peerId, from: link.remoteId, maxFirstSeq: this.opts.maxFirstSeq,
      haveOf: (o) => this.store.haveOf(o),
      linked: (id) => this.links.get(id)?.state === 'ready',
    });
    if (a.kind === 'refused') {
      this.stats.refused++;
      return { refused: a.reason, detail: a.detail };
    }
    if (a.kind === 'ignored') {
      this.stats.duplicates++;
      return 'ignored';
    }
    const held = this.store.haveOf(p.origin);
    // Cheap checks before any crypto: in a mesh each message comes over several links, and
    // only the first copy costs a verification (a repeat is dropped unverified).
    if (held !== undefined && p.seq <= held) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    if (held !== undefined && p.seq !== held + 1) {
      this.stats.gaps++;
      return 'gap';
    }
    const known = held !== undefined;
    const v = this.store.accept(p);
    if (v === 'duplicate') {
      this.stats.duplicates++;
      return v;
    }
    if (v === 'gap') {
      this.stats.gaps++;
      return v;
    }
    // Verified with the rest of this turn's messages (flushIncoming): one signature per run.
    this.incoming.push({ p: { ...p, via: link.remoteId }, sync: link.receivingSync, link });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One transaction for what arrived in this turn of the event loop (group commit).
      setImmediate(() => this.flushIncoming());
    }
    return known ? 'stored' : 'stored-new-origin';
  }

  /**
   * A linked peer's own word about its origin: it holds `seq` of it. Messages of that origin
   * above it here were claimed by others in its name (a rogue link, or a relay that believed
   * one): they are removed, so its real messages are no longer taken for duplicates, and it is
   * told what we really hold. Messages it sent us itself are never removed on its word alone.
   */
  originSays(link: PeerLink, seq: number): void {
    const origin = link.remoteId;
    const have = this.store.haveOf(origin);
    if (have === undefined || have <= seq) return;
    this.flushIncoming();
    const removed = this.store.purgeAbove(origin, seq);
    if (removed === null) {
      link.log.warn({ claims: seq, have }, 'peer says it wrote less than it sent us before; keeping what we hold');
      return;
    }
    this.stats.purged += removed;
    link.log.warn({ claims: seq, had: have, removed }, 'removed messages claimed by others in the name of this peer');
    const now = this.store.haveOf(origin);
    if (now !== undefined) link.sendHaveOf({ [origin]: now });
  }

  linkRefused(link: PeerLink, r: RefusalReport): void {
    link.log.warn({ reason: r.reason, count: r.count, total: r.total, detail: r.detail }, `peer link: ${r.reason}`);
    this.emit('refused', this.info(link), r);
  }

  linkFault(link: PeerLink, err: unknown): void {
    this.stats.faults++;
    link.log.error({ err }, 'internal error on a peer link; closing it');
    this.emit('link-fault', this.info(link), err);
  }

  private flushIncoming(): void {
    this.flushScheduled = false;
    if (this.incoming.length === 0 || !this.store.db.open) return;
    const all = this.incoming;
    this.incoming = [];
    // Verify before storing or forwarding (docs/protocol-peers.md, "Message signatures"): one
    // Ed25519 check per run of an origin's consecutive messages (their prev links chain them).
    const verdicts = verifyBatch(all.map((b) => ({ m: signedFieldsOf({ ...b.p, toPeer: b.p.to_peer }, b.p.box_key, b.p.prev), key: b.p.key, sig: b.p.sig })), this.keys);
    const bad = new Set<string>();
    const batch = all.filter((b, i) => {
      const v = verdicts[i]!;
      // After a forgery, the same origin's later messages of this batch would follow a hole:
      // dropped too, and asked for again (the link's resync) instead of stored out of order.
      if (v.ok && !bad.has(b.p.origin)) return true;
      if (!v.ok) {
        this.stats.forged++;
        b.link.forged(`${v.code}: seq ${b.p.seq} of ${b.p.origin}: ${v.message}`);
      } else b.link.requestResync(b.p.origin);
      bad.add(b.p.origin);
      return false;
    });
    let stored: Array<PeerStoredMessage | null>;
    try {
      stored = this.store.insertRemote(batch.map((b) => b.p));
    } catch (err) {
      // Their places in the have map were reserved by accept(): give them back, so that the
      // messages are asked for again instead of being taken for duplicates.
      this.store.forget(batch.map((b) => b.p));
      this.log.error({ err }, 'storing messages from peers failed');
      return;
    }
    // The places accept() reserved for what was dropped go back: asked for (or refused) again.
    if (bad.size > 0) this.store.forget([...bad].map((origin) => ({ origin })));
    for (const u of this.store.takeUnopened()) this.log.warn({ gid: u.gid, code: u.code }, 'a direct message sealed to this peer does not open; kept as relayed, not shown');
    stored.forEach((m, i) => {
      if (!m) return;
      this.stats.stored++;
      this.bus.publish({ kind: 'message', message: m, origin: batch[i]!.sync ? 'mesh-sync' : 'mesh' });
    });
  }

  linkUsers(link: PeerLink): void {
    if (this.links.get(link.remoteId) === link) this.updateRemotePresence();
  }

  linkSynced(link: PeerLink): void {
    this.emit('synced', this.info(link));
  }

  linkClosed(link: PeerLink): void {
    this.all.delete(link);
    this.pinged.delete(link);
    const target = link.target ? this.targets.get(link.target) : undefined;
    if (target && target.link === link) target.link = null;
    if (link.remoteId && this.links.get(link.remoteId) === link) {
      this.links.delete(link.remoteId);
      this.log.info({ peer: link.remoteId, user: link.remoteName, reason: link.closeReason }, 'peer link down');
      this.emit('link-down', this.info(link), link.closeReason);
      this.updateRemotePresence();
    }
    if (this.closing) return;
    // Whoever can reach that peer again tries: its own target and any other naming it.
    for (const t of this.targets.values()) {
      if (t === target || (link.remoteId && t.peerId === link.remoteId)) this.scheduleDial(t, t.delay);
    }
  }

  private info(l: PeerLink): PeerInfo {
    return { peerId: l.remoteId, name: l.remoteName, address: l.conn.remote, direction: l.direction, users: l.users };
  }

  // ---- dialling ---------------------------------------------------------------------------
  /** Keeps a link to HOST:PORT up (from --peer): retried forever with backoff. */
  addManualPeer(host: string, port: number): void {
    const key = `manual:${host}:${port}`;
    if (this.targets.has(key)) return;
    const t: Target = { key, source: 'manual', addresses: [host], port, peerId: null, link: null, connecting: false, delay: this.opts.redialMinMs, attempt: 0, timer: null, isSelf: false };
    this.targets.set(key, t);
    this.dial(t);
  }

  private onService(e: ServiceEntry, fresh: boolean): void {
    if (e.mode !== 'broadcast' || this.closing) return;
    // Another mesh on this LAN (another network key, or one of us has none): never dialled.
    if ((e.net ?? null) !== (this.opts.networkKey?.tag ?? null)) return;
    const key = `mdns:${e.peerId}`;
    let t = this.targets.get(key);
    if (!t) {
      t = { key, source: 'mdns', addresses: e.addresses, port: e.port, peerId: e.peerId, link: null, connecting: false, delay: this.opts.redialMinMs, attempt: 0, timer: null, isSelf: false };
      this.targets.set(key, t);
    } else {
      t.addresses = e.addresses;
      t.port = e.port;
    }
    if (this.links.has(e.peerId) || t.connecting) return;
    // A fresh announcement is news: dial now rather than after a long backoff. When both
    // sides see each other, the higher id waits a little, so usually only one connection opens.
    if (fresh || t.timer === null) {
      t.delay = this.opts.redialMinMs;
      this.scheduleDial(t, this.peerId > e.peerId ? 1000 : 0, true);
    }
  }

  private onServiceGone(e: ServiceEntry, why: string): void {
    const t = this.targets.get(`mdns:${e.peerId}`);
    if (!t) return;
    if (t.timer) clearTimeout(t.timer);
    this.targets.delete(t.key);
    this.log.info({ peer: e.peerId, instance: e.instance, why }, 'peer left the network');
  }

  private scheduleDial(t: Target, ms: number, replace = false): void {
    if (this.closing || t.isSelf || !this.targets.has(t.key)) return;
    if (t.timer) {
      if (!replace) return;
      clearTimeout(t.timer);
    }
    t.timer = setTimeout(() => {
      t.timer = null;
      this.dial(t);
    }, ms);
    t.timer.unref();
  }

  private dial(t: Target): void {
    if (this.closing || t.connecting || t.link || t.isSelf || !this.targets.has(t.key)) return;
    if (t.peerId !== null && this.links.has(t.peerId)) return;
    const address = t.addresses[t.attempt % Math.max(1, t.addresses.length)];
    if (address === undefined) return;
    t.connecting = true;
    const socket = net.connect({ host: address, port: t.port, noDelay: true });
    const fail = (why: string): void => {
      if (!t.connecting) return;
      t.connecting = false;
      t.attempt++;
      socket.destroy();
      this.log.debug({ address, port: t.port, why }, 'dial failed');
      this.scheduleDial(t, t.delay);
      t.delay = Math.min(this.opts.redialMaxMs, t.delay * 2);
    };
    socket.setTimeout(5000, () => fail('timeout'));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    socket.once('connect', () => {
      if (!t.connecting) return;
      t.connecting = false;
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.startLink(socket, 'out', 'base64', t);
    });
  }

  private sweep(): void {
    const t = this.now();
    for (const l of this.all) {
      // A link we stopped reading (a quota) is not silent: we are the ones not listening.
      if (!l.throttled && t - l.lastSeen > this.opts.linkTimeoutMs) {
        l.close(`silent for ${Math.round((t - l.lastSeen) / 1000)} s`, false);
        continue;
      }
      if ((l.state === 'hello' || l.state === 'auth') && t - l.openedAt > 10_000) {
        l.close('no peer-hello in time', false);
        continue;
      }
      const last = this.pinged.get(l) ?? l.openedAt;
      if (l.state === 'ready' && t - last >= this.opts.pingMs) {
        this.pinged.set(l, t);
        l.ping();
      }
    }
  }

  // ---- messages ---------------------------------------------------------------------------
  private onBus(ev: BusEvent): void {
    if (ev.kind === 'presence') {
      this.scheduleUsers();
      this.emit('presence', { room: ev.room, username: ev.username, status: ev.status });
      return;
    }
    const m = ev.message as PeerStoredMessage;
    // Bind the name to its key on first sight, whoever shows it (trust on first use).
    if (m.key && this.store.db.open) this.store.nameOf(m.username, m.key, this.now() / 1000, false);
    for (const l of this.links.values()) l.offer(m);
    this.emit('message', m, { missed: ev.origin === 'mesh-sync', own: ev.origin === 'ui' });
  }

  /**
   * Where a DM to `username` is sealed (docs/protocol-peers.md, "Sealed direct messages"): the
   * key the name is bound to here. A name not bound yet is bound now (trust on first use) to
   * the peer that vouches for it as a local user: this peer itself, or a linked peer whose
   * proved hello or peer-users lists it. Null: nobody with that name has been seen with a key,
   * and the DM is refused (never sent in clear, never held).
   */
  dmTarget(username: string): SealTarget | null {
    const known = this.store.sealTargetOf(username);
    if (known) return known;
    const now = this.now() / 1000;
    let key: Buffer | null = null;
    if (this.localUsers().some((u) => u.username === username)) key = this.identity.signPublic;
    else {
      // The lowest peer id first: every peer that picks among the same links picks the same one.
      const ids = [...this.links.keys()].sort();
      const link = ids.map((id) => this.links.get(id)!).find((l) => l.remoteKey && l.users.some((u) => u.username === username));
      key = link?.remoteKey ?? null;
    }
    // Bound already to a key whose X25519 key is unknown: never re-bound behind the user's back.
    if (key === null || this.store.nameOf(username, key, now, false).bound === false) return null;
    return this.store.sealTargetOf(username);
  }

  /** Why a DM to `username` cannot be sent now (null: it can be sealed). */
  dmRefusal(username: string): string | null {
    if (this.dmTarget(username)) return null;
    return `${username} has no known key yet, so a direct message to them cannot be sealed: wait until their peer has been seen (they are online or have written), then send it again`;
  }

  /** Stores a message of this peer's own user; resolves once it is durable (then it spreads). */
  post(m: NewMessage): Promise<PeerStoredMessage> {
    return new Promise((resolve, reject) => {
      this.server.committer.submit(m, (err, r) => {
        if (err || !r) return reject(err ?? new Error('not stored'));
        const stored = r.message as PeerStoredMessage;
        if (!r.duplicate) this.bus.publish({ kind: 'message', message: stored, origin: 'ui' });
        resolve(stored);
      });
    });
  }

  // ---- users and presence -----------------------------------------------------------------
  /** The terminal user's rooms (null: no terminal user, a headless relay). */
  setUiRooms(rooms: Iterable<string> | null): void {
    this.uiRooms = rooms === null ? null : new Set(rooms);
    this.scheduleUsers();
  }

  /** Users on this peer: its terminal user and the repeater clients connected to it. */
  localUsers(): PeerUser[] {
    const users = new Map<string, Set<string>>();
    if (this.uiRooms) users.set(this.opts.username, new Set(this.uiRooms));
    for (const [name, sessions] of this.server.context.hub.users) {
      const rooms = users.get(name) ?? new Set<string>();
      for (const s of sessions) for (const r of s.rooms) rooms.add(r);
      users.set(name, rooms);
    }
    return [...users].map(([username, rooms]) => ({ username, rooms: [...rooms].sort() })).sort((a, b) => a.username.localeCompare(b.username));
  }

  /** Users behind the connected peers. */
  remoteUsers(): Array<PeerUser & { peer: string }> {
    return [...this.links.values()].flatMap((l) => l.users.map((u) => ({ ...u, peer: l.remoteName })));
  }

  private scheduleUsers(): void {
    if (this.usersScheduled || this.closing) return;
    this.usersScheduled = true;
    setImmediate(() => {
      this.usersScheduled = false;
      const users = this.localUsers();
      const json = JSON.stringify(users);
      if (json === this.lastUsersJson) return;
      this.lastUsersJson = json;
      const fitted = this.fittedUsers();
      for (const l of this.links.values()) l.sendUsers(fitted);
    });
  }

  private updateRemotePresence(): void {
    const now = new Set<string>();
    for (const u of this.remoteUsers()) for (const r of u.rooms) now.add(`${r}\u0000${u.username}`);
    for (const k of now) if (!this.remotePresence.has(k)) this.emitPresence(k, 'online');
    for (const k of this.remotePresence) if (!now.has(k)) this.emitPresence(k, 'offline');
    this.remotePresence = now;
  }

  private emitPresence(key: string, status: 'online' | 'offline'): void {
    const [room, username] = key.split('\u0000') as [string, string];
    this.emit('presence', { room, username, status });
  }

  /** Services seen on the LAN (peers and repeater servers); an active query first when `scan`. */
  async services(scan: boolean, waitMs = 1500): Promise<ServiceEntry[]> {
    if (!this.discovery) return [];
    return scan ? this.discovery.scan(waitMs) : this.discovery.services();
  }

  get discovering(): boolean {
    return this.discovery !== null;
  }
}
