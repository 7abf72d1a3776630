/** Picks the account store beside the message store; the PostgreSQL driver loads only when chosen. */
import { MemoryAccountStore } from './memory.js';
import { SqliteAccountStore } from './sqlite.js';
import type { AccountStore, AccountStoreConfig } from './types.js';

export type { Account, AccountStore, AccountStoreConfig, NewAccount } from './types.js';

export async function createAccountStore(config: AccountStoreConfig): Promise<AccountStore> {
  switch (config.driver) {
    case 'memory':
      return new MemoryAccountStore();
    case 'sqlite':
      if (!config.path) throw new Error('the SQLite account store needs the database path');
      return new SqliteAccountStore(config.path);
    case 'postgres': {
      if (!config.path) throw new Error('the PostgreSQL account store needs a postgres:// URL');
      const { PostgresAccountStore } = await import('./postgres.js');
      return PostgresAccountStore.open({ connectionString: config.path, ...(config.schema !== undefined ? { schema: config.schema } : {}) });
    }
  }
}
