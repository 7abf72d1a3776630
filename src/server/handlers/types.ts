import type { ClientPacket } from '../../protocol/packets.js';
import type { ServerContext } from '../context.js';
import type { Session } from '../session.js';

/** A packet handler and the checks that run before it (ergo's command table). */
export interface Handler<P extends ClientPacket = ClientPacket> {
  /** May arrive as the first packet. */
  preHello: boolean;
  /** May arrive after hello. */
  postHello: boolean;
  handle(ctx: ServerContext, session: Session, packet: P): void | Promise<void>;
}
