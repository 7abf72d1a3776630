import type { ClientPacketType } from '../../protocol/packets.js';
import { bye, ping, pong } from './control.js';
import { hello } from './hello.js';
import { message, seed } from './message.js';
import { history, join, leave, who } from './rooms.js';
import { rooms } from './room-list.js';
import type { Handler } from './types.js';

/** One handler per packet type; the session checks preHello/postHello before calling it. */
export const HANDLERS: Record<ClientPacketType, Handler<any>> = { hello, message, seed, join, leave, history, who, rooms, ping, pong, bye };
