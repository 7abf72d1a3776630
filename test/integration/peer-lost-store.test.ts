/**
 * A peer whose store is lost (the database deleted, the disk replaced) but whose identity file is
 * kept (docs/broadcast.md, "A lost store"): it is the same origin, and its neighbours hold its
 * old messages, so it must go on numbering after them, or every new message would be dropped
 * as a repeat of one they already hold. Real peers in this process over loopback TCP.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeIdentityFile } from '../../src/peer/identity-file.js';
import { KeyCache, generateIdentity, verifyBatch } from '../../src/peer/identity.js';
import type { PeerNode } from '../../src/peer/node.js';
import { PeerStore, signedFieldsOf, type PeerStoredMessage } from '../../src/peer/peer-store.js';
import { TestMesh, post, until } from '../helpers/peer-nodes.js';

const mesh = new TestMesh();
after(() => mesh.close());

const contents = (p: PeerNode): string[] => p.store.recentSync(10_000).map((m) => m.content);

/** Deletes a store the way a user would (the database and its -wal and -shm), keeping its identity file. */
function loseStore(dbPath: string): void {
  for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });
}

test('a peer that lost its store but kept its identity is heard again at once: its new messages reach the others', async () => {
  const b = mesh.node('lost-b');
  await b.start();
  // c hears alice only through b: the first message after the loss is relayed and verified there too.
  const c = mesh.node('lost-c', { peers: [{ host: '127.0.0.1', port: b.port }] });
  await c.start();
  const dbPath = join(mesh.dir, 'peer-alice.db');
  const a1 = mesh.node('alice', { dbPath, peers: [{ host: '127.0.0.1', port: b.port }] });
  await a1.start();
  await until(() => a1.links.size === 1 && c.links.size === 1, 10_000, 'alice-b and b-c links');
  for (const t of ['one', 'two', 'three']) await post(a1, t);
  await until(() => ['one', 'two', 'three'].every((t) => contents(c).includes(t)), 10_000, "alice's three messages at b and c");
  assert.deepEqual(contents(b), ['one', 'two', 'three']);
  const alice = a1.peerId;
  await a1.close();
  await until(() => b.links.size === 1, 10_000, 'b sees alice go');

  loseStore(dbPath);
  assert.ok(existsSync(join(mesh.dir, 'peer-alice.identity.json')), 'the identity file is kept');
  const a2 = mesh.node('alice', { dbPath, peers: [{ host: '127.0.0.1', port: b.port }] });
  await a2.start();
  assert.equal(a2.peerId, alice, 'the same identity');
  assert.deepEqual(contents(a2), [], 'its store is empty');
  await until(() => b.links.has(alice), 10_000, 'alice links to b again');

  const m = await post(a2, 'after the loss');
  // It goes on after what it wrote before, and cannot name the link hash of a message it lost.
  assert.equal(m.seq, 4, 'numbered after the three it wrote before the loss');
  assert.equal(m.prev, null);
  await until(() => contents(b).includes('after the loss'), 10_000, 'b shows the message written after the loss');
  await until(() => contents(c).includes('after the loss'), 10_000, 'c shows it too, relayed by b');
  // And the chain goes on from there: the next one names it.
  const n = await post(a2, 'and the next');
  assert.equal(n.seq, 5);
  assert.ok(n.prev !== null && n.prev !== undefined, 'the next message links to the first one after the loss');
  await until(() => contents(c).includes('and the next'), 10_000, 'c shows the next one');
  // A newcomer gets alice's history across the loss from b in one catch-up: the message with no
  // link back is checked by its own signature, not refused as a broken chain.
  const d = mesh.node('lost-d', { peers: [{ host: '127.0.0.1', port: b.port }] });
  await d.start();
  await until(() => contents(d).includes('and the next'), 10_000, 'the newcomer d is caught up');
  for (const p of [b, c, d]) {
    assert.deepEqual(contents(p), ['one', 'two', 'three', 'after the loss', 'and the next'], `${p.opts.username} has the old messages and the new ones, once`);
    assert.equal(p.stats.forged, 0, `${p.opts.username} refused nothing as forged`);
  }
  // b did not send alice her lost messages back (she would refuse them as her own origin).
  assert.equal(a2.links.get(b.peerId)?.refusals.totals.get('own origin'), undefined);
});

test('the identity file keeps up with the store: after each post, and at the first start of a file from before it recorded seqs', async () => {
  const dbPath = join(mesh.dir, 'peer-old.db');
  const idPath = join(mesh.dir, 'peer-old.identity.json');
  const lastSeq = (): number | undefined => JSON.parse(readFileSync(idPath, 'utf8')).last_seq;
  const a1 = mesh.node('old', { dbPath });
  await a1.start();
  assert.equal(lastSeq(), undefined, 'nothing numbered yet');
  await post(a1, 'first');
  assert.equal(lastSeq(), 1, 'recorded by the time the post is acknowledged');
  await Promise.all(['second', 'third'].map((t) => post(a1, t)));
  assert.equal(lastSeq(), 3);
  const identity = a1.identity;
  await a1.close();

  // As a file written before last_seq existed, beside a store that holds three messages.
  writeFileSync(idPath, encodeIdentityFile(identity), { mode: 0o600 });
  const a2 = mesh.node('old', { dbPath });
  assert.equal(lastSeq(), 3, 'caught up with the store at start');
  assert.equal(statSync(idPath).mode & 0o777, 0o600, 'still private');
  await a2.close();

  loseStore(dbPath);
  const a3 = mesh.node('old', { dbPath });
  await a3.start();
  const m = await post(a3, 'after the loss');
  assert.equal(m.seq, 4);
  assert.equal(lastSeq(), 4);
});

test('the store alone: after a jump its own numbering goes on from there with no link back, tells the highest seq once per batch, and remembers the jump', async () => {
  // A store restored from an old backup (it holds 1-2) whose identity wrote up to 5.
  const path = join(mesh.dir, 'backup.db');
  const me = generateIdentity();
  const line = (content: string) => ({ uid: null, username: 'alice', room: 'lobby', to: null, subject: null, content, timestamp: 1 });
  const s1 = new PeerStore(path, 'full', me);
  s1.appendSync([line('one'), line('two')]);
  s1.continueOwnAfter(5);
  assert.equal(s1.haveOf(me.peerId), 5, 'its have of itself says what it wrote');
  const told: number[] = [];
  s1.onOwnSeq = (seq) => told.push(seq);
  const [six, seven] = s1.appendSync([line('six'), line('seven')]).map((r) => r.message as PeerStoredMessage);
  assert.deepEqual([six!.seq, seven!.seq], [6, 7]);
  assert.equal(six!.prev, null, 'no link to a message it does not hold');
  assert.deepEqual(told, [7], 'once for the batch, with its highest seq');
  // What it receives verifies: the message without a link by its own signature, the next by the chain.
  const wire = [six!, seven!].map((m) => ({ m: signedFieldsOf(m, m.boxKey ?? null, m.prev ?? null), key: m.key!, sig: m.sig! }));
  assert.deepEqual(verifyBatch(wire, new KeyCache()).map((v) => v.ok), [true, true]);
  s1.continueOwnAfter(3);
  assert.equal(s1.haveOf(me.peerId), 7, 'never back');
  await s1.close();

  const s2 = new PeerStore(join(mesh.dir, 'jumped.db'), 'full', me);
  s2.continueOwnAfter(9);
  await s2.close();
  const s3 = new PeerStore(join(mesh.dir, 'jumped.db'), 'full', me);
  assert.equal(s3.haveOf(me.peerId), 9, 'the jump is remembered by the store too');
  assert.equal((s3.appendSync([line('ten')])[0]!.message as PeerStoredMessage).seq, 10);
  await s3.close();
});
