/**
 * For the accounts tests: the real server on port 0 with the classic board on its port, the
 * accounts in its SQLite file (as `lab93 server` wires them), and the gate's clock in the test's
 * hands so throttles run out without sleeping.
 */
import { join } from 'node:path';
import { AuthGate } from '../../src/auth/gate.js';
import type { AuthOptions } from '../../src/auth/config.js';
import { nameKeys } from '../../src/auth/names.js';
import { hashPassword } from '../../src/auth/password.js';
import { SqliteAccountStore } from '../../src/auth/sqlite.js';
import { LocalBus } from '../../src/bus/local.js';
import { createClassicGateway, type ClassicBoardServer } from '../../src/gateway/classic.js';
import { createLogger, silentLogger } from '../../src/log/index.js';
import { createServer, type ClassicGateway, type Lab93Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { removeDir, tempDir } from '../helpers/server.js';

/** A low scrypt cost: these tests are about the protocol, not the KDF (see auth-password.test.ts). */
export const FAST_SCRYPT = { ln: 4, r: 8, p: 1 };

export interface AuthServer {
  server: Lab93Server;
  store: SqliteStore;
  accounts: SqliteAccountStore;
  gate: AuthGate<Session>;
  gateway: ClassicBoardServer;
  port: number;
  dbPath: string;
  /** The gate's clock (ms): move it to let a throttle window pass. */
  clock: { t: number };
  /** Registers an account as `lab93 user add` does, and lets the server see it at once. */
  addUser(name: string, password: string, operator?: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function startAuthServer(options: Partial<AuthOptions> = {}): Promise<AuthServer> {
  const dir = tempDir('lab93-auth-');
  const dbPath = join(dir, 'server.db');
  const store = new SqliteStore(dbPath);
  const accounts = new SqliteAccountStore(dbPath);
  const bus = new LocalBus();
  const log = process.env.LAB93_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger();
  const clock = { t: 1_800_000_000_000 };
  const gate = new AuthGate<Session>({ accounts, log, now: () => clock.t, options: { scrypt: FAST_SCRYPT, ...options } });
  let gateway: ClassicBoardServer | undefined;
  const lazy: ClassicGateway = { accept: (s, first) => gateway!.accept(s, first), close: async () => gateway?.close() };
  const server = createServer({ store, bus, log, auth: gate, options: { ratePerSecond: 0 }, classic: lazy });
  gateway = await createClassicGateway({ store, bus, committer: server.committer, log, options: { ratePerSecond: 0 } });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    server, store, accounts, gate, gateway, port, dbPath, clock,
    async addUser(name, password, operator = false) {
      const n = nameKeys(name);
      const r = await accounts.create({ ...n, passwordHash: await hashPassword(password, FAST_SCRYPT), operator, createdAt: clock.t });
      if (r !== 'ok') throw new Error(`${name} is taken`);
      await gate.refresh();
    },
    async stop() {
      await server.close();
      await Promise.all([store.close(), accounts.close()]);
      removeDir(dir);
    },
  };
}
