import { LocalBus } from './local.js';
import type { MessageBus } from './types.js';

export type { MessageBus, BusEvent } from './types.js';

export interface BusConfig {
  driver: 'local';
}

/** Picks the fan-out backend; the default keeps everything in one process. */
export async function createBus(config: BusConfig): Promise<MessageBus> {
  switch (config.driver) {
    case 'local':
      return new LocalBus();
  }
}
