import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SqliteStore, openSqlite } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/server.js';
import { storeContract } from './store-contract.js';

storeContract('SQLite (in memory)', async () => new SqliteStore(':memory:'));

const files = new Map<SqliteStore, string>();
storeContract(
  'SQLite (file, synchronous=FULL)',
  async () => {
    const path = join(tempDir(), 'store.db');
    const s = new SqliteStore(path, 'full');
    files.set(s, path);
    return s;
  },
  async (old) => {
    const path = files.get(old as SqliteStore)!;
    await old.close();
    const s = new SqliteStore(path, 'full');
    files.set(s, path);
    return s;
  },
);

describe('SQLite store schema upgrade', () => {
  it('a database written before the action flag opens, keeps its rows (not actions), and stores actions', async () => {
    const path = join(tempDir(), 'v1.db');
    const db = openSqlite(path, 'full');
    // The first schema as version 1 wrote it, with one row.
    db.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT, username TEXT NOT NULL, room TEXT NOT NULL,
      recipient TEXT, subject TEXT, content TEXT NOT NULL, ts REAL NOT NULL, remote TEXT);
      CREATE UNIQUE INDEX messages_user_uid ON messages(username, uid);
      CREATE TABLE cursors (username TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
      INSERT INTO messages (uid, username, room, content, ts) VALUES ('a', 'alice', 'lobby', 'before', 1);`);
    db.pragma('user_version = 1');
    db.close();
    const s = new SqliteStore(path, 'full');
    try {
      await s.append([{ uid: 'b', username: 'alice', room: 'lobby', to: null, subject: null, content: 'after', timestamp: 2, action: true }]);
      const h = await s.history('lobby', null, 10);
      assert.deepEqual(h.map((m) => [m.content, m.action ?? false]), [['before', false], ['after', true]]);
    } finally {
      await s.close();
    }
  });
});
