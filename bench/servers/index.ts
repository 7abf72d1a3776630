import { lab93Server } from './lab93.js';
import { mosquittoServer } from './mosquitto.js';
import { natsServer } from './nats.js';
import { ngircdServer } from './ngircd.js';
import { relayBatched, relayNaive } from './relay.js';
import type { ServerKind } from './process.js';

/** Every server the fan-out and latency workloads run against, lab93 first. */
export const SERVERS: readonly ServerKind[] = [lab93Server, natsServer, ngircdServer, mosquittoServer, relayNaive, relayBatched];

export type { ServerHandle, ServerKind } from './process.js';
