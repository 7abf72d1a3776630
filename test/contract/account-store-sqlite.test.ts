/**
 * The account store contract on SQLite (and in memory), plus what sharing the server's file
 * needs: the message store and the account store migrate the same file in either order without
 * touching each other's schema counter, and a second connection (`lab93 user` while the server
 * runs) sees the first one's changes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MemoryAccountStore } from '../../src/auth/memory.js';
import { SqliteAccountStore } from '../../src/auth/sqlite.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/server.js';
import { accountStoreContract } from './account-store-contract.js';

accountStoreContract('in memory', async () => new MemoryAccountStore());
accountStoreContract('SQLite (file)', async () => new SqliteAccountStore(join(tempDir(), 'server.db')));

describe('SQLite account store: in the server database file', () => {
  const account = { name: 'alice', key: 'alice', skeleton: 'alice', passwordHash: 'h', operator: false, createdAt: 1 };

  for (const order of ['messages first', 'accounts first']) {
    it(`shares the file with the message store (${order}), each with its own migrations`, async () => {
      const path = join(tempDir(), 'server.db');
      let messages: SqliteStore;
      let accounts: SqliteAccountStore;
      if (order === 'messages first') {
        messages = new SqliteStore(path);
        accounts = new SqliteAccountStore(path);
      } else {
        accounts = new SqliteAccountStore(path);
        messages = new SqliteStore(path);
      }
      await accounts.create(account);
      await messages.append([{ uid: 'u', username: 'alice', room: 'lobby', to: null, subject: null, content: 'hi', timestamp: 1, verified: true }]);
      await Promise.all([accounts.close(), messages.close()]);
      // Reopened: nothing migrates twice, nothing is lost.
      const again = new SqliteAccountStore(path);
      const store = new SqliteStore(path);
      assert.equal((await again.get('alice'))?.name, 'alice');
      const [m] = await store.history('lobby', null, 10);
      assert.equal(m?.verified, true);
      const db = new Database(path, { readonly: true });
      assert.deepEqual(
        (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[]).filter((t) => !t.startsWith('sqlite_')),
        ['account_tokens', 'accounts', 'auth_meta', 'cursors', 'messages'],
      );
      db.close();
      await Promise.all([again.close(), store.close()]);
    });
  }

  it('a second connection (lab93 user beside the server) sees changes through the version', async () => {
    const path = join(tempDir(), 'server.db');
    const server = new SqliteAccountStore(path);
    const cli = new SqliteAccountStore(path);
    const v = await server.version();
    await cli.create(account);
    assert.ok((await server.version()) > v);
    assert.equal((await server.get('alice'))?.name, 'alice');
    await Promise.all([server.close(), cli.close()]);
  });
});
