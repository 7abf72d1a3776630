/**
 * Peers in one process over real TCP on loopback, discovery off (links by --peer): one link per
 * pair when both dial, catch-up and the history window, bad input and a flooding peer, the
 * ChatBackend. The multi-host behaviour is in peer-netns.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PeerBackend } from '../../src/peer/backend.js';
import type { PeerStoredMessage } from '../../src/peer/peer-store.js';
import { shortFingerprint } from '../../src/peer/identity.js';
import { TestMesh, hello, msg, post, rawPeer, until, idOf } from '../helpers/peer-nodes.js';

const mesh = new TestMesh();
after(() => mesh.close());
const node = mesh.node.bind(mesh);

test('both dialling at once leaves one link per pair, the same one on both sides', async () => {
  const a = node('a');
  const b = node('b');
  await Promise.all([a.start(), b.start()]);
  a.addManualPeer('127.0.0.1', b.port);
  b.addManualPeer('127.0.0.1', a.port);
  await until(() => a.links.size === 1 && b.links.size === 1, 5000, 'links');
  // Let the second connection finish its hello and be closed as the duplicate.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.links.size, 1);
  assert.equal(b.links.size, 1);
  const la = a.links.get(b.peerId)!;
  const lb = b.links.get(a.peerId)!;
  assert.equal(la.conn.socket.localPort, lb.conn.socket.remotePort, 'both kept the same TCP connection');
  const lower = a.peerId < b.peerId ? la : lb;
  assert.equal(lower.direction, 'out', 'the connection dialled by the lower peer id survives');
});

test('a newcomer receives the history window, then everything new; a returning peer all it missed', async () => {
  const a = node('hist-a', { historyWindow: 10 });
  await a.start();
  for (let i = 1; i <= 30; i++) await post(a, `old ${i}`);
  const c = node('hist-c', { peers: [{ host: '127.0.0.1', port: a.port }] });
  const got: string[] = [];
  c.on('message', (m: PeerStoredMessage, info: { missed: boolean }) => got.push(`${m.content}${info.missed ? ' (missed)' : ''}`));
  await c.start();
  await until(() => got.length >= 10, 5000, 'window');
  await post(a, 'new 1');
  await until(() => got.includes('new 1'), 5000, 'live message');
  assert.deepEqual(got, [...Array.from({ length: 10 }, (_, i) => `old ${21 + i} (missed)`), 'new 1']);

  // c goes away; a talks; c comes back with the same store: everything it missed, once, in order.
  const dbPath = c.opts.dbPath;
  await c.close();
  for (let i = 2; i <= 40; i++) await post(a, `new ${i}`);
  const c2 = node('hist-c2', { dbPath, peers: [{ host: '127.0.0.1', port: a.port }] });
  const got2: string[] = [];
  c2.on('message', (m: PeerStoredMessage) => got2.push(m.content));
  await c2.start();
  assert.equal(c2.peerId, c.peerId, 'the store keeps the peer id');
  await until(() => got2.length >= 39, 5000, 'catch-up');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(got2, Array.from({ length: 39 }, (_, i) => `new ${i + 2}`));
});

test('bad input from a peer gets an error frame and a close, and harms nothing else', async () => {
  const a = node('bad-a');
  await a.start();
  const b = node('bad-b', { peers: [{ host: '127.0.0.1', port: a.port }] });
  await b.start();
  await until(() => a.links.size === 1, 5000, 'a-b link');

  // A bad hello: error, close.
  const p1 = await rawPeer(a.port);
  p1.send({ type: 'peer-hello', peer_id: 'x', version: 2 });
  await p1.closed;
  assert.equal(p1.lines[0]?.type, 'error');
  assert.equal(p1.lines[0]?.code, 'bad_packet');

  // After a good hello: wrong fields, unknown types and garbage get errors, not stored.
  const p2 = await rawPeer(a.port);
  p2.send(hello('feedfacefeedface'));
  await until(() => p2.lines.some((l) => l.type === 'peer-synced'), 5000, 'synced');
  p2.send({ ...msg('feedfacefeedface', 1), seq: -1 });
  p2.send({ ...msg('feedfacefeedface', 1), content: 'x'.repeat(5000) });
  p2.send({ type: 'no-such-thing' });
  p2.s.write('{not json\n');
  await until(() => p2.lines.filter((l) => l.type === 'error').length >= 4, 5000, 'four errors');
  assert.deepEqual(p2.lines.filter((l) => l.type === 'error').map((l) => l.code), ['bad_packet', 'too_large', 'unknown_type', 'bad_frame']);
  // A gap (seq 5 of an origin we hold up to 1) is not stored; we tell the peer what we have.
  p2.send(msg('feedfacefeedface', 1));
  p2.send(msg('feedfacefeedface', 5));
  await until(() => p2.lines.some((l) => l.type === 'peer-have'), 5000, 'peer-have');
  // Only what gapped, not our whole have map (a gap must not buy a large answer).
  assert.deepEqual(p2.lines.find((l) => l.type === 'peer-have').have, { [idOf('feedfacefeedface')]: 1 });
  assert.equal(a.store.haveOf(idOf('feedfacefeedface')), 1);
  // Too many errors close the link.
  for (let i = 0; i < 30; i++) p2.send({ type: 'nope' });
  await p2.closed;

  // Meanwhile the real link works.
  const seen: string[] = [];
  b.on('message', (m: PeerStoredMessage) => seen.push(m.content));
  await post(a, 'still fine');
  await until(() => seen.includes('still fine'), 5000, 'b still receives');
  await until(() => b.store.haveOf(idOf('feedfacefeedface')) === 1, 5000, 'the valid message of the bad peer relayed to b');
});

test('a flooding peer is slowed down, loses nothing and does not hold up other links', async () => {
  const a = node('flood-a', { originRate: 200, originBurst: 50 });
  await a.start();
  const b = node('flood-b', { peers: [{ host: '127.0.0.1', port: a.port }] });
  await b.start();
  await until(() => a.links.size === 1, 5000, 'a-b link');
  const f = await rawPeer(a.port);
  f.send(hello('f100d00df100d00d'));
  await until(() => f.lines.some((l) => l.type === 'peer-synced'), 5000, 'synced');
  const t0 = Date.now();
  for (let i = 1; i <= 250; i++) f.send(msg('f100d00df100d00d', i));
  // While the flood is throttled, b's message still crosses a at once.
  const atB: string[] = [];
  b.on('message', (m: PeerStoredMessage) => atB.push(m.content));
  await new Promise((r) => setTimeout(r, 100));
  const tb = Date.now();
  await post(b, 'from b during the flood');
  await until(() => a.store.recentSync(500).some((m) => m.content === 'from b during the flood'), 2000, 'b message at a');
  assert.ok(Date.now() - tb < 500, 'other links are not held up');
  await until(() => a.store.haveOf(idOf('f100d00df100d00d')) === 250, 10_000, 'all 250 stored');
  const elapsed = Date.now() - t0;
  // 50 at once, then 200 a second: at least about a second for the other 200.
  assert.ok(elapsed >= 800, `rate limited (took ${elapsed} ms)`);
  await until(() => atB.filter((c) => /^m\d+$/.test(c)).length === 250, 5000, 'relayed to b');
  f.s.destroy();
});

test('the ChatBackend: send, acked, messages from others, /who, /peers', async () => {
  const a = node('ui-a');
  const ba = new PeerBackend(a, ['lobby']);
  await ba.start();
  const b = node('ui-b', { peers: [{ host: '127.0.0.1', port: a.port }] });
  const bb = new PeerBackend(b, ['lobby']);
  const received: Array<{ content: string; missed: boolean }> = [];
  bb.on('message', (m: { content: string }, info: { missed: boolean }) => received.push({ content: m.content, missed: info.missed }));
  await bb.start();
  await until(() => bb.peers().length === 1, 5000, 'peers');
  assert.equal(bb.peers()[0]!.name, 'ui-a');
  await until(() => bb.peers()[0]!.users.includes('ui-a'), 5000, 'users behind the peer');
  // Each with the short fingerprint of the key that vouches for them.
  assert.deepEqual(await bb.who('lobby'), [`ui-a#${shortFingerprint(a.identity.signPublic)}`, `ui-b#${shortFingerprint(b.identity.signPublic)}`]);
  const acked = once(ba, 'acked');
  const uid = ba.send({ content: 'hello from the UI', room: 'lobby' });
  const [ackUid] = await acked;
  assert.equal(ackUid, uid);
  await until(() => received.some((r) => r.content === 'hello from the UI'), 5000, 'ui message');
  assert.deepEqual(received, [{ content: 'hello from the UI', missed: false }]);
  // Too long: refused before it is stored (it would be refused by every peer).
  const failed = once(ba, 'failed');
  ba.send({ content: 'x'.repeat(5000), room: 'lobby' });
  const [, why] = await failed;
  assert.match(String(why), /too_large/);
  assert.deepEqual(ba.recent(5).map((m) => m.content), ['hello from the UI']);
});
