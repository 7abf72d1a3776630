import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';

describe('repeater server: relay, rooms, direct messages, presence', () => {
  let ts: TestServer;
  const clients: WireClient[] = [];
  const login = async (name: string, hello = {}, mode: 'plain' | 'base64' = 'plain') => {
    const r = await WireClient.login(ts.port, name, hello, mode);
    clients.push(r.c);
    return r;
  };
  before(async () => {
    ts = await startServer();
  });
  after(async () => {
    for (const c of clients) await c.close();
    await ts.stop();
    removeDir(ts.dir);
  });

  it('relays a message to everyone else in the room once, and acks the sender only after storing it', async () => {
    const { c: alice } = await login('alice');
    const { c: bob, welcome } = await login('bob', {}, 'base64');
    assert.deepEqual(welcome.users, ['alice', 'bob']);
    const { c: carol } = await login('carol');
    alice.send({ type: 'message', uid: 'a1', content: 'hello room', subject: 'greetings' });
    const ack = await alice.next('ack');
    assert.equal(ack.uid, 'a1');
    assert.equal(typeof ack.id, 'number');
    assert.equal(typeof ack.timestamp, 'number');
    // Stored before the ack was sent.
    const stored = await ts.store.history('lobby', null, 10);
    assert.equal(stored.at(-1)?.content, 'hello room');
    for (const c of [bob, carol]) {
      const m = await c.next('message');
      assert.deepEqual(
        { id: m.id, uid: m.uid, username: m.username, subject: m.subject, content: m.content, room: m.room, to: m.to },
        { id: ack.id, uid: 'a1', username: 'alice', subject: 'greetings', content: 'hello room', room: 'lobby', to: null },
      );
      assert.equal(m.timestamp, ack.timestamp);
    }
    await Promise.all([alice.settle(), bob.settle()]);
    assert.equal(alice.all('message').length, 0, 'the sender does not get its own message back');
    assert.equal(bob.all('message').length, 1, 'exactly once');
  });

  it('a repeated uid gets the original ack and is neither stored nor relayed again', async () => {
    const { c: dave } = await login('dave');
    const { c: erin } = await login('erin');
    const before = await ts.store.count();
    dave.send({ type: 'message', uid: 'same-uid', content: 'once' });
    const first = await dave.next('ack');
    dave.send({ type: 'message', uid: 'same-uid', content: 'once' });
    const second = await dave.next('ack');
    assert.equal(second.id, first.id);
    assert.equal(second.timestamp, first.timestamp);
    assert.equal(second.duplicate, true);
    assert.equal(await ts.store.count(), before + 1);
    await erin.settle();
    assert.equal(erin.all('message').filter((m) => m.uid === 'same-uid').length, 1);
  });

  it('rooms: only members receive, join answers with the users, leave stops delivery', async () => {
    const { c: f } = await login('frank', { rooms: ['lobby', 'dev'] });
    const { c: g } = await login('grace');
    g.send({ type: 'join', room: 'dev' });
    const joined = await g.next('joined');
    assert.deepEqual(joined, { type: 'joined', room: 'dev', users: ['frank', 'grace'] });
    const { c: h } = await login('heidi');
    f.send({ type: 'message', uid: 'dev1', content: 'in dev', room: 'dev' });
    const m = await g.next('message');
    assert.equal(m.room, 'dev');
    await h.settle();
    assert.equal(h.all('message').filter((x) => x.room === 'dev').length, 0, 'non-members get nothing from dev');
    g.send({ type: 'leave', room: 'dev' });
    await g.next('left');
    f.send({ type: 'message', uid: 'dev2', content: 'after leave', room: 'dev' });
    await f.next((p) => p.type === 'ack' && p.uid === 'dev2');
    await g.settle();
    assert.equal(g.all('message').filter((x) => x.uid === 'dev2').length, 0);
    h.send({ type: 'message', uid: 'h1', content: 'x', room: 'dev' });
    const err = await h.next('error');
    assert.equal(err.code, 'not_in_room');
    assert.equal(err.uid, 'h1');
  });

  it('direct messages reach every connection of the recipient and the sender\'s other connections only', async () => {
    const { c: i1 } = await login('ivan');
    const { c: i2 } = await login('ivan');
    const { c: j1 } = await login('judy');
    const { c: j2 } = await login('judy');
    const { c: k } = await login('ken');
    i1.send({ type: 'message', uid: 'dm1', content: 'psst', to: 'judy' });
    const ack = await i1.next('ack');
    for (const c of [j1, j2, i2]) {
      const m = await c.next('message');
      assert.equal(m.id, ack.id);
      assert.equal(m.to, 'judy');
      assert.equal(m.content, 'psst');
    }
    await k.settle();
    assert.equal(k.all('message').filter((m) => m.uid === 'dm1').length, 0, 'nobody else sees it');
  });

  it('a direct message to an offline user is delivered when they connect', async () => {
    const { c: l } = await login('leo');
    l.send({ type: 'message', uid: 'off1', content: 'read this later', to: 'mallory-offline' });
    await l.next('ack');
    const { backlog } = await login('mallory-offline', { since: 0 });
    assert.deepEqual(backlog.filter((m) => m.to === 'mallory-offline').map((m) => m.content), ['read this later']);
  });

  it('presence: online on a user\'s first connection to a room, offline after the last one leaves', async () => {
    const { c: watcher } = await login('nina', { rooms: ['presence-room'] });
    const { c: o1 } = await login('oscar', { rooms: ['presence-room'] });
    const online = await watcher.next('presence');
    assert.deepEqual(online, { type: 'presence', room: 'presence-room', username: 'oscar', status: 'online' });
    const { c: o2 } = await login('oscar', { rooms: ['presence-room'] });
    await o1.close();
    await watcher.settle();
    assert.equal(watcher.all('presence').length, 1, 'no presence while oscar still has a connection');
    await o2.close();
    const offline = await watcher.next('presence');
    assert.deepEqual(offline, { type: 'presence', room: 'presence-room', username: 'oscar', status: 'offline' });
    watcher.send({ type: 'who', room: 'presence-room' });
    assert.deepEqual((await watcher.next('who')).users, ['nina']);
  });

  it('history pages backwards through a room', async () => {
    const { c: p } = await login('peggy', { rooms: ['hist'] });
    for (let i = 1; i <= 7; i++) p.send({ type: 'message', uid: `h${i}`, content: `m${i}`, room: 'hist' });
    for (let i = 1; i <= 7; i++) await p.next('ack');
    p.send({ type: 'history', room: 'hist', limit: 3 });
    const page1 = await p.next('history');
    assert.deepEqual(page1.messages.map((m: any) => m.content), ['m5', 'm6', 'm7']);
    p.send({ type: 'history', room: 'hist', limit: 3, before: page1.messages[0].id });
    const page2 = await p.next('history');
    assert.deepEqual(page2.messages.map((m: any) => m.content), ['m2', 'm3', 'm4']);
  });

  it('ping is answered with pong carrying the same data', async () => {
    const { c } = await login('quentin');
    c.send({ type: 'ping', data: 42 });
    assert.deepEqual(await c.next('pong'), { type: 'pong', data: 42 });
  });

  it('bye closes the connection after a bye', async () => {
    const { c } = await login('rupert');
    c.send({ type: 'bye' });
    assert.equal((await c.next('bye')).type, 'bye');
    await c.closedPromise;
  });

  it('the original client\'s packet (no type) logs in and posts to the lobby', async () => {
    const { c: watcher } = await login('sybil');
    const seed = await WireClient.connect(ts.port, 'base64');
    clients.push(seed);
    // The original client sent Python's str() of a dict: single quotes.
    seed.sendRaw(Buffer.from("{'content': 'from the old client', 'username': 'oldtimer'}").toString('base64') + '\n');
    const m = await watcher.next('message');
    assert.equal(m.username, 'oldtimer');
    assert.equal(m.content, 'from the old client');
  });
});

describe('repeater server: quiet script connections', () => {
  it('receive and send, but cause no presence and are not listed by who', async () => {
    const ts = await startServer();
    try {
      const { c: human } = await WireClient.login(ts.port, 'human');
      const { c: bot, welcome } = await WireClient.login(ts.port, 'bot', { quiet: true });
      assert.deepEqual(welcome.users, ['human']);
      bot.send({ type: 'message', uid: 'b1', content: 'build passed' });
      assert.equal((await human.next('message')).content, 'build passed');
      human.send({ type: 'message', uid: 'h1', content: 'thanks bot' });
      assert.equal((await bot.next('message')).content, 'thanks bot');
      human.send({ type: 'who', room: 'lobby' });
      assert.deepEqual((await human.next('who')).users, ['human']);
      await bot.close();
      await human.settle();
      assert.equal(human.all('presence').length, 0, 'the bot came and went without presence');
      await human.close();
    } finally {
      await ts.stop();
      removeDir(ts.dir);
    }
  });
});
