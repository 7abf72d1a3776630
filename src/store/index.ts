import type { MessageStore, StoreConfig } from './types.js';
import { SqliteStore } from './sqlite.js';

export type { MessageStore, StoreConfig, NewMessage, StoredMessage, AppendResult } from './types.js';

/** Picks the backend; cluster drivers are loaded only when asked for. */
export async function createStore(config: StoreConfig): Promise<MessageStore> {
  switch (config.driver) {
    case 'sqlite':
      return new SqliteStore(config.path, config.synchronous ?? 'full');
  }
}
