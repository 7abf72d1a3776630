import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
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
