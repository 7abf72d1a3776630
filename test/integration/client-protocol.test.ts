/**
 * The repeater connection against a scripted fake server: the cases a real server rarely shows
 * on demand (rate limiting, a store that was reset, a server gone silent).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { backoffDelay } from '../../src/client/clock.js';
import { RepeaterConnection, type RepeaterOptions } from '../../src/client/connection.js';
import { LocalStore } from '../../src/client/local-store.js';
import { FakeServer, ManualClock, serverMessage } from '../helpers/client-fake-server.js';
import { clientTempDir, nextEvent, removeTempDir } from '../helpers/client-server.js';

describe('repeater client protocol details (fake server)', () => {
  let dir: string;
  let fake: FakeServer;
  const open: RepeaterConnection[] = [];
  let n = 0;
  function client(extra: Partial<RepeaterOptions> = {}, name = `u${++n}`): RepeaterConnection {
    const c = new RepeaterConnection({ host: '127.0.0.1', port: fake.port, username: name, dbPath: join(dir, `${name}.db`), backoffInitialMs: 20, backoffMaxMs: 50, ...extra });
    open.push(c);
    return c;
  }
  const msg = serverMessage;

  before(async () => {
    dir = clientTempDir();
    fake = await FakeServer.start();
  });
  after(async () => {
    for (const c of open) await c.close();
    await fake.close();
    removeTempDir(dir);
  });

  it('says hello with since = the last id it holds, and answers ping with pong', async () => {
    const name = 'pinger';
    const s = new LocalStore(join(dir, `${name}.db`));
    s.setLastSeen(name, 41);
    s.close();
    const c = client({}, name);
    await c.start();
    const conn = await fake.nextConn();
    const hello = await conn.next('hello');
    assert.deepEqual({ username: hello.username, since: hello.since, rooms: hello.rooms }, { username: name, since: 41, rooms: ['lobby'] });
    FakeServer.welcome(conn, hello, 41);
    conn.send({ type: 'ping', data: 7 });
    assert.deepEqual(await conn.next('pong'), { type: 'pong', data: 7 });
  });

  it('dedupes a message it already holds', async () => {
    const c = client();
    const seen: ChatMessage[] = [];
    c.on('message', (m: ChatMessage) => seen.push(m));
    await c.start();
    const conn = await fake.nextConn();
    const hello = await conn.next('hello');
    const synced = nextEvent(c, 'synced');
    FakeServer.welcome(conn, hello, 2, [msg(1, 'one'), msg(2, 'two'), msg(2, 'two again')]);
    assert.deepEqual((await synced)[0], { missed: 2 });
    conn.send(msg(1, 'one, relayed late'));
    conn.send(msg(3, 'three'));
    await nextEvent(c, 'message', (m: ChatMessage) => m.id === 3);
    assert.deepEqual(seen.map((m) => m.content), ['one', 'two', 'three']);
  });

  it('rate_limited: the message is kept and sent again after a delay, then acknowledged once', async () => {
    const c = client({ retryMs: 50 });
    await c.start();
    const conn = await fake.nextConn();
    const hello = await conn.next('hello');
    FakeServer.welcome(conn, hello, 0);
    await nextEvent(c, 'synced');
    const uid = c.send({ content: 'hello', room: 'lobby' });
    const first = await conn.next('message');
    assert.equal(first.uid, uid);
    const notice = nextEvent<[string]>(c, 'notice');
    const t0 = Date.now();
    conn.send({ type: 'error', code: 'rate_limited', message: 'slow down', uid });
    assert.match((await notice)[0], /slow down.*retrying/);
    const again = await conn.next('message');
    assert.ok(Date.now() - t0 >= 45, 'waited before retrying');
    assert.equal(again.uid, uid, 'the same uid, so the server cannot store it twice');
    assert.equal(c.pendingCount(), 1);
    const acked = nextEvent(c, 'acked');
    conn.send({ type: 'ack', uid, id: 5, timestamp: 2000 });
    await acked;
    assert.equal(c.pendingCount(), 0);
  });

  it('a message refused for good is dropped with a notice and a failed event', async () => {
    const c = client();
    await c.start();
    const conn = await fake.nextConn();
    FakeServer.welcome(conn, await conn.next('hello'), 0);
    await nextEvent(c, 'synced');
    const uid = c.send({ content: 'x'.repeat(10), room: 'lobby' });
    await conn.next('message');
    const failed = nextEvent<[string, string]>(c, 'failed');
    conn.send({ type: 'error', code: 'too_large', message: 'content is over 4 bytes', uid });
    const [u, why] = await failed;
    assert.equal(u, uid);
    assert.match(why, /too_large/);
    assert.equal(c.pendingCount(), 0);
  });

  it('a server whose store was reset (last_id below ours): tells the user and fetches from 0', async () => {
    const name = 'resetter';
    const s = new LocalStore(join(dir, `${name}.db`));
    s.add({ key: 'r:100', id: 100, uid: null, username: 'bob', subject: null, content: 'old world', room: 'lobby', to: null, timestamp: 100 });
    s.setLastSeen(name, 100);
    s.close();
    const c = client({}, name);
    const seen: ChatMessage[] = [];
    c.on('message', (m: ChatMessage) => seen.push(m));
    const notice = nextEvent<[string]>(c, 'notice');
    await c.start();
    const conn1 = await fake.nextConn();
    const hello1 = await conn1.next('hello');
    assert.equal(hello1.since, 100);
    FakeServer.welcome(conn1, hello1, 3);
    assert.match((await notice)[0], /reset/);
    const conn2 = await fake.nextConn();
    const hello2 = await conn2.next('hello');
    assert.equal(hello2.since, 0, 'asks for everything the new store holds');
    FakeServer.welcome(conn2, hello2, 2, [msg(1, 'new world 1'), msg(2, 'new world 2')]);
    await nextEvent(c, 'synced');
    assert.deepEqual(seen.map((m) => m.content), ['new world 1', 'new world 2']);
    assert.deepEqual(c.recent(10).map((m) => m.content), ['old world', 'new world 1', 'new world 2']);
  });

  it('pings a quiet server, and drops and redials one that stays silent', async () => {
    const c = client({ keepaliveMs: 60, deadAfterMs: 200 });
    await c.start();
    const conn1 = await fake.nextConn();
    FakeServer.welcome(conn1, await conn1.next('hello'), 0);
    await nextEvent(c, 'synced');
    await conn1.next('ping', 2000);
    // The fake never answers: the client must give up on it and dial again.
    const [, detail] = await nextEvent<[string, string]>(c, 'state', (s) => s === 'offline', 3000);
    assert.match(detail, /no word from the server/);
    const conn2 = await fake.nextConn(3000);
    assert.equal((await conn2.next('hello')).type, 'hello');
  });

  it('a client that stopped reading (its stdout is full) is not taken for a dead server; it reads on when resumed', async () => {
    const clock = new ManualClock();
    /** Long silence from the server (the clock driven past deadAfterMs), then a message: read, or dropped as dead? */
    const afterSilence = async (pause: boolean): Promise<string> => {
      const c = client({ clock, keepaliveMs: 60, deadAfterMs: 200 });
      const synced = nextEvent(c, 'synced');
      await c.start();
      const conn = await fake.nextConn();
      FakeServer.welcome(conn, await conn.next('hello'), 0);
      await synced;
      const outcome = new Promise<string>((resolve) => {
        c.once('message', (m: ChatMessage) => resolve(`read: ${m.content}`));
        c.on('state', (s: string, detail: string) => s === 'offline' && resolve(`offline: ${detail}`));
      });
      if (pause) c.pauseInbound();
      for (let i = 0; i < 20; i++) clock.advance(50);
      conn.send(msg(1, 'after the silence'));
      if (pause) c.resumeInbound();
      return outcome;
    };
    assert.match(await afterSilence(false), /^offline: no word from the server/, 'without the pause, the silence counts');
    assert.equal(await afterSilence(true), 'read: after the silence', 'paused on purpose: not dropped');
  });

  it('backoff grows to the cap, with jitter in the upper half', () => {
    assert.equal(backoffDelay(0, 500, 10_000, () => 0), 250);
    assert.equal(backoffDelay(0, 500, 10_000, () => 1), 500);
    assert.equal(backoffDelay(3, 500, 10_000, () => 1), 4000);
    assert.equal(backoffDelay(10, 500, 10_000, () => 1), 10_000);
    assert.equal(backoffDelay(50, 500, 10_000, () => 0), 5000);
  });
});
