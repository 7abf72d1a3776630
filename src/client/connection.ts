/**
 * The repeater client's connection to a lab93 server (docs/protocol.md): TCP, base64 frames,
 * `hello` with `since` = the last id we hold, catch-up, relayed messages, acks by uid.
 *
 * It keeps the promises the terminal client makes (issue 2, section 4):
 * - it reconnects by itself, with exponential backoff and jitter, reset once a `welcome` arrives;
 * - a message is first written to the local outbox (SQLite) and leaves it only when acknowledged,
 *   so messages typed while offline, or before a crash, are sent with their uid when the server is
 *   back: the server answers a repeated uid with the original ack and does not relay it again,
 *   so none is lost or doubled;
 * - received messages are deduplicated by id against the local history, and the cursor only
 *   advances over messages actually received (never over our own acks: an ack may overtake
 *   relayed messages that are still held back during catch-up);
 * - it answers the server's `ping` (the pong also advances the server's cursor), pings on its
 *   own when the line is quiet, and drops a connection that stays silent, so a dead server or a
 *   dead Wi-Fi is noticed;
 * - `rate_limited` (and other "not stored, try again" errors) put the message back in the queue
 *   and sending resumes after a delay.
 *
 * And it survives its server (issue 8, item 6): every frame goes through the total validator of
 * src/protocol/server-packets.ts, so a bad one is a one-line notice, never a crash; anything that
 * still throws while handling the server's data closes this connection only (guard()); and a
 * backlog of any size is written to the local store a batch at a time as it arrives, never held.
 */
import type net from 'node:net';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { clientDbPath } from '../config/paths.js';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import { DEFAULT_ROOM } from '../protocol/limits.js';
import type { AckPacket, ErrorPacket, HistoryPacket, MessagePacket, RoomsPacket, SyncedPacket, WelcomePacket, WhoPacket } from '../protocol/packets.js';
import {
  DEFAULT_SERVER_PACKET_LIMITS, describeServerPacketError, parseServerPacket, type ServerPacketLimits, type ValidServerPacket,
} from '../protocol/server-packets.js';
import type { BackendState, ChatBackend, ChatMessage, OutgoingMessage, QueuedMessage, RoomInfo } from './backend.js';
import { backoffDelay, systemClock, type Clock, type TimerHandle } from './clock.js';
import type { HelloCredentials } from './credentials.js';
import { LocalStore, type OutboxEntry } from './local-store.js';
import { NoticeThrottle } from './notice-throttle.js';
import { PendingRequests, type Answer } from './requests.js';
import { sanitizeLine } from './sanitize.js';
import { DIALLED, describeDialError, dial, type ClientTlsOptions } from './transport.js';
import { wrongServerLine } from './wrong-server.js';

/** Debug logging of the client; a pino logger fits. */
export interface ClientLog {
  debug(obj: object, msg: string): void;
}

/** Client-side limits and their defaults (docs/security.md, "The terminal client"). */
export const CLIENT_DEFAULTS = Object.freeze({
  /** A history page of 1000 big messages must fit; a line without end must not grow forever. */
  maxFrameBytes: 64 * 1024 * 1024,
  /** Messages stored per transaction while a backlog streams in. */
  storeBatch: 500,
  noticeIntervalMs: 10_000,
});

export interface RepeaterOptions {
  host: string;
  port: number;
  username: string;
  /** Rooms joined at start (default ["lobby"]). */
  rooms?: string[];
  /** A store owned by the caller; otherwise one is opened at `dbPath` and closed by close(). */
  store?: LocalStore;
  /** Default clientDbPath(host, port); ":memory:" remembers nothing (one-shot commands). */
  dbPath?: string;
  /** A script's connection: no presence, not listed by `who` (hello `quiet`). */
  quiet?: boolean;
  /** Send this user's outbox left from earlier runs (default true; `lab93 tail` turns it off). */
  sendStoredOutbox?: boolean;
  clock?: Clock;
  random?: () => number;
  /** Reconnect backoff: first ceiling and cap (defaults 500 ms and 10 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Ping the server after this much quiet (default 15 s). */
  keepaliveMs?: number;
  /** Drop the connection after this much silence from the server (default 40 s). */
  deadAfterMs?: number;
  /** Give up a connection attempt that gets no `welcome` within this (default 10 s). */
  connectTimeoutMs?: number;
  /** join/who/history answers (default 15 s). */
  requestTimeoutMs?: number;
  /** After `rate_limited`, wait this long before sending again (default 1 s, doubling to 30 s). */
  retryMs?: number;
  /** Messages sent and not yet acknowledged at most (default 16). */
  window?: number;
  /** Longest frame accepted from the server (default 64 MiB: a history page can be big). */
  maxFrameBytes?: number;
  /** Longest names and texts accepted in the server's packets (see server-packets.ts). */
  packetLimits?: Partial<ServerPacketLimits>;
  /**
   * Received messages are stored in transactions of at most this many (default 500): a backlog
   * of any size is written as it arrives and only one batch is ever held in memory.
   */
  storeBatch?: number;
  /** Bad frames from the server: the first is a notice, the next ones one summary line per this (default 10 s). */
  noticeIntervalMs?: number;
  /** Debug log: faults while handling the server's data are logged here with their stack. */
  log?: ClientLog;
  /** TLS and how the server's certificate is trusted (client/transport.ts); absent: plain TCP. */
  tls?: ClientTlsOptions | null;
  /** Password or token for a registered name (src/client/credentials.ts); a guest without. */
  credentials?: HelloCredentials;
}

/** The request failed because the connection is not there; the caller may fall back or retry. */
export class OfflineError extends Error {
  readonly code = 'offline';
}

/** The server refused a request: `code` is the wire error code. */
export class ServerError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

type Phase = 'idle' | 'connecting' | 'hello' | 'syncing' | 'ready' | 'closed';

interface Queued {
  entry: OutboxEntry;
  inflight: boolean;
}

/** Codes after which a message was not stored and may simply be sent again later. */
const RETRYABLE = new Set(['rate_limited', 'internal', 'shutting_down', 'server_busy']);
/** Answers to hello that reconnecting with the same name and credentials cannot change. */
const LOGIN_REFUSED = new Set(['auth_required', 'auth_failed', 'name_taken', 'bad_packet']);
/** Codes without a uid that answer one of our requests (join, leave, who, history). */
const REQUEST_ERRORS = new Set(['bad_packet', 'too_many_rooms', 'not_in_room', 'unknown_type', 'internal']);

/** `accounts`: the server has accounts in use, so a message not sent from one is a guest's. */
export function packetToChat(p: MessagePacket, accounts = false): ChatMessage {
  const m: ChatMessage = {
    key: `r:${p.id}`, id: p.id, uid: p.uid ?? null, username: p.username, subject: p.subject ?? null,
    content: p.content, room: p.room ?? DEFAULT_ROOM, to: p.to ?? null, timestamp: p.timestamp,
    ...(accounts && p.verified !== true ? { guest: true } : {}),
  };
  if (p.action) m.action = true;
  return m;
}

/** Bytes kept of what arrives before `welcome`, to tell what answered when it is not lab93. */
const PRE_WELCOME_KEEP = 256;

/** Faults further apart than this start the backoff from the bottom again. */
const FAULT_MEMORY_MS = 60_000;
const BAD_FRAMES = { one: 'bad frame from the server', many: 'bad frames from the server' };
const FAULTS = { one: 'fault handling what the server sent', many: 'faults handling what the server sent' };

/** A lab93 repeater server as a ChatBackend. Events are those of ChatBackend. */
export class RepeaterConnection extends EventEmitter implements ChatBackend {
  readonly kind = 'repeater' as const;
  private _username: string;
  private readonly quiet: boolean;
  private readonly sendStoredOutbox: boolean;
  readonly host: string;
  readonly port: number;
  readonly store: LocalStore;
  private readonly ownsStore: boolean;
  private readonly tls: ClientTlsOptions | null;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly o: Required<Pick<RepeaterOptions, 'backoffInitialMs' | 'backoffMaxMs' | 'keepaliveMs' | 'deadAfterMs' | 'connectTimeoutMs' | 'requestTimeoutMs' | 'retryMs' | 'window' | 'maxFrameBytes' | 'storeBatch'>>;
  private readonly packetLimits: ServerPacketLimits;
  private readonly notices: NoticeThrottle;
  private readonly log: ClientLog | undefined;

  private _state: BackendState = 'connecting';
  private phase: Phase = 'idle';
  private socket: net.Socket | null = null;
  private attempt = 0;
  private reconnectTimer: TimerHandle | null = null;
  private keepaliveTimer: TimerHandle | null = null;
  private connectTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private lastInbound = 0;
  private pingSent = false;
  private readonly rooms: Set<string>;
  private readonly outbox = new Map<string, Queued>();
  private inflight = 0;
  private retryAt = 0;
  private retryStreak = 0;
  private readonly pending: PendingRequests;
  private sentSince: number | null = null;
  private missed = 0;
  private closing = false;
  private lastError = '';
  /** Received messages not stored yet: at most one batch (flushInbound). */
  private inbound: Array<{ m: ChatMessage; missed: boolean }> = [];
  /** Our reader is behind (pauseInbound): the socket is not read. */
  private paused = false;
  private faults = 0;
  private lastFaultAt = -Infinity;
  private credentials: HelloCredentials | undefined;
  /** Why the server refused our hello for good (the same hello would be refused again). */
  private refusedLogin: string | null = null;
  /** After `rate_limited` at hello: wait this long before the next attempt. */
  private loginRetryMs = 0;
  /** We logged into an account, or saw a message from one: guests are worth marking. */
  private accountsInUse = false;
  /** The hello frame as sent on this connection, and what came back before `welcome`. */
  private helloSent: Buffer = Buffer.alloc(0);
  private preWelcome: Buffer[] = [];
  private preWelcomeBytes = 0;
  /** A lab93 frame arrived on this connection: whatever else it sends, it speaks the protocol. */
  private spokeLab93 = false;
  /** Set once the address turned out not to be a lab93 server: no more reconnecting. */
  private fatalReason: string | null = null;
  /** /nick: this close is ours, reconnect at once under the new name. */
  private renaming = false;

  constructor(opts: RepeaterOptions) {
    super();
    this._username = opts.username;
    this.quiet = opts.quiet === true;
    this.sendStoredOutbox = opts.sendStoredOutbox !== false;
    this.host = opts.host;
    this.port = opts.port;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.rooms = new Set(opts.rooms && opts.rooms.length > 0 ? opts.rooms : [DEFAULT_ROOM]);
    this.o = {
      backoffInitialMs: opts.backoffInitialMs ?? 500,
      backoffMaxMs: opts.backoffMaxMs ?? 10_000,
      keepaliveMs: opts.keepaliveMs ?? 15_000,
      deadAfterMs: opts.deadAfterMs ?? 40_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 15_000,
      retryMs: opts.retryMs ?? 1000,
      window: opts.window ?? 16,
      maxFrameBytes: opts.maxFrameBytes ?? CLIENT_DEFAULTS.maxFrameBytes,
      storeBatch: Math.max(1, opts.storeBatch ?? CLIENT_DEFAULTS.storeBatch),
    };
    this.pending = new PendingRequests(this.clock, this.o.requestTimeoutMs);
    this.packetLimits = { ...DEFAULT_SERVER_PACKET_LIMITS, ...opts.packetLimits };
    this.log = opts.log;
    this.notices = new NoticeThrottle((text) => this.emit('notice', text), this.clock, opts.noticeIntervalMs ?? CLIENT_DEFAULTS.noticeIntervalMs);
    this.tls = opts.tls ?? null;
    this.credentials = opts.credentials;
    this.ownsStore = opts.store === undefined;
    this.store = opts.store ?? new LocalStore(opts.dbPath ?? clientDbPath(opts.host, opts.port));
    this.loadStoredOutbox();
  }

  private loadStoredOutbox(): void {
    if (!this.sendStoredOutbox) return;
    for (const entry of this.store.outbox(this.username)) this.outbox.set(entry.uid, { entry, inflight: false });
  }

  get state(): BackendState {
    return this._state;
  }

  get username(): string {
    return this._username;
  }

  /** The rooms this connection is in (or will be, once online). */
  joinedRooms(): string[] {
    return [...this.rooms];
  }

  /** Starts connecting; resolves at once (the state events tell how it goes). */
  async start(): Promise<void> {
    if (this.phase !== 'idle') return;
    this.connect();
  }

  // ---- connection lifecycle ---------------------------------------------------------------
  private setState(s: BackendState, detail?: string): void {
    if (s === this._state) return;
    this._state = s;
    this.emit('state', s, detail);
  }

  private connect(): void {
    if (this.closing || this.fatalReason !== null) return;
    this.reconnectTimer = null;
    this.phase = 'connecting';
    this.preWelcome = [];
    this.preWelcomeBytes = 0;
    this.spokeLab93 = false;
    const socket = dial({ host: this.host, port: this.port, tls: this.tls });
    this.socket = socket;
    socket.setNoDelay(true);
    const splitter = new LineSplitter(this.o.maxFrameBytes);
    this.connectTimer = this.clock.setTimeout(() => {
      // Bytes but no lab93 frame by now: something else answered (onClosed tells what).
      this.lastError = 'no answer from the server';
      socket.destroy();
    }, this.o.connectTimeoutMs);
    socket.on(DIALLED, () => {
      if (this.socket !== socket) return;
      this.guard(socket, () => {
        this.phase = 'hello';
        this.lastInbound = this.clock.now();
        const last = this.store.lastSeen(this.username);
        this.sentSince = last;
        this.helloSent = encodeFrame({ type: 'hello', username: this.username, since: last, rooms: [...this.rooms], client: 'lab93-terminal/1', ...(this.quiet ? { quiet: true } : {}), ...this.credentials?.fields() }, 'base64');
        socket.write(this.helloSent);
      });
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.guard(socket, () => {
        this.lastInbound = this.clock.now();
        this.pingSent = false;
        if (this.phase === 'hello' && this.preWelcomeBytes < PRE_WELCOME_KEEP) {
          this.preWelcome.push(chunk.subarray(0, PRE_WELCOME_KEEP - this.preWelcomeBytes));
          this.preWelcomeBytes += Math.min(chunk.length, PRE_WELCOME_KEEP - this.preWelcomeBytes);
        }
        const r = splitter.push(chunk);
        for (const line of r.lines) {
          if (socket.destroyed) break;
          this.onFrame(line);
        }
        // What this read brought is stored before the next read: write-through, one batch held at most.
        this.flushInbound();
        if (!r.ok) {
          this.lastError = 'the server sent a frame over the size limit';
          socket.destroy();
        }
      });
    });
    if (this.paused) socket.pause();
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = describeDialError(err);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.onClosed();
    });
  }

  /**
   * A fault stays in its connection (docs/architecture.md): an exception while handling what the
   * server sent (a decoder bug, a store error, a listener that throws) closes this connection
   * only, with a notice and the stack in the debug log; the usual reconnect follows, with a
   * backoff that keeps growing while faults repeat (a server that trips us right after `welcome`
   * must not make us redial in a tight loop). Messages not stored yet are dropped: the cursor did
   * not pass them, so the next catch-up brings them again.
   */
  private guard(socket: net.Socket, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      socket.destroy();
      this.inbound = [];
      const e = err instanceof Error ? err : new Error(String(err));
      this.log?.debug({ err: e, host: this.host, port: this.port }, 'client: fault while handling data from the server; closing the connection');
      const now = this.clock.now();
      if (now - this.lastFaultAt > FAULT_MEMORY_MS) this.faults = 0;
      this.faults++;
      this.lastFaultAt = now;
      this.lastError = 'closed after an internal error';
      try {
        this.notices.report('fault', `could not handle what the server sent (${sanitizeLine(`${e.name}: ${e.message}`).slice(0, 160)}); reconnecting`, FAULTS);
      } catch (again) {
        // A notice listener failing too must not undo the containment.
        this.log?.debug({ err: again }, 'client: a notice listener failed');
      }
    }
  }

  /**
   * Not a lab93 server: the connection is closed and not redialled, since it would answer the
   * same way forever (issue 11, item 5). Queued messages stay in the outbox.
   */
  private wrongServer(): void {
    this.fatalReason = wrongServerLine(this.host, this.port, Buffer.concat(this.preWelcome), this.helloSent);
    this.socket?.destroy();
  }

  private onClosed(): void {
    this.socket = null;
    try {
      this.flushInbound();
    } catch {
      this.inbound = []; // not stored: fetched again by the next catch-up
    }
    // Bytes before any welcome and not one lab93 frame among them (a partial line, a timeout).
    if (this.phase === 'hello' && this.preWelcomeBytes > 0 && !this.spokeLab93 && this.fatalReason === null && !this.closing) {
      this.fatalReason = wrongServerLine(this.host, this.port, Buffer.concat(this.preWelcome), this.helloSent);
    }
    const wasOnline = this.phase === 'syncing' || this.phase === 'ready';
    this.phase = this.closing ? 'closed' : 'idle';
    for (const t of [this.connectTimer, this.keepaliveTimer, this.retryTimer]) if (t !== null) this.clock.clearTimeout(t);
    this.connectTimer = this.keepaliveTimer = this.retryTimer = null;
    for (const q of this.outbox.values()) q.inflight = false;
    this.inflight = 0;
    this.pending.failAll(new OfflineError('the connection to the server was lost'));
    if (this.closing) return;
    if (this.fatalReason !== null) {
      this.lastError = '';
      // 'fatal' first: a front end that is leaving does not announce a reconnect.
      this.emit('fatal', this.fatalReason);
      this.setState('offline', this.fatalReason);
      return;
    }
    if (this.renaming) {
      // Our own close for /nick: straight back, under the new name, no offline notice.
      this.renaming = false;
      this.lastError = '';
      this.setState('connecting');
      this.reconnectTimer = this.clock.setTimeout(() => this.connect(), 0);
      return;
    }
    const detail = this.lastError || (wasOnline ? 'connection closed' : 'could not connect');
    this.lastError = '';
    this.setState('offline', detail);
    if (this.refusedLogin !== null) {
      // Trying again with the same name and credentials would be refused again: stop here.
      this.emit('notice', `cannot log in: ${this.refusedLogin}`);
      return;
    }
    const wait = this.loginRetryMs;
    this.loginRetryMs = 0;
    const delay = wait > 0 ? wait : backoffDelay(Math.max(this.attempt++, this.faults), this.o.backoffInitialMs, this.o.backoffMaxMs, this.random);
    this.reconnectTimer = this.clock.setTimeout(() => this.connect(), delay);
  }

  private write(packet: object): void {
    const s = this.socket;
    if (s && !s.destroyed && s.writable) s.write(encodeFrame(packet, 'base64'));
  }

  /** Quiet line: ping; silent too long: the connection is dead, drop it and reconnect. */
  private armKeepalive(): void {
    const step = Math.max(10, Math.min(this.o.keepaliveMs, this.o.deadAfterMs) / 3);
    this.keepaliveTimer = this.clock.setTimeout(() => {
      this.keepaliveTimer = null;
      if (!this.socket) return;
      // Not reading on purpose is not silence from the server.
      if (this.paused) this.lastInbound = this.clock.now();
      const quiet = this.clock.now() - this.lastInbound;
      if (quiet >= this.o.deadAfterMs) {
        this.lastError = `no word from the server for ${Math.round(quiet / 1000)} s`;
        this.socket.destroy();
        return;
      }
      if (quiet >= this.o.keepaliveMs && !this.pingSent) {
        this.pingSent = true;
        this.write({ type: 'ping' });
      }
      this.armKeepalive();
    }, step);
  }

  // ---- inbound ----------------------------------------------------------------------------
  private onFrame(line: Buffer): void {
    if (line.length === 0) return;
    const d = decodeFrame(line, 'base64');
    if (this.phase === 'hello' && !this.spokeLab93) {
      // The first line of the answer to hello decides whether this is a lab93 server at all:
      // not a frame, or our own hello echoed back, and it is something else.
      const echo = this.helloSent.length > 0 && line.equals(this.helloSent.subarray(0, this.helloSent.length - 1));
      if (!d.ok || echo) return this.wrongServer();
      this.spokeLab93 = true;
    }
    if (!d.ok) return this.badFrame(d.message);
    const r = parseServerPacket(d.value, this.packetLimits);
    if (r.kind === 'ignored') return;
    if (r.kind === 'invalid') {
      this.badFrame(describeServerPacketError(r.error));
      // A bad answer to join/leave/who/history fails that request now, not after its timeout.
      if (r.error.type !== null) this.pending.failOldest(new ServerError('bad_packet', `the server sent a bad answer (${sanitizeLine(r.error.message).slice(0, 160)})`), r.error.type);
      return;
    }
    const p: ValidServerPacket = r.packet;
    // Messages are stored in batches; anything else first sees every message before it stored.
    if (p.type !== 'message') this.flushInbound();
    switch (p.type) {
      case 'welcome':
        return this.onWelcome(p);
      case 'message':
        if (p.verified === true) this.accountsInUse = true;
        return this.onMessage(packetToChat(p, this.accountsInUse));
      case 'synced':
        return this.onSynced(p);
      case 'ack':
        return this.onAck(p);
      case 'error':
        return this.onError(p);
      case 'ping':
        this.write(p.data === undefined ? { type: 'pong' } : { type: 'pong', data: p.data });
        return;
      case 'pong':
        return;
      case 'presence':
        this.emit('presence', { room: p.room, username: p.username, status: p.status });
        return;
      case 'bye':
        this.lastError = p.reason !== undefined ? `server said goodbye: ${sanitizeLine(p.reason).slice(0, 200)}` : 'server said goodbye';
        return;
      case 'joined':
      case 'left':
      case 'who':
      case 'history':
      case 'rooms':
        return this.pending.answer(p);
    }
  }

  /** One line, whatever the server sent; a flood of them is summed up (NoticeThrottle). */
  private badFrame(why: string): void {
    this.notices.report('bad-frame', `ignored a bad frame from the server (${sanitizeLine(why).slice(0, 160)})`, BAD_FRAMES);
  }

  private onWelcome(p: WelcomePacket): void {
    if (this.phase !== 'hello') return;
    if (this.connectTimer !== null) this.clock.clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const lastId = p.last_id;
    if (this.sentSince !== null && lastId < this.sentSince) {
      // The server's ids now name other messages: keep our history, forget the ids, and come
      // back with since=0 to fetch everything the new store holds (all of it is new to us).
      this.store.serverReset();
      this.emit('notice', `the server's message store was reset (it is at #${lastId}, we had seen #${this.sentSince}); local history is kept, fetching the server's messages from the start`);
      this.attempt = 0;
      this.lastError = 'server store reset';
      this.socket?.destroy();
      return;
    }
    this.credentials?.welcomed(p);
    if (p.account === true) this.accountsInUse = true;
    this.phase = 'syncing';
    this.attempt = 0;
    this.missed = 0;
    this.retryAt = 0;
    this.armKeepalive();
    this.setState('online');
    this.pump();
  }

  private onMessage(m: ChatMessage): void {
    if (m.username === this.username && m.uid !== null && this.outbox.has(m.uid)) {
      // Our own message, stored before we saw its ack (the ack was lost with the connection,
      // or catch-up overtook it): this is the acknowledgement.
      this.flushInbound();
      this.acknowledged(m);
      if (m.id !== null) this.store.setLastSeen(this.username, m.id);
      return;
    }
    this.inbound.push({ m, missed: this.phase === 'syncing' });
    if (this.inbound.length >= this.o.storeBatch) this.flushInbound();
  }

  /**
   * Stores the messages received so far in one transaction, the cursor with them, then shows the
   * new ones (a message shown is a message stored). Called per batch, at the end of each read and
   * before any other packet, so order is kept and a backlog of any size is never held whole.
   */
  private flushInbound(): void {
    if (this.inbound.length === 0) return;
    const batch = this.inbound;
    this.inbound = [];
    const fresh = new Set(this.store.addMany(batch.map((b) => b.m), this.username));
    for (const { m, missed } of batch) {
      if (!fresh.has(m)) continue;
      if (missed) this.missed++;
      this.emit('message', m, { missed });
    }
  }

  private onSynced(p: SyncedPacket): void {
    if (this.phase !== 'syncing') return;
    this.phase = 'ready';
    // Catch-up covered everything of ours up to last_id: the cursor may move there.
    this.store.setLastSeen(this.username, p.last_id);
    this.emit('synced', { missed: this.missed });
  }

  private onAck(p: AckPacket): void {
    if (p.uid === null) return;
    const q = this.outbox.get(p.uid);
    if (!q) return;
    const k = q.entry.packet;
    const m: ChatMessage = {
      key: `r:${p.id}`, id: p.id, uid: k.uid, username: this.username, subject: k.subject ?? null, content: k.content,
      room: k.room, to: k.to ?? null, timestamp: p.timestamp,
    };
    if (k.action) m.action = true;
    this.acknowledged(m, p.recipient_seen !== undefined ? { recipientSeen: p.recipient_seen } : {});
  }

  private acknowledged(m: ChatMessage, info: { recipientSeen?: boolean } = {}): void {
    const q = this.outbox.get(m.uid!);
    if (!q) return;
    this.store.acknowledge(m);
    this.outbox.delete(m.uid!);
    if (q.inflight) this.inflight--;
    this.retryStreak = 0;
    this.emit('acked', m.uid!, m, info);
    this.pump();
  }

  private onError(p: ErrorPacket): void {
    const code = p.code;
    const text = sanitizeLine(p.message).slice(0, 500);
    if (this.phase === 'hello') {
      if (LOGIN_REFUSED.has(code)) this.refusedLogin = text;
      else if (code === 'rate_limited' && p.retry_after_ms !== undefined) this.loginRetryMs = Math.min(p.retry_after_ms, 3_600_000);
    }
    const q = p.uid !== undefined ? this.outbox.get(p.uid) : undefined;
    if (q) {
      if (q.inflight) this.inflight--;
      q.inflight = false;
      if (RETRYABLE.has(code)) {
        if (this.retryAt <= this.clock.now()) {
          const wait = Math.min(30_000, this.o.retryMs * 2 ** Math.min(this.retryStreak++, 5));
          this.retryAt = this.clock.now() + wait;
          this.emit('notice', `server: ${text} (${this.outbox.size} queued, retrying in ${Math.ceil(wait / 1000)} s)`);
        }
        this.pump();
        return;
      }
      // Refused for good (too large, bad field, not in the room): keeping it would block nothing
      // but would fail again forever.
      this.store.outboxRemove(q.entry.uid);
      this.outbox.delete(q.entry.uid);
      this.emit('failed', q.entry.uid, `${code}: ${text}`);
      this.emit('notice', `message not sent: ${text}`);
      this.pump();
      return;
    }
    if (REQUEST_ERRORS.has(code) && this.pending.failOldest(new ServerError(code, text))) return;
    this.emit('notice', `server: ${text}`);
  }

  // ---- outbound ---------------------------------------------------------------------------
  private get online(): boolean {
    return this.phase === 'syncing' || this.phase === 'ready';
  }

  /** Sends queued messages, oldest first, keeping at most `window` unacknowledged on the wire. */
  private pump(): void {
    if (!this.online) return;
    const wait = this.retryAt - this.clock.now();
    if (wait > 0) {
      if (this.retryTimer === null) {
        this.retryTimer = this.clock.setTimeout(() => {
          this.retryTimer = null;
          this.pump();
        }, wait);
      }
      return;
    }
    for (const q of this.outbox.values()) {
      if (this.inflight >= this.o.window) break;
      if (q.inflight) continue;
      q.inflight = true;
      this.inflight++;
      this.write(q.entry.packet);
    }
  }

  send(m: OutgoingMessage): string {
    if (m.content.length === 0) throw new Error('a message needs some text');
    const uid = randomUUID();
    const packet: OutboxEntry['packet'] = { type: 'message', uid, content: m.content, subject: m.subject ?? null, room: m.room, to: m.to ?? null };
    if (m.action) packet.action = true;
    const entry: OutboxEntry = { uid, packet, created: this.clock.now() / 1000 };
    this.store.outboxAdd(this.username, entry);
    this.outbox.set(uid, { entry, inflight: false });
    this.pump();
    return uid;
  }

  pendingCount(): number {
    return this.outbox.size;
  }

  queued(): QueuedMessage[] {
    return [...this.outbox.values()].map(({ entry, inflight }) => ({
      uid: entry.uid, content: entry.packet.content, subject: entry.packet.subject, room: entry.packet.room,
      to: entry.packet.to, action: entry.packet.action === true, created: entry.created, sending: inflight,
    }));
  }

  dropQueued(uid: string): 'dropped' | 'sending' | 'gone' {
    const q = this.outbox.get(uid);
    if (!q) return 'gone';
    if (q.inflight) return 'sending';
    this.outbox.delete(uid);
    this.store.outboxRemove(uid);
    return 'dropped';
  }

  /**
   * /nick: goes on as `username`, reconnecting at once. Refused while messages are queued: they
   * were typed as the old name, and sent again under a new one a uid no longer protects them
   * from being stored twice.
   */
  rename(username: string): void {
    if (username === this._username) return;
    if (this.outbox.size > 0) throw new Error(`${this.outbox.size} message(s) still wait to be sent as ${this._username}`);
    this._username = username;
    // The password or token of the old name must not be offered for the new one: the new name's
    // saved token if there is one, else a guest's hello (a registered name without a saved token
    // is refused with auth_required, which the UI shows).
    this.credentials = this.credentials?.forUser(username);
    this.refusedLogin = null;
    this.loadStoredOutbox();
    this.attempt = 0;
    if (this.socket) {
      this.renaming = true;
      this.socket.destroy();
    } else if (this.reconnectTimer !== null) {
      this.clock.clearTimeout(this.reconnectTimer);
      this.connect();
    }
  }

  private request<A extends Answer>(packet: Record<string, unknown> & { type: string }, answer: A['type'], room = typeof packet.room === 'string' ? packet.room : ''): Promise<A> {
    if (!this.online) return Promise.reject(new OfflineError('offline'));
    const answered = this.pending.wait<A>(answer, room, () => new OfflineError(`no answer to ${packet.type} from the server`));
    this.write(packet);
    return answered;
  }

  async listRooms(): Promise<{ rooms: RoomInfo[]; more: number }> {
    if (!this.online) throw new OfflineError('offline: the server is needed to list its rooms');
    const p = await this.request<RoomsPacket>({ type: 'rooms' }, 'rooms');
    return { rooms: p.rooms, more: p.more ?? 0 };
  }

  async join(room: string): Promise<void> {
    if (this.rooms.has(room)) return;
    this.rooms.add(room);
    try {
      await this.request({ type: 'join', room }, 'joined');
    } catch (err) {
      // Offline: the room is remembered and joined by the next hello.
      if (err instanceof OfflineError) return;
      this.rooms.delete(room);
      throw err;
    }
  }

  async leave(room: string): Promise<void> {
    if (!this.rooms.delete(room)) return;
    try {
      await this.request({ type: 'leave', room }, 'left');
    } catch (err) {
      if (err instanceof OfflineError || (err instanceof ServerError && err.code === 'not_in_room')) return;
      throw err;
    }
  }

  async who(room: string): Promise<string[]> {
    if (!this.online) throw new OfflineError('offline: the server is needed to know who is there');
    const p = await this.request<WhoPacket>({ type: 'who', room }, 'who');
    return p.users;
  }

  /** From the server when online (and kept locally), else from the local history. */
  async history(room: string, limit: number): Promise<ChatMessage[]> {
    if (this.online) {
      try {
        const p = await this.request<HistoryPacket>({ type: 'history', room, limit }, 'history');
        const ms = p.messages.map((m) => packetToChat(m, this.accountsInUse));
        this.store.addMany(ms);
        return ms;
      } catch (err) {
        if (!(err instanceof OfflineError)) throw err;
      }
    }
    return this.store.recentRoom(room, limit);
  }

  recent(limit: number): ChatMessage[] {
    return this.store.recent(limit);
  }

  /**
   * Stops reading from the server: whoever prints our messages is behind (a slow pipe). The rest
   * waits in TCP; the server either waits too or cuts us for reading too slowly, and then the
   * next catch-up brings what we did not read. resumeInbound() goes on.
   */
  pauseInbound(): void {
    this.paused = true;
    this.socket?.pause();
  }

  resumeInbound(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastInbound = this.clock.now();
    this.socket?.resume();
  }

  /** Says bye, closes the socket and the store. Queued messages stay in the outbox for next time. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of [this.reconnectTimer, this.connectTimer, this.keepaliveTimer, this.retryTimer]) if (t !== null) this.clock.clearTimeout(t);
    this.reconnectTimer = null;
    const s = this.socket;
    if (s && !s.destroyed) {
      if (this.phase !== 'connecting') this.write({ type: 'bye' });
      s.end();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, 1000);
        s.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.socket = null;
    this.phase = 'closed';
    this.notices.dispose();
    this.pending.failAll(new OfflineError('closed'));
    if (this.ownsStore) this.store.close();
  }
}
