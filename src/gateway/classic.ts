/**
 * The classic teaching board on Lab-93's store and bus (docs/classic-board.md). It takes over
 * sockets the chat server sniffed as classic (`accept`), and can listen on a port of its own
 * (`--classic-port`, or `lab93 classic` alone). Limits per address: open connections and
 * requests per second; the board as a whole: stored messages. Its own port admits through the
 * process's connection budget (src/server/connection-budget.ts), shared with the chat server.
 */
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { LocalBus } from '../bus/local.js';
import type { MessageBus } from '../bus/types.js';
import { answer } from '../protocol/classic.js';
import { ConnectionBudget, addressOf, connectionCaps, readFdLimit } from '../server/connection-budget.js';
import { LogThrottle } from '../server/log-throttle.js';
import type { ClassicGateway } from '../server/server.js';
import { TokenBucket } from '../server/rate-limit.js';
import { GroupCommit } from '../store/group-commit.js';
import type { MessageStore } from '../store/types.js';
import { Board } from './board.js';
import { classicOptions, type ClassicOptions } from './config.js';
import { ClassicConnection } from './connection.js';
import type { BoardTraceSink } from './trace.js';

export interface ClassicGatewayDeps {
  store: MessageStore;
  /** The chat server's group commit, so both protocols share one batch; its own by default. */
  committer?: GroupCommit;
  /** The chat server's bus, so chat users see classic posts live; an in-process one by default. */
  bus?: MessageBus;
  log: Logger;
  options?: Partial<ClassicOptions>;
  /** Wall clock for message timestamps and the rate limit (tests drive it). */
  now?: () => number;
  /** The chat server's connection budget when both run in one process; its own otherwise (from the open-file limit). */
  budget?: ConnectionBudget;
  /** Frame tracing for the teaching lab (`--trace`); absent means off. */
  trace?: BoardTraceSink;
}

export interface ClassicBoardServer extends ClassicGateway {
  /** Listens on a port of its own; resolves with the address bound. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  readonly board: Board;
  readonly options: Readonly<ClassicOptions>;
  /** The ports it listens on of its own (not the chat port it shares), for the start line. */
  readonly ports: readonly number[];
  /** Open classic connections. */
  readonly connections: number;
}

/** `::ffff:10.0.0.1` is 10.0.0.1: one address, one set of limits, one name. */
export const peerAddress = addressOf;

interface AddressState {
  connections: number;
  bucket: TokenBucket;
  lastUsed: number;
}

export async function createClassicGateway(deps: ClassicGatewayDeps): Promise<ClassicBoardServer> {
  const opts = classicOptions(deps.options);
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const ownCommitter = deps.committer === undefined;
  const committer = deps.committer ?? new GroupCommit(deps.store);
  const bus = deps.bus ?? new LocalBus();
  const board = await Board.open({ store: deps.store, committer, bus, log, opts, now });
  const addresses = new Map<string, AddressState>();
  const conns = new Set<ClassicConnection>();
  const listeners: net.Server[] = [];
  const ports: number[] = [];
  const budget = deps.budget ?? new ConnectionBudget(connectionCaps(opts, readFdLimit(), opts));
  const throttle = new LogThrottle(10_000, now);
  let closing = false;
  let traceIds = 0;

  // Forget addresses with no connection whose bucket has refilled: they would start afresh anyway.
  const refillMs = opts.ratePerSecond > 0 ? (opts.rateBurst / opts.ratePerSecond) * 1000 : 0;
  const sweep = setInterval(() => {
    const t = now();
    for (const [a, s] of addresses) if (s.connections === 0 && t - s.lastUsed > refillMs) addresses.delete(a);
    throttle.flush((why, skipped) => log.warn({ why, count: skipped }, 'classic connections refused since the last line'));
  }, 10_000);
  sweep.unref();

  /**
   * Answers and lets go of the descriptor once the answer is handed to the kernel: a refused
   * connection left to linger would hold what the cap protects. Logged once per 10 s and reason.
   */
  function refuse(socket: Socket, why: string, address: string): void {
    throttle.hit(why, (skipped) => log.warn({ remote: address, why, skipped }, 'classic connection refused'));
    socket.on('error', () => socket.destroy());
    socket.end(answer('tooManyConnections'), () => socket.destroy());
  }

  /** A connection to the board's own port: counted in the process's budget until it closes. */
  function admit(socket: Socket): void {
    const address = addressOf(socket);
    const refused = closing ? null : budget.admit(address);
    if (refused) return refuse(socket, refused === 'total' ? 'the process holds all the connections it may' : 'too many connections from one address', address);
    if (!closing) socket.once('close', () => budget.release(address));
    accept(socket, Buffer.alloc(0));
  }

  function accept(socket: Socket, first: Buffer): void {
    if (closing) {
      socket.destroy();
      return;
    }
    const address = peerAddress(socket);
    let st = addresses.get(address);
    if (conns.size >= opts.maxConnections) return refuse(socket, 'classic connections at their maximum', address);
    if (st && st.connections >= opts.maxConnectionsPerAddress) return refuse(socket, 'too many classic connections from one address', address);
    if (!st) {
      st = { connections: 0, bucket: new TokenBucket(opts.ratePerSecond, opts.rateBurst, now), lastUsed: now() };
      addresses.set(address, st);
    }
    const state = st;
    state.connections++;
    const conn = new ClassicConnection(socket, {
      board,
      opts,
      log,
      address,
      take: () => {
        state.lastUsed = now();
        return state.bucket.take();
      },
      onClose: () => {
        conns.delete(conn);
        state.connections--;
        state.lastUsed = now();
      },
      ...(deps.trace ? { id: `b${++traceIds}`, trace: deps.trace } : {}),
    }, first);
    if (!conn.isClosed) conns.add(conn);
  }

  return {
    board,
    options: opts,
    ports,
    get connections() {
      return conns.size;
    },
    accept,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        // allowHalfOpen: a client may half-close after its request and still read the answer.
        const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, admit);
        srv.once('error', reject);
        srv.listen({ port, host, backlog: 1024 }, () => {
          srv.off('error', reject);
          // A failed accept (EMFILE) after this is logged; Node keeps listening.
          srv.on('error', (err: NodeJS.ErrnoException) => throttle.hit('accept failed', (skipped) => log.error({ code: err.code, skipped }, 'classic board: accept failed; still listening')));
          listeners.push(srv);
          const a = srv.address() as AddressInfo;
          ports.push(a.port);
          log.info({ host: a.address, port: a.port }, 'classic board listening');
          resolve(a);
        });
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      const stopped = Promise.all(listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
      for (const c of conns) c.shutdown();
      // Answers in hand get up to two seconds to leave; then the sockets are dropped.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...conns].map((c) => c.done)),
        new Promise((r) => (grace = setTimeout(r, 2000))),
      ]);
      clearTimeout(grace);
      for (const c of conns) c.destroy();
      clearInterval(sweep);
      if (ownCommitter) await committer.drain();
      board.close();
      await stopped;
    },
  };
}
