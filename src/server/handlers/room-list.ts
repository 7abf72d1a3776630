import type { RoomCount, RoomsRequest } from '../../protocol/packets.js';
import type { Handler } from './types.js';

/**
 * At most this many rooms in one `rooms` answer, the most populated first; the rest is counted
 * in `more`. A size bound on the answer, not a policy: rooms exist only while someone is in them,
 * and a server with thousands of connections could otherwise answer one small request with
 * megabytes.
 */
export const ROOMS_LISTED = 200;

/**
 * `rooms`: the rooms with people in them now and how many, counted as `who` counts (quiet
 * connections, scripts, are not people here: a room only they are in is not listed).
 */
export const rooms: Handler<RoomsRequest> = {
  preHello: false,
  postHello: true,
  handle(ctx, s) {
    const all: RoomCount[] = [];
    for (const room of ctx.hub.rooms.keys()) {
      const users = ctx.hub.usersIn(room).length;
      if (users > 0) all.push({ room, users });
    }
    all.sort((a, b) => b.users - a.users || (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
    const listed = all.slice(0, ROOMS_LISTED);
    s.reply(all.length > listed.length ? { type: 'rooms', rooms: listed, more: all.length - listed.length } : { type: 'rooms', rooms: listed });
  },
};
