/**
 * The protocol additions behind the chat commands of issue 11 (docs/protocol.md), over real TCP
 * against the real server: `rooms` with member counts, the `action` flag (stored, relayed, in
 * catch-up and history), and `recipient_seen` on the ack of a direct message.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';

describe('rooms, action lines and recipient_seen on the wire', () => {
  let ts: TestServer;
  const open: WireClient[] = [];
  const login = async (name: string, hello: Record<string, unknown> = {}): Promise<WireClient> => {
    const { c } = await WireClient.login(ts.port, name, hello);
    open.push(c);
    return c;
  };

  before(async () => {
    // Cursors reach the store every 20 ms, so "known from a cursor" needs no long wait.
    ts = await startServer({ cursorFlushMs: 20 });
  });
  after(async () => {
    for (const c of open) await c.close();
    await ts.stop();
    removeDir(ts.dir);
  });

  it('rooms: the rooms with people in them, most populated first, people counted once, scripts not at all', async () => {
    const alice = await login('alice', { rooms: ['lobby', 'physics'] });
    await login('bob', { rooms: ['lobby'] });
    await login('bob', { rooms: ['lobby', 'physics'] }); // a second connection of bob: still one person
    await login('carol', { rooms: ['chem'] });
    await login('bot', { rooms: ['lobby', 'scripts-only'], quiet: true });
    alice.send({ type: 'rooms' });
    const answer = await alice.next('rooms');
    assert.deepEqual(answer, { type: 'rooms', rooms: [{ room: 'lobby', users: 2 }, { room: 'physics', users: 2 }, { room: 'chem', users: 1 }] });
  });

  it('rooms is refused before hello, like the other requests', async () => {
    const c = await WireClient.connect(ts.port);
    open.push(c);
    c.send({ type: 'rooms' });
    const e = await c.next('error');
    assert.equal(e.code, 'not_hello');
  });

  it('an action is acknowledged, relayed with action:true, and comes back so in catch-up and history', async () => {
    const dave = await login('dave');
    const erin = await login('erin');
    dave.send({ type: 'message', uid: 'act1', content: 'waves', action: true });
    dave.send({ type: 'message', uid: 'plain1', content: 'hello' });
    const relayed = await erin.next((p) => p.type === 'message' && p.uid === 'act1');
    assert.equal(relayed.action, true);
    const plain = await erin.next((p) => p.type === 'message' && p.uid === 'plain1');
    assert.equal('action' in plain, false, 'no action field on an ordinary message');
    const { backlog } = await WireClient.login(ts.port, 'frank', { since: relayed.id - 1 });
    assert.deepEqual(backlog.map((p) => [p.content, p.action === true]).slice(0, 2), [['waves', true], ['hello', false]]);
    erin.send({ type: 'history', room: 'lobby', limit: 2 });
    const h = await erin.next('history');
    assert.deepEqual(h.messages.map((p: { content: string; action?: boolean }) => [p.content, p.action === true]), [['waves', true], ['hello', false]]);
    dave.send({ type: 'message', uid: 'bad', content: 'x', action: 'yes' });
    const e = await dave.next('error');
    assert.deepEqual([e.code, e.uid], ['bad_packet', 'bad']);
    assert.match(e.message, /action: must be true or false/);
  });

  it('recipient_seen: false for a name never seen, true for someone online or known; the message waits either way', async () => {
    const gina = await login('gina');
    gina.send({ type: 'message', uid: 'dm1', content: 'psst', to: 'nobdy' });
    const ack1 = await gina.next((p) => p.type === 'ack' && p.uid === 'dm1');
    assert.equal(ack1.recipient_seen, false);
    gina.send({ type: 'message', uid: 'dm2', content: 'hi', to: 'alice' });
    assert.equal((await gina.next((p) => p.type === 'ack' && p.uid === 'dm2')).recipient_seen, true, 'alice is online');
    // hank logs in once and leaves: his cursor is kept, so he is known when offline.
    const hank = await login('hank');
    await hank.close();
    await until(async () => (await ts.store.getCursor('hank')) !== null, 'hank\'s cursor in the store');
    gina.send({ type: 'message', uid: 'dm3', content: 'later', to: 'hank' });
    const ack3 = await gina.next((p) => p.type === 'ack' && p.uid === 'dm3');
    assert.equal(ack3.recipient_seen, true, 'known from his cursor');
    gina.send({ type: 'message', uid: 'room1', content: 'to the room' });
    assert.equal('recipient_seen' in (await gina.next((p) => p.type === 'ack' && p.uid === 'room1')), false, 'room messages have no recipient');
    // The message to the unknown name waits for it.
    const { backlog } = await WireClient.login(ts.port, 'nobdy', { since: 0 });
    assert.ok(backlog.some((p) => p.content === 'psst' && p.to === 'nobdy'));
  });
});

async function until(cond: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
