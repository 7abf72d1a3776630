import type { Logger } from 'pino';
import { LocalBus } from './local.js';
import type { MessageBus } from './types.js';
import type { SequenceSource } from './sequencer.js';

export type { MessageBus, BusEvent } from './types.js';

export type BusConfig =
  | { driver: 'local' }
  | {
      driver: 'nats';
      /** "nats://host:4222" (several: comma-separated; `?prefix=` allowed). */
      url: string;
      /** Subject prefix shared by the servers of one cluster (overrides `?prefix=`; default "lab93"). */
      prefix?: string;
      log?: Logger;
      /** The cluster's shared store: messages are then delivered in id order, with gaps read from it. */
      source?: SequenceSource;
    };

/** Picks the fan-out backend; the default keeps everything in one process. */
export async function createBus(config: BusConfig): Promise<MessageBus> {
  switch (config.driver) {
    case 'local':
      return new LocalBus();
    case 'nats': {
      // Loaded here only: the default path never loads `nats`.
      const { NatsBus, parseNatsUrl } = await import('./nats.js');
      const url = parseNatsUrl(config.url);
      const prefix = config.prefix ?? url.prefix;
      return NatsBus.connect({ servers: url.servers, ...(prefix !== undefined ? { prefix } : {}), ...(config.log ? { log: config.log } : {}), ...(config.source ? { source: config.source } : {}) });
    }
  }
}
