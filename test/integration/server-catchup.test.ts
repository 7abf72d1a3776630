import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';

describe('repeater server: catch-up for users who were away', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startServer({ receiptPingMs: 50 });
  });
  after(async () => {
    await ts.stop();
    removeDir(ts.dir);
  });

  async function post(c: WireClient, n: number, prefix: string, extra = {}): Promise<number[]> {
    for (let i = 0; i < n; i++) c.send({ type: 'message', uid: `${prefix}-${i}`, content: `${prefix} ${i}`, ...extra });
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push((await c.next('ack')).id);
    return ids;
  }

  it('with since: exactly the missed messages, once, in order, then synced and live', async () => {
    const { c: alice } = await WireClient.login(ts.port, 'alice');
    const { c: bob } = await WireClient.login(ts.port, 'bob');
    await post(alice, 3, 'seen');
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await bob.next('message'));
    const lastSeen = seen.at(-1)!.id;
    await bob.close();
    const missedIds = await post(alice, 25, 'missed');
    const { c: bob2, backlog, synced, welcome } = await WireClient.login(ts.port, 'bob', { since: lastSeen });
    assert.deepEqual(backlog.map((m) => m.id), missedIds);
    assert.equal(synced.missed, 25);
    assert.equal(synced.last_id, welcome.last_id);
    const [liveId] = await post(alice, 1, 'live');
    const live = await bob2.next('message');
    assert.equal(live.id, liveId);
    await bob2.settle();
    const ids = bob2.all('message').map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no message twice');
    await alice.close();
    await bob2.close();
  });

  it('a 5,000-message backlog streams in pages while live messages keep their place after it', async () => {
    const { c: writer } = await WireClient.login(ts.port, 'writer', { rooms: ['big'] });
    const { c: reader } = await WireClient.login(ts.port, 'reader', { rooms: ['big'] });
    const since = (await ts.store.lastId());
    await reader.close();
    const ids = await post(writer, 5000, 'bulk', { room: 'big' });
    const c = await WireClient.connect(ts.port);
    c.send({ type: 'hello', username: 'reader', since, rooms: ['big'] });
    await c.next('welcome');
    writer.send({ type: 'message', uid: 'during-sync', content: 'sent while reader syncs', room: 'big' });
    const synced = await c.next('synced', 10000);
    const duringAck = await writer.next((p) => p.type === 'ack' && p.uid === 'during-sync');
    const live = await c.next((p) => p.type === 'message' && p.uid === 'during-sync');
    await c.settle();
    const got = c.all('message').map((m) => m.id);
    const expected = [...ids];
    if (duringAck.id <= synced.last_id) expected.push(duringAck.id);
    assert.equal(synced.missed, expected.length);
    assert.deepEqual(got.slice(0, expected.length), expected);
    assert.equal(new Set(got).size, got.length, 'the live message is not delivered twice');
    assert.equal(live.id, duringAck.id);
    await writer.close();
    await c.close();
  });

  it('without since: the server\'s cursor, advanced only by receipts (pong), loses nothing', async () => {
    const { c: sender } = await WireClient.login(ts.port, 'sender2', { since: 0 });
    const { c: away } = await WireClient.login(ts.port, 'cursor-user');
    await post(sender, 2, 'before');
    await away.next('message');
    await away.next('message');
    // The receipt ping after those deliveries; the client answers it automatically.
    assert.equal((await away.next('ping', 2000)).type, 'ping');
    // No wait for the once-a-second flush: a hello reads the cursor held in memory first.
    away.autoPong = false;
    // This client goes away without reading or answering anything more.
    const afterIds = await post(sender, 3, 'after');
    await away.close();
    const { backlog } = await WireClient.login(ts.port, 'cursor-user');
    assert.deepEqual(backlog.map((m) => m.id), afterIds, 'exactly what came after the last receipt');
    await sender.close();
  });
});
