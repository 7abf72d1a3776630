import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { RepeaterConnection, type RepeaterOptions } from '../../src/client/connection.js';
import { clientTempDir, nextEvent, removeTempDir, startClientTestServer, until, type ClientTestServer } from '../helpers/client-server.js';

describe('repeater client: messages typed while the server is down', () => {
  let dir: string;
  let ts: ClientTestServer;
  const open: RepeaterConnection[] = [];
  const fast: Partial<RepeaterOptions> = { backoffInitialMs: 40, backoffMaxMs: 200 };

  function client(name: string): RepeaterConnection {
    const c = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: name, dbPath: join(dir, `${name}.db`), ...fast });
    open.push(c);
    return c;
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

  it('are delivered exactly once after the server is back, even across a client restart', async () => {
    const port = ts.port;
    const alice = client('alice');
    const bob = client('bob');
    const bobSeen: ChatMessage[] = [];
    bob.on('message', (m: ChatMessage) => bobSeen.push(m));
    for (const c of [alice, bob]) {
      const synced = nextEvent(c, 'synced');
      await c.start();
      await synced;
    }

    const aliceOffline = nextEvent(alice, 'state', (s) => s === 'offline');
    await ts.stop();
    await aliceOffline;
    assert.equal(alice.state, 'offline');

    alice.send({ content: 'typed offline 1', room: 'lobby' });
    alice.send({ content: 'typed offline 2', room: 'lobby', subject: 'note' });
    assert.equal(alice.pendingCount(), 2);
    // alice quits while offline; the queue is on disk.
    await alice.close();

    const alice2 = client('alice');
    assert.equal(alice2.pendingCount(), 2, 'the outbox survives a restart of the client');
    alice2.send({ content: 'typed offline 3', room: 'lobby' });
    const states: string[] = [];
    alice2.on('state', (s: string) => states.push(s));
    await alice2.start();
    await nextEvent(alice2, 'state', (s) => s === 'offline');

    ts = await startClientTestServer(ts.dbPath, port);
    await until(alice2, ['acked'], () => alice2.pendingCount() === 0, 10_000, 'alice\'s queue to be acknowledged');
    assert.ok(states.includes('online'));
    await until(bob, ['message'], () => bobSeen.length >= 3, 10_000, 'bob to receive the three messages');

    const contents = ['typed offline 1', 'typed offline 2', 'typed offline 3'];
    assert.deepEqual(bobSeen.map((m) => m.content), contents, 'bob got each once, in order');
    assert.equal(bobSeen[1]!.subject, 'note');
    const stored = (await ts.store.history('lobby', null, 100)).map((m) => m.content);
    assert.deepEqual(stored.filter((c) => contents.includes(c)), contents, 'stored once each');

    // One more outage and reconnect: nothing is sent or received again.
    const bobBack = nextEvent(bob, 'synced', () => true, 10_000);
    const aliceBack = nextEvent(alice2, 'synced', () => true, 10_000);
    await ts.stop();
    ts = await startClientTestServer(ts.dbPath, port);
    await Promise.all([bobBack, aliceBack]);
    assert.equal(bobSeen.length, 3);
    assert.equal((await ts.store.count()), stored.length);
  });

  it('the prompt state: offline while the server is down, online when it is back', async () => {
    const port = ts.port;
    const carol = client('carol');
    const states: string[] = [];
    carol.on('state', (s: string) => states.push(s));
    const synced = nextEvent(carol, 'synced');
    await carol.start();
    await synced;
    const offline = nextEvent(carol, 'state', (s) => s === 'offline');
    await ts.stop();
    await offline;
    ts = await startClientTestServer(ts.dbPath, port);
    await nextEvent(carol, 'state', (s) => s === 'online', 10_000);
    assert.deepEqual(states, ['online', 'offline', 'online']);
  });
});
