import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerStore, signedFieldsOf, type PeerStoredMessage } from '../../src/peer/peer-store.js';
import { generateIdentity, messageLink, verifyMessage } from '../../src/peer/identity.js';
import type { PeerMessagePacket } from '../../src/peer/packets.js';

const pm = (origin: string, seq: number): PeerMessagePacket => ({ type: 'peer-message', gid: `${origin}:${seq}`, origin, seq, uid: null, username: 'u', subject: null, content: `c${seq}`, room: 'lobby', to: null, timestamp: seq, key: Buffer.alloc(32), sig: Buffer.alloc(64), box_key: null, prev: null, to_peer: null, box: null });
const local = (content: string, uid: string | null = null) => ({ uid, username: 'me', room: 'lobby', to: null, subject: null, content, timestamp: 1 });

test('per origin: the next sequence is new, one at or below is a duplicate, one beyond is a gap', () => {
  const s = new PeerStore(':memory:');
  assert.equal(s.accept(pm('aaaa', 7)), 'new', 'an unknown origin may start anywhere (history window)');
  assert.equal(s.accept(pm('aaaa', 7)), 'duplicate');
  assert.equal(s.accept(pm('aaaa', 9)), 'gap');
  assert.equal(s.accept(pm('aaaa', 8)), 'new');
  assert.deepEqual(s.have(), { aaaa: 8 });
});

test('own messages are numbered in order; a repeated (user, uid) returns the original', async () => {
  const s = new PeerStore(':memory:');
  const r = await s.append([local('one', 'u1'), local('two', 'u2'), local('one again', 'u1')]);
  assert.deepEqual(r.map((x) => x.duplicate), [false, false, true]);
  assert.equal(r[2]!.message.content, 'one');
  const again = await s.append([local('one', 'u1'), local('three')]);
  assert.equal(again[0]!.duplicate, true);
  assert.deepEqual(s.have(), { [s.peerId]: 3 });
  assert.deepEqual(s.after(0, 10).map((m) => [m.origin === s.peerId, m.seq, m.content]), [[true, 1, 'one'], [true, 2, 'two'], [true, 3, 'three']]);
});

test('the peer id and the have map survive a reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab93-peer-store-'));
  try {
    const path = join(dir, 'p.db');
    const s = new PeerStore(path);
    await s.append([local('x')]);
    s.accept(pm('bbbb', 1));
    s.insertRemote([pm('bbbb', 1)]);
    const id = s.peerId;
    await s.close();
    const t = new PeerStore(path);
    assert.equal(t.peerId, id);
    assert.deepEqual(t.have(), { [id]: 1, bbbb: 1 });
    assert.equal(t.accept(pm('bbbb', 1)), 'duplicate');
    await t.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a gid seen before is not stored twice, and lookups for catch-up find the first message to send', () => {
  const s = new PeerStore(':memory:');
  s.accept(pm('cccc', 1));
  s.accept(pm('cccc', 2));
  const r = s.insertRemote([pm('cccc', 1), pm('cccc', 2), { ...pm('cccc', 3), gid: 'cccc:1' }]);
  assert.deepEqual(r.map((m) => m?.seq ?? null), [1, 2, null]);
  assert.equal(s.firstIdAfterSeq('cccc', 1), r[1]!.id);
  assert.equal(s.firstIdAfterId('cccc', r[0]!.id), r[1]!.id);
  assert.equal(s.firstIdAfterSeq('cccc', 2), undefined);
});

test('past maxMessages the oldest messages of other origins are pruned, never our own; a pruned origin stays known', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab93-peer-store-'));
  try {
    const path = join(dir, 'p.db');
    const s = new PeerStore(path);
    s.maxMessages = 20;
    await s.append(Array.from({ length: 5 }, (_, i) => local(`own ${i}`)));
    for (let i = 1; i <= 10; i++) s.accept(pm('dddd', i));
    s.insertRemote(Array.from({ length: 10 }, (_, i) => pm('dddd', i + 1)));
    for (let i = 1; i <= 10; i++) s.accept(pm('eeee', i));
    s.insertRemote(Array.from({ length: 10 }, (_, i) => pm('eeee', i + 1)));
    // 25 > 20: pruned down to 19, the oldest first: all of dddd's first six.
    assert.equal(s.size, 19);
    const left = s.after(0, 100);
    assert.equal(left.filter((m) => m.origin === s.peerId).length, 5);
    assert.deepEqual(left.filter((m) => m.origin === 'dddd').map((m) => m.seq), [7, 8, 9, 10]);
    // Our own alone past the limit: kept all the same (never refused, never pruned).
    await s.append(Array.from({ length: 30 }, (_, i) => local(`more ${i}`)));
    assert.equal(s.after(0, 100).filter((m) => m.origin !== s.peerId).length, 0);
    assert.equal(s.size, 35);
    await s.close();
    const t = new PeerStore(path);
    assert.deepEqual({ ...t.have() }, { [t.peerId]: 35, dddd: 10, eeee: 10 }, 'the have of pruned origins survives a reopen');
    assert.equal(t.accept(pm('dddd', 3)), 'duplicate');
    await t.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an origin\'s own word removes what others claimed in its name, never what it sent itself', () => {
  const s = new PeerStore(':memory:');
  const put = (origin: string, seqs: number[], via: string): void => {
    for (const q of seqs) assert.equal(s.accept(pm(origin, q)), 'new');
    s.insertRemote(seqs.map((q) => ({ ...pm(origin, q), via })));
  };
  put('xxxx', [1, 2, 3], 'mmmm');
  assert.equal(s.purgeAbove('xxxx', 0), 3);
  assert.equal(s.haveOf('xxxx'), undefined, 'unknown again: its real first message is new');
  assert.equal(s.accept(pm('xxxx', 1)), 'new');
  s.insertRemote([{ ...pm('xxxx', 1), gid: 'real-1', via: 'xxxx' }]);
  put('xxxx', [2, 3], 'mmmm');
  assert.equal(s.purgeAbove('xxxx', 1), 2);
  assert.equal(s.haveOf('xxxx'), 1);
  assert.deepEqual(s.after(0, 10).map((m) => m.gid), ['real-1']);
  // What it sent us itself is not undone by a later (odd) claim of less.
  put('xxxx', [2], 'xxxx');
  assert.equal(s.purgeAbove('xxxx', 0), null);
  assert.equal(s.haveOf('xxxx'), 2);
});

test('places reserved by accept() are given back when the insert fails', () => {
  const s = new PeerStore(':memory:');
  s.accept(pm('ffff', 1));
  s.insertRemote([pm('ffff', 1)]);
  s.accept(pm('ffff', 2));
  s.accept(pm('gggg', 9));
  s.forget([pm('ffff', 2), pm('gggg', 9)]);
  assert.deepEqual({ ...s.have() }, { ffff: 1 });
});

test('a sealed DM: the row is stored as signed (box, no content), the plaintext apart; after a reopen the next message links to it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab93-peer-seal-'));
  const path = join(dir, 'p.db');
  const me = generateIdentity();
  const s = new PeerStore(path, 'full', me);
  assert.equal(s.sealTargetOf('bob'), null, 'no key bound to bob');
  s.nameOf('bob', me.signPublic, 1);
  const [r] = s.appendSync([{ ...local('for bob only'), to: 'bob', subject: 'hush' }]);
  const m = r!.message as PeerStoredMessage;
  assert.deepEqual([m.content, m.subject, m.opened, m.toPeer], ['for bob only', 'hush', true, me.peerId]);
  const raw = s.db.prepare(`SELECT content, subject FROM messages WHERE id = ?`).get(m.id);
  assert.deepEqual(raw, { content: '', subject: null });
  // The stored row verifies as signed: box and to_peer, null content and subject.
  assert.ok(verifyMessage(signedFieldsOf(m, m.boxKey!, m.prev), me.signPublic, m.sig!).ok);
  await s.close();
  const again = new PeerStore(path, 'full', me);
  assert.deepEqual(again.openedDirect().map((x) => [x.subject, x.content]), [['hush', 'for bob only']]);
  const [n] = again.appendSync([local('next')]);
  const link = messageLink(signedFieldsOf(m, m.boxKey!, m.prev), m.sig!);
  assert.ok(link.ok && (n!.message as PeerStoredMessage).prev!.equals(link.value), 'the chain goes on through the DM');
  await again.close();
  rmSync(dir, { recursive: true, force: true });
});
