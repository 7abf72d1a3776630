import { irc } from './irc.js';
import { lab93, lab93Tls } from './lab93.js';
import { mqtt } from './mqtt.js';
import { nats } from './nats.js';
import { relay } from './relay.js';
import type { ProtocolAdapter } from './types.js';
import { lab93Ws } from './ws.js';

export const PROTOCOLS: Readonly<Record<string, ProtocolAdapter>> = { lab93, 'lab93-tls': lab93Tls, 'lab93-ws': lab93Ws, irc, mqtt, nats, relay };
