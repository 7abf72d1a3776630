/** `lab93 server` / `lab93 -r -s`: runs the repeater server until SIGINT or SIGTERM. */
import type { Level } from 'pino';
import { createBus } from '../bus/index.js';
import { createLogger } from '../log/index.js';
import type { Limits } from '../protocol/limits.js';
import { createServer, type ClassicGateway } from '../server/server.js';
import type { ServerOptions } from '../server/config.js';
import { createStore } from '../store/index.js';
import { announceRepeater } from '../peer/discovery.js';
import type { Synchronous } from '../store/types.js';

export interface RunServerOptions {
  host: string;
  port: number;
  db: string;
  synchronous: Synchronous;
  logLevel: Level;
  server: Partial<Omit<ServerOptions, 'limits'>> & { limits?: Partial<Limits> };
  /** Builds the classic board gateway when enabled (it shares the store and bus). */
  classic?: (deps: ClassicDeps) => Promise<ClassicGateway>;
  /** Announce the server on the LAN with mDNS (TXT mode=repeater); default true. */
  announce?: boolean;
}

export interface ClassicDeps {
  store: import('../store/types.js').MessageStore;
  bus: import('../bus/types.js').MessageBus;
  committer: import('../store/group-commit.js').GroupCommit;
  log: import('pino').Logger;
}

export async function runServer(o: RunServerOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel });
  const store = await createStore({ driver: 'sqlite', path: o.db, synchronous: o.synchronous });
  const bus = await createBus({ driver: 'local' });
  // The gateway is created after the server so it can share the server's group commit.
  let classic: ClassicGateway | undefined;
  const lazyClassic: ClassicGateway | undefined = o.classic
    ? { accept: (s, first) => classic!.accept(s, first), close: async () => classic?.close() }
    : undefined;
  const server = createServer({ store, bus, log, options: o.server as Partial<ServerOptions>, ...(lazyClassic ? { classic: lazyClassic } : {}) });
  if (o.classic) classic = await o.classic({ store, bus, committer: server.committer, log: log.child({ component: 'classic' }) });
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
  log.info({ db: o.db, synchronous: o.synchronous }, 'store open');
  // Found by `lab93 -r -c` without an address and by peers' /scan (docs/broadcast.md).
  const announcer = o.announce === false ? null : await startAnnouncing(listening.port, o.host, log);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await announcer?.stop();
    await server.close();
    await bus.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function startAnnouncing(port: number, host: string, log: import('pino').Logger): Promise<{ stop(): Promise<void> } | null> {
  try {
    // Bound to one address: announce only on the interface that has it.
    const only = host === '0.0.0.0' || host === '::' ? undefined : [host === 'localhost' ? '127.0.0.1' : host];
    const a = await announceRepeater({ port, log: log.child({ component: 'mdns' }), ...(only ? { interfaces: only } : {}) });
    log.info({ instance: a.instance, port }, 'announced on the LAN (mDNS, _lab93._tcp)');
    return a;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot announce on the LAN; clients must give the address');
    return null;
  }
}
