import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { LocalStore, type OutboxEntry } from '../../src/client/local-store.js';
import { clientDbPath } from '../../src/config/paths.js';

const m = (id: number, o: Partial<ChatMessage> = {}): ChatMessage => ({
  key: `r:${id}`, id, uid: `u${id}`, username: 'bob', subject: null, content: `text ${id}`, room: 'lobby', to: null, timestamp: 1000 + id, ...o,
});
const entry = (uid: string, content: string, created: number): OutboxEntry => ({
  uid, created, packet: { type: 'message', uid, content, subject: null, room: 'lobby', to: null },
});

describe('client local store', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab93-client-store-'));
    path = clientDbPath('lab-pc', 5190, { LAB93_DATA_DIR: dir });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives at clientDbPath(host, port) and keeps the original columns plus id, room, to, uid', () => {
    const s = new LocalStore(path);
    const cols = (s.db.prepare(`PRAGMA table_info(messages)`).all() as Array<{ name: string }>).map((c) => c.name);
    for (const c of ['username', 'subject', 'timestamp', 'message', 'id', 'room', 'to', 'uid']) assert.ok(cols.includes(c), `column ${c}`);
    s.close();
    assert.match(path, /client\/lab-pc_5190\.db$/);
  });

  it('one file, two names (a script and a person of one account): a message the script stored first is still new to the person', () => {
    const s = new LocalStore(path);
    s.setLastSeen('alice', 4);
    assert.deepEqual(s.addMany([m(3), m(5), m(6)], 'deploybot').map((x) => x.id), [3, 5, 6]);
    // alice has seen up to 4: 5 and 6 are new to her, once; 3 is not; her own 7 (stored when acknowledged) is not.
    s.add(m(7, { username: 'alice' }));
    assert.deepEqual(s.addMany([m(3), m(5), m(6), m(6), m(7, { username: 'alice' })], 'alice').map((x) => x.id), [5, 6]);
    assert.deepEqual(s.addMany([m(5), m(6)], 'alice').map((x) => x.id), [], 'her cursor moved past them');
    s.close();
  });

  it('stores messages once by id and returns the newest, oldest first, after a reopen', () => {
    let s = new LocalStore(path);
    assert.equal(s.add(m(1)), true);
    assert.equal(s.add(m(2, { subject: 'lab', content: 'two\nlines' })), true);
    assert.equal(s.add(m(1)), false, 'a known id is not stored twice');
    assert.deepEqual(s.addMany([m(2), m(3), m(4, { room: 'physics' })]).map((x) => x.id), [3, 4]);
    s.close();
    s = new LocalStore(path);
    assert.deepEqual(s.recent(3).map((x) => x.id), [2, 3, 4]);
    assert.equal(s.recent(10)[1]!.content, 'two\nlines');
    assert.equal(s.recent(10)[1]!.subject, 'lab');
    assert.deepEqual(s.recentRoom('lobby', 10).map((x) => x.id), [1, 2, 3]);
    assert.equal(s.has(3), true);
    assert.equal(s.has(9), false);
    s.close();
  });

  it('direct messages are kept but left out of a room history', () => {
    const s = new LocalStore(path);
    s.add(m(1));
    s.add(m(2, { to: 'alice' }));
    assert.deepEqual(s.recentRoom('lobby', 10).map((x) => x.id), [1]);
    assert.equal(s.recent(10)[1]!.to, 'alice');
    s.close();
  });

  it('keeps the outbox per user across a restart, in order, until acknowledged', () => {
    let s = new LocalStore(path);
    s.outboxAdd('alice', entry('a1', 'first', 10));
    s.outboxAdd('alice', entry('a2', 'second', 11));
    s.outboxAdd('carol', entry('c1', 'not alice', 12));
    s.close();
    s = new LocalStore(path);
    assert.deepEqual(s.outbox('alice').map((e) => [e.uid, e.packet.content]), [['a1', 'first'], ['a2', 'second']]);
    s.acknowledge(m(7, { uid: 'a1', username: 'alice', content: 'first' }));
    assert.deepEqual(s.outbox('alice').map((e) => e.uid), ['a2']);
    assert.equal(s.recent(1)[0]!.content, 'first', 'an acknowledged message joins the history');
    assert.deepEqual(s.outbox('carol').map((e) => e.uid), ['c1']);
    s.close();
  });

  it('the last seen id only moves forward', () => {
    const s = new LocalStore(path);
    assert.equal(s.lastSeen('alice'), null);
    s.setLastSeen('alice', 10);
    s.setLastSeen('alice', 4);
    assert.equal(s.lastSeen('alice'), 10);
    s.close();
  });

  it('after a server reset, history is kept without ids and the cursor starts from 0', () => {
    const s = new LocalStore(path);
    s.add(m(1));
    s.add(m(2));
    s.setLastSeen('alice', 2);
    s.serverReset();
    assert.equal(s.lastSeen('alice'), 0);
    assert.equal(s.has(1), false);
    assert.deepEqual(s.recent(10).map((x) => [x.id, x.content]), [[null, 'text 1'], [null, 'text 2']]);
    assert.equal(s.add(m(1, { content: 'new server, new message 1', timestamp: 5000 })), true, 'new ids do not collide with the old ones');
    assert.equal(s.recent(10).length, 3);
    s.close();
  });
});
