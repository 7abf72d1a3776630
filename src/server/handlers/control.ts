import type { ByePacket, PingPacket, PongPacket } from '../../protocol/packets.js';
import type { Handler } from './types.js';

export const ping: Handler<PingPacket> = {
  preHello: true,
  postHello: true,
  handle(_ctx, s, p) {
    s.reply(p.data === undefined ? { type: 'pong' } : { type: 'pong', data: p.data });
  },
};

/** Answers our ping: any frame resets the idle timer, and a pong also confirms delivery. */
export const pong: Handler<PongPacket> = {
  preHello: true,
  postHello: true,
  handle(_ctx, s) {
    s.onPong();
  },
};

export const bye: Handler<ByePacket> = {
  preHello: true,
  postHello: true,
  handle(_ctx, s) {
    s.close('client said bye', { bye: 'goodbye' });
  },
};
