import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerStore } from '../../src/peer/peer-store.js';
import type { PeerMessagePacket } from '../../src/peer/packets.js';

const pm = (origin: string, seq: number): PeerMessagePacket => ({ type: 'peer-message', gid: `${origin}:${seq}`, origin, seq, uid: null, username: 'u', subject: null, content: `c${seq}`, room: 'lobby', to: null, timestamp: seq });
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
