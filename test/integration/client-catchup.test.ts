import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { RepeaterConnection, type RepeaterOptions } from '../../src/client/connection.js';
import { LocalStore } from '../../src/client/local-store.js';
import { clientTempDir, nextEvent, removeTempDir, startClientTestServer, until, type ClientTestServer } from '../helpers/client-server.js';

interface Seen { m: ChatMessage; missed: boolean }

describe('repeater client: catch-up after being away', () => {
  let dir: string;
  let ts: ClientTestServer;
  const open: RepeaterConnection[] = [];

  /** A client with its own local store, recording every message it emits. */
  async function client(name: string, extra: Partial<RepeaterOptions> = {}): Promise<{ c: RepeaterConnection; seen: Seen[]; synced: { missed: number } }> {
    const c = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: name, dbPath: join(dir, `${name}.db`), ...extra });
    open.push(c);
    const seen: Seen[] = [];
    c.on('message', (m: ChatMessage, info: { missed: boolean }) => seen.push({ m, missed: info.missed }));
    const synced = nextEvent<[{ missed: number }]>(c, 'synced');
    await c.start();
    return { c, seen, synced: (await synced)[0] };
  }

  async function post(c: RepeaterConnection, content: string, extra: { room?: string; to?: string } = {}): Promise<ChatMessage> {
    const acked = nextEvent<[string, ChatMessage]>(c, 'acked', (u) => u === uid);
    const uid = c.send({ content, room: extra.room ?? 'lobby', to: extra.to ?? null });
    return (await acked)[1];
  }

  before(async () => {
    dir = clientTempDir();
    ts = await startClientTestServer(join(dir, 'server.db'));
  });
  after(async () => {
    for (const c of open) await c.close();
    await ts.stop();
    removeTempDir(dir);
  });

  it('receives exactly the missed messages, once, marked as missed; then live ones unmarked', async () => {
    const a1 = await client('alice');
    assert.equal(a1.synced.missed, 0);
    const bob = await client('bob', { rooms: ['lobby', 'physics'] });
    const live = nextEvent(a1.c, 'message');
    const m1 = await post(bob.c, 'before you left');
    await live;
    assert.deepEqual(a1.seen.map((s) => [s.m.id, s.missed]), [[m1.id, false]]);
    await a1.c.close();

    const m2 = await post(bob.c, 'while you were away 1');
    const m3 = await post(bob.c, 'while you were away 2');
    const dm = await post(bob.c, 'a word in private', { to: 'alice' });
    await post(bob.c, 'a room alice is not in', { room: 'physics' });

    const a2 = await client('alice');
    assert.deepEqual(a2.seen.map((s) => [s.m.id, s.m.content, s.missed]), [
      [m2.id, 'while you were away 1', true],
      [m3.id, 'while you were away 2', true],
      [dm.id, 'a word in private', true],
    ]);
    assert.equal(a2.synced.missed, 3);
    // The local history holds everything, shown at the next start even without a server.
    assert.deepEqual(a2.c.recent(10).map((m) => m.content), ['before you left', 'while you were away 1', 'while you were away 2', 'a word in private']);

    const liveAgain = nextEvent(a2.c, 'message');
    const m5 = await post(bob.c, 'welcome back');
    await liveAgain;
    assert.deepEqual(a2.seen.slice(3).map((s) => [s.m.id, s.missed]), [[m5.id, false]]);
    await a2.c.close();

    // Back again with nothing new: nothing is replayed.
    const a3 = await client('alice');
    assert.equal(a3.synced.missed, 0);
    assert.deepEqual(a3.seen, []);
  });

  it('the local history is readable with the server down', async () => {
    const store = new LocalStore(join(dir, 'alice.db'));
    try {
      assert.ok(store.recent(10).some((m) => m.content === 'welcome back'));
      assert.ok(store.lastSeen('alice')! >= 5);
    } finally {
      store.close();
    }
    const down = new RepeaterConnection({ host: '127.0.0.1', port: 1, username: 'alice', dbPath: join(dir, 'alice.db') });
    open.push(down);
    assert.ok(down.recent(10).some((m) => m.content === 'welcome back'));
    const history = await down.history('lobby', 2);
    assert.deepEqual(history.map((m) => m.content), ['while you were away 2', 'welcome back']);
  });

  it('a message stored whose ack was lost is taken as acknowledged, not sent or shown twice', async () => {
    // The server stored alice's message (uid x-lost) but the connection died before the ack.
    const [r] = await ts.store.append([{ uid: 'x-lost', username: 'alice', room: 'lobby', to: null, subject: null, content: 'ack lost on the way', timestamp: Date.now() / 1000 }]);
    const store = new LocalStore(join(dir, 'alice.db'));
    store.outboxAdd('alice', { uid: 'x-lost', created: 1, packet: { type: 'message', uid: 'x-lost', content: 'ack lost on the way', subject: null, room: 'lobby', to: null } });
    store.close();

    const acked: string[] = [];
    const c = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: 'alice', dbPath: join(dir, 'alice.db') });
    open.push(c);
    const seen: ChatMessage[] = [];
    c.on('message', (m: ChatMessage) => seen.push(m));
    c.on('acked', (uid: string) => acked.push(uid));
    assert.equal(c.pendingCount(), 1);
    const synced = nextEvent(c, 'synced');
    await c.start();
    await synced;
    await until(c, ['acked'], () => c.pendingCount() === 0, 5000, 'the outbox to empty');
    assert.deepEqual(acked, ['x-lost']);
    assert.equal(seen.filter((m) => m.uid === 'x-lost').length, 0, 'our own message is not shown as someone else\'s');
    const rows = (await ts.store.history('lobby', null, 100)).filter((m) => m.uid === 'x-lost');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.id, r!.message.id);
    await c.close();
  });
});
