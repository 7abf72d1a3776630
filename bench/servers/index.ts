import { lab93Server, lab93TlsServer, lab93WsServer } from './lab93.js';
import { mosquittoServer } from './mosquitto.js';
import { natsServer } from './nats.js';
import { ngircdServer } from './ngircd.js';
import { relayBatched, relayNaive } from './relay.js';
import type { ServerKind } from './process.js';

/** Every server the fan-out and latency workloads run against, lab93 first (then lab93 over TLS and over WebSocket). */
export const SERVERS: readonly ServerKind[] = [lab93Server, lab93TlsServer, lab93WsServer, natsServer, ngircdServer, mosquittoServer, relayNaive, relayBatched];

export type { ServerHandle, ServerKind } from './process.js';
