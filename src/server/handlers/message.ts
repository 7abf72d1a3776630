import { ProtocolError } from '../../protocol/errors.js';
import type { SeedPacket, SendPacket } from '../../protocol/packets.js';
import type { NewMessage } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import type { Session } from '../session.js';
import { enter } from './hello.js';
import type { Handler } from './types.js';

/**
 * Stores a message (group commit), acknowledges it only once it is durable, then publishes it
 * on the bus, which fans it out. A repeated uid gets the original ack and is not relayed again.
 */
export function post(ctx: ServerContext, s: Session, msg: NewMessage, ackExtra: { recipient_seen?: boolean } = {}): void {
  const uid = msg.uid;
  s.inflightChanged(1);
  ctx.committer.submit(msg, (err, r) => {
    s.inflightChanged(-1);
    if (err || !r) {
      ctx.log.error({ err, conn: s.id }, 'store failed');
      s.fail(new ProtocolError('internal', 'the message could not be stored: send it again later, with the same uid', uid !== null ? { uid } : {}));
      return;
    }
    const m = r.message;
    s.reply(r.duplicate ? { type: 'ack', uid, id: m.id, timestamp: m.timestamp, duplicate: true, ...ackExtra } : { type: 'ack', uid, id: m.id, timestamp: m.timestamp, ...ackExtra });
    if (!r.duplicate) ctx.bus.publish({ kind: 'message', message: m, origin: s.id });
  });
}

function accept(ctx: ServerContext, s: Session, p: SendPacket | SeedPacket, room: string, to: string | null, uid: string | null): void | Promise<void> {
  const opt = uid !== null ? { uid } : {};
  if (to === null && !s.rooms.has(room)) throw new ProtocolError('not_in_room', `join ${room} before writing to it`, opt);
  // The recipient as its account (or the user online) spells it; a DM to an account is for its
  // logged-in connections only (src/auth/gate.ts, mayReceive).
  let recipient: { name: string; account: boolean } | null = null;
  if (to !== null) {
    try {
      recipient = ctx.auth.recipient(to, ctx.opts.limits.maxNameLength);
    } catch (err) {
      throw err instanceof ProtocolError ? new ProtocolError(err.code, err.message, opt) : err;
    }
  }
  if (recipient !== null && ctx.directCheck) {
    const why = ctx.directCheck(recipient.name);
    if (why !== null) throw new ProtocolError('no_key', why, opt);
  }
  if (!s.bucket.take()) throw new ProtocolError('rate_limited', `more than ${ctx.opts.ratePerSecond} messages a second; not stored, send it again later`, opt);
  const msg: NewMessage = {
    uid, username: s.username!, room, to: recipient?.name ?? null, subject: p.subject, content: p.content, timestamp: ctx.now() / 1000, remote: s.conn.remote,
    verified: ctx.auth.loginOf(s) !== null, toAccount: recipient?.account === true,
  };
  if (p.type === 'message' && p.action) msg.action = true;
  if (recipient === null) return post(ctx, s, msg);
  // A direct message: its ack says whether the name was ever seen here, so a client can warn
  // about a typo ("nobody named 'nobdy' has been here"). It is stored and kept either way.
  return recipientSeen(ctx, recipient.name).then((seen) => post(ctx, s, msg, { recipient_seen: seen }));
}

/**
 * Online now, or a cursor kept for the name (every user gets one at its first login; the store's
 * copy may lag the last few seconds of first logins, which then read as unseen). A store error
 * answers "seen": a false warning is worse than none.
 */
async function recipientSeen(ctx: ServerContext, name: string): Promise<boolean> {
  if (ctx.hub.users.has(name)) return true;
  try {
    return (await ctx.store.getCursor(name)) !== null;
  } catch {
    return true;
  }
}

export const message: Handler<SendPacket> = {
  preHello: false,
  postHello: true,
  handle: (ctx, s, p) => accept(ctx, s, p, p.room, p.to, p.uid),
};

/** The original Lab-93 client's packet: logs in as its username on first use, then posts. */
export const seed: Handler<SeedPacket> = {
  preHello: true,
  postHello: true,
  handle(ctx, s, p) {
    if (s.state !== 'hello') return accept(ctx, s, p, 'lobby', null, null);
    // No credentials in the seed's packet: it can only ever speak as a guest.
    return enter(ctx, s, { username: p.username }, ['lobby'], null, false).then(() => {
      if (s.state !== 'closed') accept(ctx, s, p, 'lobby', null, null);
    });
  },
};
