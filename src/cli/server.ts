/** `lab93 server` / `lab93 -r -s`: runs the repeater server until SIGINT or SIGTERM. */
import { hostname } from 'node:os';
import { stopOnSignals } from './signals.js';
import type { Level } from 'pino';
import { AuthGate } from '../auth/gate.js';
import type { AuthOptions } from '../auth/config.js';
import { createAccountStore } from '../auth/index.js';
import type { Session } from '../server/session.js';
import { createBus } from '../bus/index.js';
import { createLogger, type LogFormat } from '../log/index.js';
import { DEFAULT_LIMITS, type Limits } from '../protocol/limits.js';
import { certFingerprint, type TlsServerOptions } from '../net/tls.js';
import { createServer, type ClassicGateway } from '../server/server.js';
import type { ServerOptions } from '../server/config.js';
import { createStore } from '../store/index.js';
import { announceRepeater } from '../peer/discovery.js';
import type { Synchronous } from '../store/types.js';
import { UsageError } from './usage.js';
import { claimDatabase } from './owner.js';
import { createWebServer, type WebServer } from '../web/web-server.js';

export interface RunServerOptions {
  /** Frame tracing (`--trace`) of the chat and the board, off when absent. */
  trace?: import('../server/context.js').TraceSink & import('../gateway/trace.js').BoardTraceSink;
  host: string;
  port: number;
  db: string;
  synchronous: Synchronous;
  logLevel: Level;
  logFormat?: LogFormat | 'auto';
  server: Partial<Omit<ServerOptions, 'limits'>> & { limits?: Partial<Limits> };
  /** Accounts and guests (`--guests`, `--registration`, the login throttles). */
  auth?: Partial<AuthOptions>;
  /** Builds the classic board gateway when enabled (it shares the store and bus). */
  classic?: (deps: ClassicDeps) => Promise<ClassicGateway & { readonly ports?: readonly number[] }>;
  /** Announce the server on the LAN with mDNS (TXT mode=repeater); default true. */
  announce?: boolean;
  /** Cluster: a postgres:// URL for the shared store (replaces `db`). */
  store?: string;
  /** Cluster: a nats:// URL for the bus between servers (needs `store`). */
  bus?: string;
  /** TLS on the chat port (--tls-cert, --tls-key, --tls-only). */
  tls?: TlsServerOptions;
  /** The web client (--web PORT, --web-origin); null with --no-web. */
  web?: { port: number; origins: string[]; explicit?: boolean } | null;
}

/**
 * Checks --store/--bus (LAB93_STORE/LAB93_BUS). NATS without a shared store makes no sense:
 * each server would number messages on its own, so ids, `since` and catch-up would disagree.
 */
export function parseClusterFlags(store: string | undefined, bus: string | undefined): { store?: string; bus?: string } {
  if (store !== undefined && !/^postgres(ql)?:\/\//.test(store)) throw new UsageError(`--store takes a postgres:// URL, not "${store}" (SQLite is the default; --db chooses its file)`);
  if (bus !== undefined && !/^nats:\/\//.test(bus)) throw new UsageError(`--bus takes a nats://host:port URL, not "${bus}"`);
  if (bus !== undefined && store === undefined) throw new UsageError('--bus nats://… needs --store postgres://…: the servers of a cluster share one store');
  return { ...(store !== undefined ? { store } : {}), ...(bus !== undefined ? { bus } : {}) };
}

/** The URL without its password, for logs and errors. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Opens the store and bus the flags ask for; a cluster service that does not answer ends the process. */
async function openBackends(o: RunServerOptions, log: import('pino').Logger): Promise<{ store: import('../store/types.js').MessageStore; bus: import('../bus/types.js').MessageBus }> {
  const fail = (what: string, url: string, err: unknown): never => {
    const e = err as NodeJS.ErrnoException;
    const why = e.code ?? e.message;
    log.fatal({ err: { code: e.code, message: e.message } }, `cannot open the ${what} at ${redact(url)}`);
    process.stderr.write(`lab93: cannot open the ${what} at ${redact(url)}: ${why}\n`);
    process.exit(1);
  };
  let store;
  if (o.store === undefined) store = await createStore({ driver: 'sqlite', path: o.db, synchronous: o.synchronous });
  else {
    try {
      store = await createStore({ driver: 'postgres', path: o.store, log: log.child({ component: 'postgres' }) });
    } catch (err) {
      return fail('store', o.store, err);
    }
  }
  if (o.bus === undefined) return { store, bus: await createBus({ driver: 'local' }) };
  try {
    const bus = await createBus({ driver: 'nats', url: o.bus, log: log.child({ component: 'nats' }), ...(store.range ? { source: { lastId: () => store.lastId(), range: store.range.bind(store) } } : {}) });
    return { store, bus };
  } catch (err) {
    await store.close();
    return fail('bus', o.bus, err);
  }
}

export interface ClassicDeps {
  store: import('../store/types.js').MessageStore;
  bus: import('../bus/types.js').MessageBus;
  committer: import('../store/group-commit.js').GroupCommit;
  /** The server's connection budget: the board's own port draws on the same descriptors. */
  budget: import('../server/connection-budget.js').ConnectionBudget;
  log: import('pino').Logger;
  /** The board's frame tracing (`--trace`), absent when off. */
  trace?: import('../gateway/trace.js').BoardTraceSink;
}

export async function runServer(o: RunServerOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, format: o.logFormat });
  if (o.store === undefined) claimDatabase(o.db, log, 'server');
  const { store, bus } = await openBackends(o, log);
  // Accounts sit beside the messages: the same SQLite file, or the cluster's PostgreSQL schema.
  const accounts = await createAccountStore(o.store === undefined ? { driver: 'sqlite', path: o.db } : { driver: 'postgres', path: o.store }).catch((err: Error) => {
    log.fatal({ err: { message: err.message } }, 'cannot open the accounts');
    process.stderr.write(`lab93: cannot open the accounts in ${o.store === undefined ? o.db : redact(o.store)}: ${err.message}\n`);
    process.exit(1);
  });
  const auth = new AuthGate<Session>({ accounts, log: log.child({ component: 'auth' }), options: o.auth ?? {}, maxNameLength: o.server.limits?.maxNameLength ?? DEFAULT_LIMITS.maxNameLength });
  // The gateway is created after the server so it can share the server's group commit.
  let classic: (ClassicGateway & { readonly ports?: readonly number[] }) | undefined;
  const lazyClassic: ClassicGateway | undefined = o.classic
    ? { accept: (s, first) => classic!.accept(s, first), close: async () => classic?.close() }
    : undefined;
  const server = createServer({ store, bus, log, auth, options: o.server as Partial<ServerOptions>, ...(lazyClassic ? { classic: lazyClassic } : {}), ...(o.tls ? { tls: o.tls } : {}), ...(o.trace ? { trace: o.trace } : {}) });
  if (o.classic) classic = await o.classic({ store, bus, committer: server.committer, budget: server.budget, log: log.child({ component: 'classic' }), ...(o.trace ? { trace: o.trace } : {}) });
  let listening: { port: number };
  try {
    listening = await server.listen(o.port, o.host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    log.fatal({ err: { code: e.code, message: e.message } }, `cannot listen on ${o.host}:${o.port}`);
    process.stderr.write(`lab93: cannot listen on ${o.host}:${o.port}: ${e.code ?? e.message}\n`);
    await store.close();
    process.exit(1);
  }
  let web: WebServer | null = null;
  if (o.web) {
    web = createWebServer({ server, log: log.child({ component: 'web' }), options: { origins: o.web.origins }, hasAccounts: async () => (await accounts.list()).length > 0, ...(o.tls ? { tls: { cert: o.tls.cert, key: o.tls.key } } : {}) });
    try {
      await web.listen(o.web.port, o.host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (!o.web.explicit) {
        // The default port taken (a second server on the machine) must not stop the chat itself.
        log.warn({ err: { code: e.code, message: e.message } }, `web client not served: cannot listen on ${o.host}:${o.web.port} (choose one with --web PORT)`);
        web = null;
      } else {
        log.fatal({ err: { code: e.code, message: e.message } }, `cannot listen for the web client on ${o.host}:${o.web.port} (--web PORT, or --no-web)`);
        process.stderr.write(`lab93: cannot listen for the web client on ${o.host}:${o.web.port}: ${e.code ?? e.message} (--web PORT, or --no-web)\n`);
        await server.close();
        await store.close();
        process.exit(1);
      }
    }
  }
  if (o.store === undefined) log.info({ db: o.db, synchronous: o.synchronous }, 'store open');
  else log.info({ store: redact(o.store), bus: o.bus ? redact(o.bus) : 'in-process' }, 'cluster store open');
  // The fingerprint users compare with what their client pins on first use (docs/operations.md).
  const fingerprint = o.tls ? certFingerprint(o.tls.cert) : undefined;
  if (o.tls) log.info({ fingerprint, tlsOnly: o.tls.only }, o.tls.only ? 'TLS only on the chat port' : 'TLS on the chat port, plaintext too');
  // Found by `lab93 -r -c` without an address and by peers' /scan (docs/broadcast.md).
  const announcer = o.announce === false ? null : await startAnnouncing(listening.port, o.host, log, fingerprint, web ? o.web?.port : undefined);
  stopOnSignals(log, async () => {
    await announcer?.stop();
    await server.close();
    await web?.close();
    await bus.close();
    await accounts.close();
    await store.close();
  });
  // Once Ctrl-C is handled: the start line says it stops.
  log.info({ role: 'server', listen: `${o.host}:${listening.port}`, ...(o.store === undefined ? { db: o.db } : { store: redact(o.store), bus: o.bus ? redact(o.bus) : 'in-process' }), classic: classic !== undefined, classicPorts: classic?.ports ?? [], announce: announcer !== null, ...(web && o.web ? { web: `${o.tls ? 'https' : 'http'}://${o.host === '0.0.0.0' || o.host === '::' ? hostname() : o.host}:${o.web.port}/` } : {}) }, 'ready');
}

async function startAnnouncing(port: number, host: string, log: import('pino').Logger, fingerprint?: string, webPort?: number): Promise<{ stop(): Promise<void> } | null> {
  try {
    // Bound to one address: announce only on the interface that has it.
    const only = host === '0.0.0.0' || host === '::' ? undefined : [host === 'localhost' ? '127.0.0.1' : host];
    const a = await announceRepeater({ port, log: log.child({ component: 'mdns' }), ...(only ? { interfaces: only } : {}), ...(fingerprint ? { fingerprint } : {}), ...(webPort ? { webPort } : {}) });
    log.info({ instance: a.instance, port }, 'announced on the LAN (mDNS, _lab93._tcp)');
    return a;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot announce on the LAN; clients must give the address');
    return null;
  }
}
