import { ProtocolError } from '../../protocol/errors.js';
import type { HistoryRequest, JoinPacket, LeavePacket, WhoRequest } from '../../protocol/packets.js';
import { toPacket } from '../wire.js';
import type { Handler } from './types.js';

export const join: Handler<JoinPacket> = {
  preHello: false,
  postHello: true,
  handle(ctx, s, p) {
    if (!s.rooms.has(p.room) && s.rooms.size >= ctx.opts.limits.maxRoomsPerConnection) {
      throw new ProtocolError('too_many_rooms', `at most ${ctx.opts.limits.maxRoomsPerConnection} rooms per connection: leave one first`);
    }
    ctx.enterRoom(s, p.room);
    s.reply({ type: 'joined', room: p.room, users: ctx.hub.usersIn(p.room) });
  },
};

export const leave: Handler<LeavePacket> = {
  preHello: false,
  postHello: true,
  handle(ctx, s, p) {
    if (!s.rooms.has(p.room)) throw new ProtocolError('not_in_room', `not in ${p.room}, so there is nothing to leave`);
    ctx.leaveRoom(s, p.room);
    s.reply({ type: 'left', room: p.room });
  },
};

export const who: Handler<WhoRequest> = {
  preHello: false,
  postHello: true,
  handle(ctx, s, p) {
    s.reply({ type: 'who', room: p.room, users: ctx.hub.usersIn(p.room) });
  },
};

export const history: Handler<HistoryRequest> = {
  preHello: false,
  postHello: true,
  async handle(ctx, s, p) {
    const rows = await ctx.store.history(p.room, p.before, p.limit);
    s.reply({ type: 'history', room: p.room, messages: rows.map(toPacket) });
  },
};
