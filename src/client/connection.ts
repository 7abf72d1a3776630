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
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { clientDbPath } from '../config/paths.js';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import { DEFAULT_ROOM } from '../protocol/limits.js';
import type { MessagePacket } from '../protocol/packets.js';
import type { BackendState, ChatBackend, ChatMessage, OutgoingMessage } from './backend.js';
import { backoffDelay, systemClock, type Clock, type TimerHandle } from './clock.js';
import type { HelloCredentials } from './credentials.js';
import { LocalStore, type OutboxEntry } from './local-store.js';
import { sanitizeLine } from './sanitize.js';

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

interface PendingRequest {
  type: string;
  room: string;
  resolve(p: Record<string, unknown>): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

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
  return {
    key: `r:${p.id}`, id: p.id, uid: p.uid ?? null, username: p.username, subject: p.subject ?? null,
    content: p.content, room: p.room ?? DEFAULT_ROOM, to: p.to ?? null, timestamp: p.timestamp,
    ...(accounts && p.verified !== true ? { guest: true } : {}),
  };
}

function isMessagePacket(p: Record<string, unknown>): p is MessagePacket & Record<string, unknown> {
  return typeof p.id === 'number' && typeof p.username === 'string' && typeof p.content === 'string' && typeof p.timestamp === 'number';
}

/** A lab93 repeater server as a ChatBackend. Events are those of ChatBackend. */
export class RepeaterConnection extends EventEmitter implements ChatBackend {
  readonly kind = 'repeater' as const;
  readonly username: string;
  private readonly quiet: boolean;
  readonly host: string;
  readonly port: number;
  readonly store: LocalStore;
  private readonly ownsStore: boolean;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly o: Required<Pick<RepeaterOptions, 'backoffInitialMs' | 'backoffMaxMs' | 'keepaliveMs' | 'deadAfterMs' | 'connectTimeoutMs' | 'requestTimeoutMs' | 'retryMs' | 'window' | 'maxFrameBytes'>>;

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
  private pending: PendingRequest[] = [];
  private sentSince: number | null = null;
  private missed = 0;
  private closing = false;
  private lastError = '';
  private readonly credentials: HelloCredentials | undefined;
  /** Why the server refused our hello for good (the same hello would be refused again). */
  private refusedLogin: string | null = null;
  /** After `rate_limited` at hello: wait this long before the next attempt. */
  private loginRetryMs = 0;
  /** We logged into an account, or saw a message from one: guests are worth marking. */
  private accountsInUse = false;

  constructor(opts: RepeaterOptions) {
    super();
    this.username = opts.username;
    this.quiet = opts.quiet === true;
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
      maxFrameBytes: opts.maxFrameBytes ?? 64 * 1024 * 1024,
    };
    this.credentials = opts.credentials;
    this.ownsStore = opts.store === undefined;
    this.store = opts.store ?? new LocalStore(opts.dbPath ?? clientDbPath(opts.host, opts.port));
    if (opts.sendStoredOutbox !== false) {
      for (const entry of this.store.outbox(this.username)) this.outbox.set(entry.uid, { entry, inflight: false });
    }
  }

  get state(): BackendState {
    return this._state;
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
    if (this.closing) return;
    this.reconnectTimer = null;
    this.phase = 'connecting';
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const splitter = new LineSplitter(this.o.maxFrameBytes);
    this.connectTimer = this.clock.setTimeout(() => {
      this.lastError = 'no answer from the server';
      socket.destroy();
    }, this.o.connectTimeoutMs);
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      this.phase = 'hello';
      this.lastInbound = this.clock.now();
      const last = this.store.lastSeen(this.username);
      this.sentSince = last;
      this.write({ type: 'hello', username: this.username, since: last, rooms: [...this.rooms], client: 'lab93-terminal/1', ...(this.quiet ? { quiet: true } : {}), ...this.credentials?.fields() });
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.lastInbound = this.clock.now();
      this.pingSent = false;
      const r = splitter.push(chunk);
      for (const line of r.lines) {
        if (this.socket !== socket) return;
        this.onFrame(line);
      }
      if (!r.ok) {
        this.lastError = 'the server sent a frame over the size limit';
        socket.destroy();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = err.code ?? err.message;
    });
    socket.on('close', () => {
      if (this.socket === socket) this.onClosed();
    });
  }

  private onClosed(): void {
    this.socket = null;
    const wasOnline = this.phase === 'syncing' || this.phase === 'ready';
    this.phase = this.closing ? 'closed' : 'idle';
    for (const t of [this.connectTimer, this.keepaliveTimer, this.retryTimer]) if (t !== null) this.clock.clearTimeout(t);
    this.connectTimer = this.keepaliveTimer = this.retryTimer = null;
    for (const q of this.outbox.values()) q.inflight = false;
    this.inflight = 0;
    this.failPending(new OfflineError('the connection to the server was lost'));
    if (this.closing) return;
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
    const delay = wait > 0 ? wait : backoffDelay(this.attempt++, this.o.backoffInitialMs, this.o.backoffMaxMs, this.random);
    this.reconnectTimer = this.clock.setTimeout(() => this.connect(), delay);
  }

  private failPending(err: Error): void {
    const p = this.pending;
    this.pending = [];
    for (const r of p) {
      this.clock.clearTimeout(r.timer);
      r.reject(err);
    }
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
    if (!d.ok) {
      this.emit('notice', `ignored an unreadable frame from the server (${d.message})`);
      return;
    }
    const p = d.value;
    switch (p.type) {
      case 'welcome':
        return this.onWelcome(p);
      case 'message':
        if (p.verified === true) this.accountsInUse = true;
        if (isMessagePacket(p)) this.onMessage(packetToChat(p, this.accountsInUse));
        return;
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
        if (typeof p.room === 'string' && typeof p.username === 'string' && (p.status === 'online' || p.status === 'offline')) {
          this.emit('presence', { room: p.room, username: p.username, status: p.status });
        }
        return;
      case 'bye':
        this.lastError = typeof p.reason === 'string' ? `server said goodbye: ${sanitizeLine(p.reason)}` : 'server said goodbye';
        return;
      case 'joined':
      case 'left':
      case 'who':
      case 'history':
        return this.answer(p.type, p);
      default:
        return;
    }
  }

  private onWelcome(p: Record<string, unknown>): void {
    if (this.phase !== 'hello') return;
    if (this.connectTimer !== null) this.clock.clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const lastId = typeof p.last_id === 'number' ? p.last_id : 0;
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
    const syncing = this.phase === 'syncing';
    if (m.username === this.username && m.uid !== null && this.outbox.has(m.uid)) {
      // Our own message, stored before we saw its ack (the ack was lost with the connection,
      // or catch-up overtook it): this is the acknowledgement.
      this.acknowledged(m);
    } else if (this.store.add(m)) {
      if (syncing) this.missed++;
      this.emit('message', m, { missed: syncing });
    }
    if (m.id !== null) this.store.setLastSeen(this.username, m.id);
  }

  private onSynced(p: Record<string, unknown>): void {
    if (this.phase !== 'syncing') return;
    this.phase = 'ready';
    // Catch-up covered everything of ours up to last_id: the cursor may move there.
    if (typeof p.last_id === 'number') this.store.setLastSeen(this.username, p.last_id);
    this.emit('synced', { missed: this.missed });
  }

  private onAck(p: Record<string, unknown>): void {
    if (typeof p.uid !== 'string' || typeof p.id !== 'number') return;
    const q = this.outbox.get(p.uid);
    if (!q) return;
    const k = q.entry.packet;
    this.acknowledged({
      key: `r:${p.id}`, id: p.id, uid: k.uid, username: this.username, subject: k.subject ?? null, content: k.content,
      room: k.room, to: k.to ?? null, timestamp: typeof p.timestamp === 'number' ? p.timestamp : this.clock.now() / 1000,
    });
  }

  private acknowledged(m: ChatMessage): void {
    const q = this.outbox.get(m.uid!);
    if (!q) return;
    this.store.acknowledge(m);
    this.outbox.delete(m.uid!);
    if (q.inflight) this.inflight--;
    this.retryStreak = 0;
    this.emit('acked', m.uid!, m);
    this.pump();
  }

  private onError(p: Record<string, unknown>): void {
    const code = typeof p.code === 'string' ? p.code : 'error';
    const text = sanitizeLine(typeof p.message === 'string' ? p.message : code);
    if (this.phase === 'hello') {
      if (LOGIN_REFUSED.has(code)) this.refusedLogin = text;
      else if (code === 'rate_limited' && typeof p.retry_after_ms === 'number') this.loginRetryMs = Math.min(Math.max(p.retry_after_ms, 0), 3_600_000);
    }
    const q = typeof p.uid === 'string' ? this.outbox.get(p.uid) : undefined;
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
    if (REQUEST_ERRORS.has(code) && this.pending.length > 0) {
      const r = this.pending.shift()!;
      this.clock.clearTimeout(r.timer);
      r.reject(new ServerError(code, text));
      return;
    }
    this.emit('notice', `server: ${text}`);
  }

  private answer(type: string, p: Record<string, unknown>): void {
    const i = this.pending.findIndex((r) => r.type === type && (typeof p.room !== 'string' || r.room === p.room));
    if (i === -1) return;
    const [r] = this.pending.splice(i, 1);
    this.clock.clearTimeout(r!.timer);
    r!.resolve(p);
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
    const entry: OutboxEntry = { uid, packet, created: this.clock.now() / 1000 };
    this.store.outboxAdd(this.username, entry);
    this.outbox.set(uid, { entry, inflight: false });
    this.pump();
    return uid;
  }

  pendingCount(): number {
    return this.outbox.size;
  }

  private request(packet: Record<string, unknown> & { type: string; room: string }, answer: string): Promise<Record<string, unknown>> {
    if (!this.online) return Promise.reject(new OfflineError('offline'));
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending = this.pending.filter((r) => r.timer !== timer);
        reject(new OfflineError(`no answer to ${packet.type} from the server`));
      }, this.o.requestTimeoutMs);
      this.pending.push({ type: answer, room: packet.room, resolve, reject, timer });
      this.write(packet);
    });
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
    const p = await this.request({ type: 'who', room }, 'who');
    return Array.isArray(p.users) ? p.users.filter((u): u is string => typeof u === 'string') : [];
  }

  /** From the server when online (and kept locally), else from the local history. */
  async history(room: string, limit: number): Promise<ChatMessage[]> {
    if (this.online) {
      try {
        const p = await this.request({ type: 'history', room, limit }, 'history');
        const ms = (Array.isArray(p.messages) ? p.messages : []).filter(isMessagePacket).map((m) => packetToChat(m, this.accountsInUse));
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
    this.failPending(new OfflineError('closed'));
    if (this.ownsStore) this.store.close();
  }
}
