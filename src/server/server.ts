/**
 * The repeater server: accepts sockets, tells the protocols apart by their first bytes, runs a
 * Session per Lab-93 connection, and fans stored messages out from the bus to the sessions.
 * Built by createServer() from injected store, bus, logger and clock: no module-level state.
 */
import net, { type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AuthGate } from '../auth/gate.js';
import { MemoryAccountStore } from '../auth/memory.js';
import type { BusEvent, MessageBus } from '../bus/types.js';
import { FrameConn, type FrameConnEvents, type MessageConn } from '../net/frame-conn.js';
import { createTlsAcceptor, type TlsServerOptions } from '../net/tls.js';
import { ProtocolError } from '../protocol/errors.js';
import { EncodedPacket, encodeFrame } from '../protocol/frame.js';
import { sniff } from '../protocol/sniff.js';
import { GroupCommit } from '../store/group-commit.js';
import type { MessageStore, StoredMessage } from '../store/types.js';
import { serverOptions, type ServerOptions } from './config.js';
import { ConnectionBudget, addressOf, connectionCaps, lowFdWarning, probeFds, readFdLimit, type ConnectionCaps, type Refusal } from './connection-budget.js';
import type { ServerContext, TraceSink } from './context.js';
import { CursorBook } from './cursors.js';
import { Hub } from './hub.js';
import { LogThrottle } from './log-throttle.js';
import { Session } from './session.js';
import { toPacket } from './wire.js';

const EMPTY = Buffer.alloc(0);

/** Takes over sockets whose first bytes are not Lab-93 (the classic "%" board). */
export interface ClassicGateway {
  accept(socket: Socket, first: Buffer): void;
  close(): Promise<void>;
}

export interface ServerDeps {
  store: MessageStore;
  bus: MessageBus;
  log: Logger;
  options?: Partial<ServerOptions>;
  now?: () => number;
  classic?: ClassicGateway;
  /** Frame tracing (`--trace`); absent means off. */
  trace?: TraceSink;
  /** The open-file limit (tests inject one); read from /proc/self/limits when absent. */
  fdLimit?: number | null;
  /** Whether one more descriptor can be opened (tests inject a full table). */
  fdProbe?: () => 'ok' | 'EMFILE' | 'ENFILE';
  /** TLS on the same port (src/net/tls.ts); plaintext is still served unless `only`. */
  tls?: TlsServerOptions;
  /**
   * Accounts and name rules (src/auth/gate.ts). Default: no accounts (an in-memory store), so
   * everyone is a guest and only the name rules apply. The server closes the gate, not its store.
   */
  auth?: AuthGate<Session>;
  /**
   * Whether a direct message to a name may be stored (a broadcast peer seals DMs and refuses
   * one it has no key for): a reason to refuse it with `no_key`, or null. Absent: always.
   */
  directCheck?: (to: string) => string | null;
}

/** What a refused client is told (`server_busy`): the message says what to do about it. */
const BUSY: Record<Refusal, string> = {
  total: 'too many connections: the server holds all it may; try again later',
  address: 'too many connections from your address: close some of them, then try again',
};

/** Refusals and descriptor trouble are logged once per this window, with a count. */
const LOG_WINDOW_MS = 10_000;

export interface Lab93Server {
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Serves one already-connected socket (used by listen, by tests and by other listeners). */
  handleSocket(socket: Socket): void;
  /**
   * Starts a session on a connection another transport made (src/web: a WebSocket), so it
   * reaches the same handlers, limits and catch-up as TCP. `make` receives the events the
   * session answers to; the caller admits the connection against `budget` itself.
   */
  acceptConn(make: (events: FrameConnEvents) => MessageConn, mode: 'base64' | 'plain'): MessageConn | null;
  close(): Promise<void>;
  readonly sessions: ReadonlySet<Session>;
  readonly committer: GroupCommit;
  readonly context: ServerContext;
  /** The connections the process holds against its caps (the classic board's own port admits through it too). */
  readonly budget: ConnectionBudget;
  /** Writes the cursors held in memory to the store now (it happens every cursorFlushMs anyway). */
  flushCursors(): Promise<void>;
  /** Forgets users not seen for userRetentionMs (it happens every pruneIntervalMs anyway); resolves with how many. */
  pruneUsers(): Promise<number>;
}

export function createServer(deps: ServerDeps): Lab93Server {
  const opts = serverOptions(deps.options);
  const log = deps.log;
  const now = deps.now ?? Date.now;
  const hub = new Hub<Session>();
  const sessions = new Set<Session>();
  const committer = new GroupCommit(deps.store);
  const cursors = new CursorBook(deps.store, log, now);
  const caps: ConnectionCaps = connectionCaps(opts, deps.fdLimit === undefined ? readFdLimit() : deps.fdLimit, opts);
  const budget = new ConnectionBudget(caps);
  const throttle = new LogThrottle<Refusal | 'EMFILE' | 'ENFILE' | 'listener'>(LOG_WINDOW_MS, now);
  const fdProbe = deps.fdProbe ?? probeFds;
  const sockets = new Set<Socket>();
  /** Sockets whose protocol is not known yet, with when they connected. */
  const sniffing = new Map<Socket, number>();
  const nodeId = randomUUID();
  // A TLS socket, once its handshake is done, is sniffed again like a plain one (track() watches
  // the raw socket, so the TLS one leaves the sniffing table on its own close).
  const tlsAcceptor = deps.tls
    ? createTlsAcceptor(deps.tls, (s) => {
        s.once('close', () => sniffing.delete(s));
        sniffFirstBytes(s, s.remoteAddress ?? 'unknown');
      }, log)
    : null;
  let listener: net.Server | null = null;
  let closing = false;
  const auth = deps.auth ?? new AuthGate<Session>({ accounts: new MemoryAccountStore(), now, log, maxNameLength: opts.limits.maxNameLength });

  const publishPresence = (room: string, username: string, status: 'online' | 'offline'): void =>
    deps.bus.publish({ kind: 'presence', room, username, status, node: nodeId });

  const ctx: ServerContext = {
    opts,
    store: deps.store,
    bus: deps.bus,
    committer,
    hub,
    log,
    nodeId,
    now,
    auth,
    directCheck: deps.directCheck ?? null,
    trace: deps.trace ?? null,
    markDelivered(username, id) {
      cursors.mark(username, id);
    },
    heldCursor(username) {
      return cursors.held(username);
    },
    enterRoom(s, room) {
      s.rooms.add(room);
      if (hub.join(s, room)) publishPresence(room, s.username!, 'online');
    },
    leaveRoom(s, room) {
      s.rooms.delete(room);
      if (hub.leave(s, room)) publishPresence(room, s.username!, 'offline');
    },
    detach(s) {
      if (s.username === null || s.state === 'closed') return;
      for (const room of [...s.rooms]) ctx.leaveRoom(s, room);
      hub.removeUser(s);
      auth.leave(s);
    },
  };

  // ---- fan-out ----------------------------------------------------------------------------
  function fanOut(m: StoredMessage, origin: string): void {
    const enc = new EncodedPacket(toPacket(m));
    if (m.to !== null) {
      // A DM to an account goes to its logged-in connections only; a copy of one sent from an
      // account, to the sender's logged-in connections only (never to a guest using the name).
      const toAccount = m.toAccount === true;
      for (const s of hub.users.get(m.to) ?? []) if (s.id !== origin && auth.mayReceive(s, toAccount)) s.deliver(enc, m.id);
      const fromAccount = m.verified === true;
      if (m.to !== m.username) for (const s of hub.users.get(m.username) ?? []) if (s.id !== origin && auth.mayReceive(s, fromAccount)) s.deliver(enc, m.id);
      return;
    }
    const room = hub.rooms.get(m.room);
    if (room) for (const s of room) if (s.id !== origin) s.deliver(enc, m.id);
  }

  function presence(ev: Extract<BusEvent, { kind: 'presence' }>): void {
    const room = hub.rooms.get(ev.room);
    if (!room) return;
    const enc = new EncodedPacket({ type: 'presence', room: ev.room, username: ev.username, status: ev.status });
    for (const s of room) if (s.username !== ev.username && s.state === 'ready') s.sendShared(enc);
  }

  const unsubscribe = deps.bus.subscribe((ev) => (ev.kind === 'message' ? fanOut(ev.message, ev.origin) : presence(ev)));

  // Accounts changed elsewhere (`lab93 user …`, another server): end the sessions that lost
  // their right to the name.
  auth.watch(() => {
    for (const s of sessions) {
      if (s.state === 'hello' || s.state === 'closed') continue;
      const why = auth.revoked(s);
      if (why !== null) s.close(why, { error: 'auth_required' });
    }
  });

  // ---- timers -----------------------------------------------------------------------------
  const flushCursors = (): Promise<void> => cursors.flush();
  const cursorTimer = setInterval(() => void flushCursors(), opts.cursorFlushMs);
  cursorTimer.unref();

  /** Forgets users not seen for userRetentionMs; those connected now count as seen. */
  async function pruneUsers(): Promise<number> {
    if (opts.userRetentionMs <= 0) return 0;
    await flushCursors();
    const t = now();
    const pruned = await deps.store.pruneUsers({ before: (t - opts.userRetentionMs) / 1000, now: t / 1000, online: [...hub.users.keys()] });
    if (pruned > 0) log.info({ pruned, days: opts.userRetentionMs / 86_400_000 }, 'forgot users not seen for long');
    return pruned;
  }
  const pruneTimer = setInterval(() => void pruneUsers().catch((err: unknown) => log.error({ err }, 'pruning users failed')), opts.pruneIntervalMs);
  pruneTimer.unref();

  const warning = lowFdWarning(caps, opts.maxConnections);
  if (warning) log.warn({ fdLimit: caps.fdLimit, maxConnections: caps.maxConnections, maxConnectionsPerAddress: caps.maxConnectionsPerAddress }, warning);

  /** libuv drops connections silently while the descriptor table is full; this is where it shows. */
  function checkFds(): void {
    const r = fdProbe();
    if (r === 'ok') return;
    throttle.hit(r, (skipped) => log.error({ code: r, open: sockets.size, fdLimit: caps.fdLimit, skipped }, `out of file descriptors (${r}): new connections are dropped until some close`));
  }

  function sweep(): void {
    const t = now();
    checkFds();
    throttle.flush((key, skipped) => log.warn({ reason: key, count: skipped }, 'more of the same since the last line'));
    for (const [socket, since] of sniffing) {
      if (t - since > opts.helloTimeoutMs) {
        sniffing.delete(socket);
        log.info({ remote: socket.remoteAddress }, 'connection closed: nothing sent');
        socket.destroy();
      }
    }
    for (const s of sessions) {
      if (s.state === 'hello') {
        if (t - s.openedAt > opts.helloTimeoutMs) s.helloTimedOut(opts.helloTimeoutMs);
      } else if (s.state !== 'closed') {
        const silent = t - s.lastSeen;
        if (silent > 2 * opts.idleTimeoutMs) s.idleTimedOut(silent);
        else if (silent > opts.idleTimeoutMs && !s.pinged) {
          s.pinged = true;
          s.sendPing();
        } else if (s.state === 'ready' && s.pingMark === null && s.deliveredId > s.confirmedId && t - s.lastPingAt > opts.receiptPingMs) {
          // Messages went out since the last receipt: ask for one, so the cursor keeps up.
          s.sendPing();
        }
      }
    }
  }
  const sweepTimer = setInterval(sweep, Math.max(20, Math.min(opts.helloTimeoutMs, opts.idleTimeoutMs, opts.receiptPingMs) / 4));
  sweepTimer.unref();

  // ---- accepting --------------------------------------------------------------------------
  /** Starts a Lab-93 session on the socket; the caller feeds it the bytes read while sniffing. */
  function startSession(socket: Socket, mode: 'base64' | 'plain'): FrameConn {
    let conn!: FrameConn;
    openSession((events) => (conn = new FrameConn(socket, { maxFrameBytes: opts.limits.maxFrameBytes, maxSendQueue: opts.maxSendQueue }, events)), mode);
    return conn;
  }

  function openSession(make: (events: FrameConnEvents) => MessageConn, mode: 'base64' | 'plain'): MessageConn {
    let session: Session;
    const conn = make({
      frame: (line) => session.onFrame(line),
      oversize: () => session.fail(new ProtocolError('too_large', `frame over ${opts.limits.maxFrameBytes} bytes: end every frame with \\n, and split long content into several messages`, { fatal: true })),
      overflow: (pending) => {
        session.log.warn({ pending }, 'send queue exceeded; disconnecting slow reader');
        session.abort('send queue full');
      },
      close: () => {
        sessions.delete(session);
        session.onConnClosed();
      },
    });
    session = new Session(ctx, conn, mode);
    sessions.add(session);
    session.log.info({ protocol: conn.transport === 'web' ? 'web' : mode }, 'connection opened');
    return conn;
  }

  function handleSocket(socket: Socket): void {
    const addr = addressOf(socket);
    if (closing) {
      socket.destroy();
      return;
    }
    const refused = budget.admit(addr);
    if (refused) return refuse(socket, addr, refused);
    track(socket, addr);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    sniffFirstBytes(socket, addr);
  }

  /**
   * Says server_busy and lets go of the descriptor as soon as the line is handed to the kernel:
   * a refused connection that lingered would hold the very descriptors the cap protects.
   */
  function refuse(socket: Socket, addr: string, why: Refusal): void {
    throttle.hit(why, (skipped) =>
      log.warn(
        { remote: addr, open: budget.total, fromAddress: budget.from(addr), cap: why === 'total' ? caps.maxConnections : caps.maxConnectionsPerAddress, skipped },
        why === 'total' ? 'connection refused: the server holds all the connections it may' : 'connection refused: too many connections from one address',
      ),
    );
    socket.on('error', () => socket.destroy());
    if (ctx.trace !== null) ctx.trace.refused(addr, 'server_busy', BUSY[why]);
    socket.end(JSON.stringify({ type: 'error', code: 'server_busy', message: BUSY[why] }) + '\n', () => socket.destroy());
  }

  /**
   * Counts the socket until it closes. A function of its own so the close handler's closure
   * holds just these two, not the sniffing state (memory per idle connection).
   */
  function track(socket: Socket, addr: string): void {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      sniffing.delete(socket);
      budget.release(addr);
    });
  }

  /**
   * Reads until the first bytes tell the protocol, then hands the socket over. The deadline is
   * kept by the sweep rather than socket.setTimeout, whose cleared timer Node keeps on the socket
   * for the connection's life.
   */
  function sniffFirstBytes(socket: Socket, addr: string): void {
    let first: Buffer = EMPTY;
    sniffing.set(socket, now());
    const onError = (): void => {};
    const onData = (chunk: Buffer): void => {
      first = first.length === 0 ? chunk : Buffer.concat([first, chunk]);
      const kind = sniff(first);
      if (kind === 'more') return;
      socket.off('data', onData);
      socket.off('error', onError);
      sniffing.delete(socket);
      const bytes = first;
      first = EMPTY;
      const secure = (socket as TLSSocket).encrypted === true;
      if (kind === 'tls') {
        if (tlsAcceptor && !secure) tlsAcceptor.accept(socket, bytes);
        else refuseProtocol(socket, addr, 'bad_frame', tlsAcceptor ? 'a TLS handshake inside TLS' : 'this port does not serve TLS (start the server with --tls-cert and --tls-key)', 'plain');
        return;
      }
      if (deps.tls?.only && !secure) {
        refuseProtocol(socket, addr, 'tls_required', 'this server accepts TLS connections only (lab93 --tls)', kind === 'base64' ? 'base64' : 'plain');
        return;
      }
      if (kind === 'classic') {
        if (deps.classic) deps.classic.accept(socket, bytes);
        else refuseProtocol(socket, addr, 'bad_frame', 'not a Lab-93 frame and the classic board is off: send base64 of JSON, or JSON, ended by \\n (docs/protocol.md, "Framing")', 'plain');
        return;
      }
      startSession(socket, kind).feed(bytes);
    };
    socket.on('data', onData);
    socket.on('error', onError);
  }

  /**
   * After listening, an 'error' on the listener is a failed accept (EMFILE, ENFILE, ENOMEM):
   * Node keeps listening, so it is logged and nothing else; unheard, it would end the process.
   */
  function onListenerError(err: NodeJS.ErrnoException): void {
    const key = err.code === 'EMFILE' || err.code === 'ENFILE' ? err.code : 'listener';
    throttle.hit(key, (skipped) => log.error({ code: err.code, syscall: err.syscall, open: sockets.size, fdLimit: caps.fdLimit, skipped }, `accept failed (${err.code ?? err.message}); still listening`));
  }

  /**
   * Refuses a connection whose protocol this port does not serve here: one error frame, then the
   * client has a second to read it before the socket is dropped. A reset arriving meanwhile must
   * not be an unhandled 'error' (it ended peers).
   */
  function refuseProtocol(socket: Socket, addr: string, code: 'bad_frame' | 'tls_required', message: string, mode: 'base64' | 'plain'): void {
    log.info({ remote: addr, code }, `rejected: ${message}`);
    if (ctx.trace !== null) ctx.trace.refused(addr, code, message);
    socket.on('error', () => {});
    socket.end(encodeFrame({ type: 'error', code, message }, mode));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  return {
    sessions,
    committer,
    context: ctx,
    budget,
    handleSocket,
    acceptConn: (make, mode) => (closing ? null : openSession(make, mode)),
    flushCursors,
    pruneUsers,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        const srv = net.createServer({ noDelay: true }, handleSocket);
        srv.once('error', reject);
        srv.listen({ port, host, backlog: 4096 }, () => {
          srv.off('error', reject);
          srv.on('error', onListenerError);
          listener = srv;
          const a = srv.address() as AddressInfo;
          log.info({ host: a.address, port: a.port, maxConnections: caps.maxConnections, maxConnectionsPerAddress: caps.maxConnectionsPerAddress, fdLimit: caps.fdLimit }, 'listening');
          resolve(a);
        });
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      const stopped = listener ? new Promise<void>((r) => listener!.close(() => r())) : Promise.resolve();
      for (const s of sessions) s.conn.stopReading();
      await committer.drain();
      for (const s of sessions) s.close('server shutting down', { bye: 'server shutting down' });
      await flushCursors();
      if (deps.classic) await deps.classic.close();
      const deadline = Date.now() + 2000;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const s of sockets) s.destroy();
      clearInterval(cursorTimer);
      clearInterval(sweepTimer);
      clearInterval(pruneTimer);
      auth.close();
      unsubscribe();
      await stopped;
      log.info('server stopped');
    },
  };
}
