import type { ClientPacketType, HistoryRequest, JoinPacket, LeavePacket, SendPacket, WhoRequest } from '../../protocol/packets.js';
import { bye, ping, pong } from './control.js';
import { hello } from './hello.js';
import { message, seed } from './message.js';
import { register } from './register.js';
import { history, join, leave, who } from './rooms.js';
import { rooms } from './room-list.js';
import type { Handler } from './types.js';

type WithRoom = SendPacket | JoinPacket | LeavePacket | HistoryRequest | WhoRequest;

/**
 * Rooms are normalised (NFKC) before any handler sees them, so `ｌobby` is `lobby`
 * (docs/protocol.md, "Names"); a room being joined must also be an honest name that does not
 * look like another open room.
 */
function normalisingRoom<P extends WithRoom>(h: Handler<P>, entering = false): Handler<P> {
  return {
    ...h,
    handle(ctx, s, p) {
      const room = entering ? ctx.auth.room(p.room, ctx.opts.limits.maxRoomLength, ctx.hub.rooms) : p.room.normalize('NFKC');
      return h.handle(ctx, s, room === p.room ? p : { ...p, room });
    },
  };
}

/** One handler per packet type; the session checks preHello/postHello before calling it. */
export const HANDLERS: Record<ClientPacketType, Handler<any>> = {
  hello, register, seed, ping, pong, bye, rooms,
  message: normalisingRoom(message),
  join: normalisingRoom(join, true),
  leave: normalisingRoom(leave),
  history: normalisingRoom(history),
  who: normalisingRoom(who),
};
