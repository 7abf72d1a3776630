/**
 * Catch-up that never skips (docs/protocol.md, "Cursors"): the cursor held in memory comes before
 * the stored one, a first hello gets the direct messages sent to that name, and users gone
 * longer than the retention period are forgotten. The cursor flush interval is an hour here, so
 * nothing reaches the store unless a test asks for it: what a reconnect gets comes from memory.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient, type Packet } from '../helpers/wire-client.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('repeater server: cursors held in memory and first hellos', () => {
  let ts: TestServer;
  let sender: WireClient;
  const clients: WireClient[] = [];
  const login = async (name: string, hello: Packet = {}) => {
    const r = await WireClient.login(ts.port, name, hello);
    clients.push(r.c);
    return r;
  };
  const post = async (n: number, prefix: string, extra: Packet = {}): Promise<number[]> => {
    for (let i = 0; i < n; i++) sender.send({ type: 'message', uid: `${prefix}-${i}`, content: `${prefix} ${i}`, ...extra });
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push((await sender.next((p) => p.type === 'ack' && String(p.uid).startsWith(prefix))).id);
    return ids;
  };

  before(async () => {
    ts = await startServer({ cursorFlushMs: HOUR, receiptPingMs: 50 });
    sender = (await login('sender', { since: 0 })).c;
  });
  after(async () => {
    for (const c of clients) await c.close();
    await ts.stop();
    removeDir(ts.dir);
  });

  it('a user who reconnects without since before its first cursor was flushed gets what it missed', async () => {
    const { c: first } = await login('newbie');
    await first.close();
    const missed = await post(3, 'while-newbie-away');
    assert.equal(await ts.store.getCursor('newbie'), null, 'nothing was flushed: the cursor is only in memory');
    const { backlog, synced } = await login('newbie');
    assert.deepEqual(backlog.map((m) => m.id), missed);
    assert.equal(synced.missed, 3);
  });

  it('a receipt held in memory counts at once: a quick reconnect gets exactly what came after it', async () => {
    const { c: away } = await login('carol');
    await ts.server.flushCursors();
    const seen = await post(2, 'carol-seen');
    for (const id of seen) assert.equal((await away.next('message')).id, id);
    // The receipt ping after those deliveries; its pong (sent by the helper) moves the cursor.
    await away.next('ping');
    await waitFor(() => ts.server.context.heldCursor('carol') === seen[1]);
    const stored = await ts.store.getCursor('carol');
    assert.ok(stored !== null && stored < seen[1]!, 'the store still holds the older cursor');
    away.autoPong = false;
    const missed = await post(3, 'carol-missed');
    await away.close();
    const { backlog } = await login('carol');
    assert.deepEqual(backlog.map((m) => m.id), missed, 'not the older stored cursor: nothing again, nothing lost');
  });

  it('a first hello gets the direct messages sent to that name before it ever connected, and no room history', async () => {
    await post(1, 'room-before-dora');
    const [toDora] = await post(1, 'dm-to-dora', { to: 'dora' });
    await post(1, 'dm-to-someone-else', { to: 'erin' });
    const { backlog, synced } = await login('dora');
    assert.deepEqual(backlog.map((m) => [m.id, m.to, m.username]), [[toDora, 'dora', 'sender']]);
    assert.equal(synced.missed, 1);
  });

  it('a first hello cut before its receipt gets those direct messages again next time', async () => {
    const [dm] = await post(1, 'dm-to-fred', { to: 'fred' });
    const c = await WireClient.connect(ts.port);
    c.autoPong = false;
    c.send({ type: 'hello', username: 'fred' });
    assert.equal((await c.next('message')).id, dm);
    await c.next('synced');
    await c.close();
    const room = await post(1, 'room-after-fred');
    const { backlog } = await login('fred');
    assert.deepEqual(backlog.map((m) => m.id), [dm, ...room], 'the direct message again, and what came after it');
  });
});

describe('repeater server: users gone longer than the retention period', () => {
  let ts: TestServer;
  let clock = Date.now();
  const clients: WireClient[] = [];
  const login = async (name: string, hello: Packet = {}) => {
    const r = await WireClient.login(ts.port, name, hello);
    clients.push(r.c);
    return r;
  };

  before(async () => {
    ts = await startServer({ cursorFlushMs: HOUR, userRetentionMs: 30 * DAY, pruneIntervalMs: 20 }, { now: () => clock });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await ts.stop();
    removeDir(ts.dir);
  });

  it('forgets users not seen for the retention period, never one that is online, on its own timer', async () => {
    const { c: gone } = await login('gone');
    await gone.close();
    const { c: here } = await login('here');
    await ts.server.flushCursors();
    assert.notEqual(await ts.store.getCursor('gone'), null);
    clock += 31 * DAY;
    // The prune timer runs every 20 ms of real time and reads the injected clock.
    await waitFor(async () => (await ts.store.getCursor('gone')) === null);
    assert.notEqual(await ts.store.getCursor('here'), null, 'an online user is kept');
    here.send({ type: 'ping' });
    await here.next('pong');
  });

  it('a first hello gets only the direct messages of the retention period', async () => {
    const { c: writer } = await login('writer', { since: 0 });
    writer.send({ type: 'message', uid: 'old-dm', content: 'long ago', to: 'gina' });
    await writer.next('ack');
    await writer.close();
    clock += 31 * DAY;
    const { c: writer2 } = await login('writer');
    writer2.send({ type: 'message', uid: 'new-dm', content: 'recently', to: 'gina' });
    const recent = await writer2.next('ack');
    const { backlog } = await login('gina');
    assert.deepEqual(backlog.map((m) => m.id), [recent.id]);
  });
});

/** Polls a condition until it holds (a state change with no event to wait on), failing after 3 s. */
async function waitFor(cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met within 3 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
