/**
 * The real repeater server, in-process, for the client's tests: SQLite on a temp file, port 0 the
 * first time, and restartable on the same port and database (to test reconnects and the outbox).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';
import { LocalBus } from '../../src/bus/local.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { silentLogger } from '../../src/log/index.js';
import { createServer, type Lab93Server } from '../../src/server/server.js';
import type { ServerOptions } from '../../src/server/config.js';
import { SqliteStore } from '../../src/store/sqlite.js';

export interface ClientTestServer {
  server: Lab93Server;
  store: SqliteStore;
  port: number;
  dbPath: string;
  stop(): Promise<void>;
}

export function clientTempDir(prefix = 'lab93-client-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Starts the server; pass the port of a stopped one to restart it there. */
export async function startClientTestServer(dbPath: string, port = 0, options: Partial<ServerOptions> = {}): Promise<ClientTestServer> {
  const store = new SqliteStore(dbPath);
  const server = createServer({ store, bus: new LocalBus(), log: silentLogger(), options: { ratePerSecond: 0, ...options } });
  let addr;
  for (let i = 0; ; i++) {
    try {
      addr = await server.listen(port, '127.0.0.1');
      break;
    } catch (err) {
      // Restarting on the same port right after close: the kernel may still hold it briefly.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i > 50) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let stopped = false;
  return {
    server, store, port: addr.port, dbPath,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await store.close();
    },
  };
}

/** Resolves with the arguments of the first `event` that satisfies `pred`; fails after `ms`. */
export function nextEvent<T extends unknown[]>(em: EventEmitter, event: string, pred: (...a: T) => boolean = () => true, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      em.off(event, on);
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    const on = (...a: unknown[]): void => {
      if (!pred(...(a as T))) return;
      clearTimeout(timer);
      em.off(event, on);
      resolve(a as T);
    };
    em.on(event, on);
  });
}

/** Waits until `cond()` holds, checking on each of `events` (no sleeping); fails after `ms`. */
export function until(em: EventEmitter, events: string[], cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      done();
      resolve();
    };
    const done = (): void => {
      clearTimeout(timer);
      for (const e of events) em.off(e, check);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    for (const e of events) em.on(e, check);
    check();
  });
}

/** The other user of the terminal tests: `bob` in lobby and physics, reconnecting fast, synced. */
export async function startBob(port: number, dir: string): Promise<RepeaterConnection> {
  const bob = new RepeaterConnection({ host: '127.0.0.1', port, username: 'bob', dbPath: join(dir, 'bob.db'), rooms: ['lobby', 'physics'], backoffInitialMs: 50, backoffMaxMs: 300 });
  const synced = nextEvent(bob, 'synced');
  await bob.start();
  await synced;
  return bob;
}

/** Sends a message and waits until the server has stored it. */
export async function sayAcked(c: RepeaterConnection, content: string, extra: { subject?: string; room?: string; to?: string } = {}): Promise<void> {
  const acked = nextEvent(c, 'acked');
  c.send({ content, room: extra.room ?? 'lobby', subject: extra.subject ?? null, to: extra.to ?? null });
  await acked;
}
