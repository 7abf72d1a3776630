/** Starts the real repeater server in-process on an ephemeral port, with a real SQLite file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { LocalBus } from '../../src/bus/local.js';
import { silentLogger, createLogger } from '../../src/log/index.js';
import { createServer, type Lab93Server, type ServerDeps } from '../../src/server/server.js';
import type { ServerOptions } from '../../src/server/config.js';
import { SqliteStore } from '../../src/store/sqlite.js';

export interface TestServer {
  server: Lab93Server;
  store: SqliteStore;
  port: number;
  dir: string;
  dbPath: string;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'lab93-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startServer(options: Partial<ServerOptions> = {}, extra: Partial<ServerDeps> = {}, dir = tempDir()): Promise<TestServer> {
  const dbPath = join(dir, 'server.db');
  const store = new SqliteStore(dbPath);
  const bus = new LocalBus();
  const log = process.env.LAB93_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger();
  const server = createServer({ store, bus, log, options: { ratePerSecond: 0, ...options }, ...extra });
  const addr: AddressInfo = await server.listen(0, '127.0.0.1');
  let stopped = false;
  return {
    server,
    store,
    port: addr.port,
    dir,
    dbPath,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await store.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
