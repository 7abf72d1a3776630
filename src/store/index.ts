import type { MessageStore, StoreConfig } from './types.js';
import { SqliteStore } from './sqlite.js';

export type { MessageStore, StoreConfig, NewMessage, StoredMessage, AppendResult } from './types.js';

/** Picks the backend; cluster drivers are loaded only when asked for. */
export async function createStore(config: StoreConfig): Promise<MessageStore> {
  switch (config.driver) {
    case 'sqlite':
      return new SqliteStore(config.path, config.synchronous ?? 'full');
    case 'postgres': {
      // Loaded here only: the default path never loads `pg`.
      const { PostgresStore, parsePostgresUrl } = await import('./postgres.js');
      const url = parsePostgresUrl(config.path);
      const schema = config.schema ?? url.schema;
      return PostgresStore.open({
        connectionString: url.connectionString,
        ...(schema !== undefined ? { schema } : {}),
        ...(config.poolSize !== undefined ? { poolSize: config.poolSize } : {}),
        ...(config.log ? { log: config.log } : {}),
      });
    }
  }
}
