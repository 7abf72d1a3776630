import { hostOf, type Admission } from '../../auth/gate.js';
import { ProtocolError } from '../../protocol/errors.js';
import type { HelloPacket } from '../../protocol/packets.js';
import type { DirectQuery, StoredMessage } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import type { Session } from '../session.js';
import { toPacket } from '../wire.js';
import type { Handler } from './types.js';

/**
 * Logs a session in: registers it (so live messages from now on are held for it), sends
 * `welcome`, streams what the user missed page by page (waiting for the socket to drain between
 * pages, so a 100,000-message catch-up never sits in memory), then `synced` and the held messages.
 * `since` null means: from the cursor the server keeps for the user (the one held in memory
 * first, then the stored one); a user never seen gets the direct messages addressed to it and
 * starts the rooms now (docs/protocol.md, "Cursors").
 */
export async function login(ctx: ServerContext, s: Session, id: Admission, rooms: string[], since: number | null, catchUp = true): Promise<void> {
  const username = id.name.name;
  s.username = username;
  s.state = 'syncing';
  ctx.hub.addUser(s);
  ctx.auth.enter(s, id);
  for (const room of rooms) ctx.enterRoom(s, room);
  let lastId: number;
  let cursor: number | null = null;
  let direct: StoredMessage[] = [];
  try {
    // Memory before the store: a cursor flushed while the store is read is in one or the other.
    const held = since === null ? ctx.heldCursor(username) : null;
    lastId = await ctx.store.lastId();
    if (since === null) cursor = maxOf(held, await ctx.store.getCursor(username), ctx.heldCursor(username));
    if (since === null && cursor === null && catchUp) direct = await ctx.store.directMessages(directQuery(ctx, username, 0, lastId));
  } catch (err) {
    // The store is unreachable (a cluster's PostgreSQL down): without last_id there is no
    // catch-up, and a session left in 'syncing' would hold live messages forever. Close it;
    // the client reconnects with backoff (docs/cluster.md).
    s.log.error({ err }, 'hello: cannot read the message store');
    s.close('the message store is unavailable: reconnect later', { error: 'internal' });
    return;
  }
  const from = !catchUp ? lastId : since ?? cursor ?? lastId;
  // `since` is the client's word that it holds everything up to there, as good as a receipt. A
  // user never seen gets a cursor now, so what arrives while it is away is kept for it: before
  // its first direct message when it has some (they are owed until a receipt covers them), else
  // last_id. Marking a known user's cursor again changes nothing but when it was last seen.
  const mark = since !== null ? since : cursor ?? (direct.length > 0 ? direct[0]!.id - 1 : lastId);
  ctx.markDelivered(username, Math.min(mark, lastId));
  s.syncedUpTo = lastId;
  const users = new Set<string>();
  for (const room of s.rooms) for (const u of ctx.hub.usersIn(room)) users.add(u);
  s.reply({ type: 'welcome', username, last_id: lastId, users: [...users].sort(), rooms: [...s.rooms], server: ctx.opts.serverName, protocol: 1, account: id.login !== null, ...(id.token !== null ? { token: id.token } : {}) });
  s.log.info({ rooms: [...s.rooms], since: from, lastId }, 'hello');
  // Streamed in the background: the client may send while its backlog arrives.
  const page: Page = direct.length > 0
    ? (after, limit) => ctx.store.directMessages({ ...directQuery(ctx, username, after, lastId), limit })
    : (after, limit) => ctx.store.catchUp({ username, rooms: [...s.rooms], afterId: after, upToId: lastId, limit });
  void streamCatchUp(ctx, s, page, direct.length > 0 ? 0 : from, lastId, direct).catch((err: unknown) => {
    s.log.error({ err }, 'catch-up failed');
    s.close('catch-up failed: reconnect, with since set to the last id you saw', { error: 'internal' });
  });
}

type Page = (afterId: number, limit: number) => Promise<StoredMessage[]>;

function maxOf(...xs: Array<number | null>): number | null {
  let m: number | null = null;
  for (const x of xs) if (x !== null && (m === null || x > m)) m = x;
  return m;
}

/**
 * A first hello's direct messages: those of the retention period only, so that a user forgotten
 * after userRetentionMs and back is not served again what it read before it left.
 */
function directQuery(ctx: ServerContext, username: string, afterId: number, upToId: number): DirectQuery {
  const since = ctx.opts.userRetentionMs > 0 ? (ctx.now() - ctx.opts.userRetentionMs) / 1000 : null;
  return { username, afterId, upToId, sinceTimestamp: since, limit: ctx.opts.catchUpPage };
}

/** Sends pages of (after, lastId] as `page` reads them, waiting for the socket to drain between pages; `first` is page one when already read. */
async function streamCatchUp(ctx: ServerContext, s: Session, page: Page, from: number, lastId: number, first: StoredMessage[]): Promise<void> {
  let after = from;
  let missed = 0;
  let rows = first;
  while (after < lastId && s.state === 'syncing') {
    if (rows.length === 0) rows = await page(after, ctx.opts.catchUpPage);
    for (const m of rows) {
      // A direct message to or from an account reaches only that account's connections, even
      // when a guest uses the name after the account was deleted.
      if (m.to !== null && !ctx.auth.mayReceive(s, m.to === s.username ? m.toAccount === true : m.verified === true)) continue;
      s.reply(toPacket(m));
      missed++;
    }
    if (rows.length < ctx.opts.catchUpPage) break;
    after = rows[rows.length - 1]!.id;
    rows = [];
    await s.conn.drained();
  }
  if (s.state !== 'syncing') return;
  s.reply({ type: 'synced', last_id: lastId, missed });
  s.finishSync();
}

/**
 * Checks the name and credentials (src/auth/gate.ts) and the rooms, then logs in. Every refusal
 * closes the connection before anything stored for the name is sent.
 */
export async function enter(ctx: ServerContext, s: Session, who: { username: string; password?: string; token?: string }, rooms: string[], since: number | null, catchUp = true): Promise<void> {
  let id: Admission;
  const checked: string[] = [];
  try {
    // Rooms first: a refused hello must not have cost a password check or a token.
    for (const r of rooms) {
      const room = ctx.auth.room(r, ctx.opts.limits.maxRoomLength, checked.length === 0 ? ctx.hub.rooms : new Set([...ctx.hub.rooms.keys(), ...checked]));
      if (!checked.includes(room)) checked.push(room);
    }
    id = await ctx.auth.admit({ ...who, address: hostOf(s.conn.remote) });
  } catch (err) {
    // Before hello every refusal closes the connection (docs/protocol.md, "Errors").
    if (!(err instanceof ProtocolError)) {
      s.log.error({ err }, 'hello: cannot read the accounts');
      throw new ProtocolError('internal', 'the account store is unavailable', { fatal: true });
    }
    throw err.fatal ? err : new ProtocolError(err.code, err.message, { fatal: true, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
  }
  // The client may have gone while its password was being checked.
  if (s.state !== 'hello') return;
  await login(ctx, s, id, checked, since, catchUp);
}

export const hello: Handler<HelloPacket> = {
  preHello: true,
  postHello: false,
  handle: (ctx, s, p) => {
    s.quiet = p.quiet === true;
    return enter(ctx, s, { username: p.username, ...(p.password !== undefined ? { password: p.password } : {}), ...(p.token !== undefined ? { token: p.token } : {}) }, p.rooms, p.since);
  },
};
