/**
 * Private direct messages between peers (issue 10, part 4): a DM is sealed to the peer its
 * recipient's name is bound to and to its sender, so relays and newcomers hold only ciphertext,
 * while the two ends show the plaintext. Real peers in this process over loopback TCP.
 *
 * What a peer shows for DMs is read through `PeerBackend.directMessages()` (the same rows the
 * UI shows, from `PeerStore.openedDirect()`).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { toB64url, type SignedFields } from '../../src/peer/canonical.js';
import { safetyNumber, signMessage, type PeerIdentity } from '../../src/peer/identity.js';
import { PeerBackend } from '../../src/peer/backend.js';
import type { PeerNode } from '../../src/peer/node.js';
import { sealDm } from '../../src/peer/seal.js';
import { TestMesh, idOf, identityOf, linkedRawPeer, post, until } from '../helpers/peer-nodes.js';

const mesh = new TestMesh();
after(() => mesh.close());

/** A backend with what it showed: messages (`from: content`) and notices. */
async function ui(node: PeerNode): Promise<{ b: PeerBackend; shown: string[]; notices: string[] }> {
  const b = new PeerBackend(node, ['lobby']);
  const shown: string[] = [];
  const notices: string[] = [];
  b.on('message', (m: { username: string; content: string }) => shown.push(`${m.username}: ${m.content}`));
  b.on('notice', (t: string) => notices.push(t));
  await b.start();
  return { b, shown, notices };
}

/** Sends and waits for the ack (or the refusal, returned as its reason). */
async function send(b: PeerBackend, content: string, to: string | null = null): Promise<string | null> {
  const acked = once(b, 'acked');
  const failed = once(b, 'failed');
  const uid = b.send({ content, room: 'lobby', ...(to ? { to } : {}) });
  const [which, args] = await Promise.race([acked.then((a) => ['acked', a] as const), failed.then((a) => ['failed', a] as const)]);
  assert.equal(args[0], uid);
  return which === 'failed' ? String(args[1]) : null;
}

/** Every byte of a store on disk: the database and its write-ahead log. */
function storeBytes(node: PeerNode): Buffer {
  const path = node.opts.dbPath;
  return Buffer.concat([path, `${path}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

/** A DM of the fake peer `label` sealed to `readers` (its wire form), signed with its key. */
function sealedFrom(label: string, seq: number, to: string, toPeer: string, content: string, readers: Buffer[]): object {
  const i: PeerIdentity = identityOf(label);
  const gid = `${i.peerId}:${seq}`;
  const box = sealDm({ gid, origin: i.peerId, username: 'mallory', to, to_peer: toPeer }, { subject: null, content }, readers);
  assert.ok(box.ok);
  const f: SignedFields = { gid, origin: i.peerId, seq, uid: null, username: 'mallory', room: 'lobby', to, subject: null, content: null, timestamp: 1, prev: null, box_key: i.boxPublic, to_peer: toPeer, box: box.value };
  const sig = signMessage(i, f);
  assert.ok(sig.ok);
  return { type: 'peer-message', gid, origin: i.peerId, seq, uid: null, username: 'mallory', room: 'lobby', to, timestamp: 1, to_peer: toPeer, box: toB64url(box.value), key: toB64url(i.signPublic), box_key: toB64url(i.boxPublic), sig: toB64url(sig.value.sig) };
}

test('a DM from A to C relayed through B: B stores only ciphertext, C and A show the plaintext, a newcomer gets no readable DM', async () => {
  const b = mesh.node('relay-b');
  await b.start();
  const a = mesh.node('alice', { peers: [{ host: '127.0.0.1', port: b.port }] });
  const c = mesh.node('carol', { peers: [{ host: '127.0.0.1', port: b.port }] });
  const ua = await ui(a);
  const uc = await ui(c);
  await until(() => b.links.size === 2, 10_000, 'a-b and c-b linked');
  assert.equal(a.links.has(c.peerId), false, 'no a-c link: everything goes through b');

  // Nobody named carol has been seen at a yet (c is two hops away): refused, never sent in clear.
  const why = await send(ua.b, 'too early', 'carol');
  assert.match(why ?? '', /^no_key: carol has no known key yet/);
  assert.ok(ua.notices.some((t) => t.startsWith('message not sent: carol has no known key yet')), 'the user is told why');

  // carol writes: her name is bound to c's key at a, with c's X25519 key from the signed message.
  assert.equal(await send(uc.b, 'carol here'), null);
  await until(() => ua.shown.includes('carol: carol here'), 10_000, 'carol seen at a');
  const secret = 'the secret is xyzzy-4711';
  assert.equal(await send(ua.b, secret, 'carol'), null);

  // C shows it, as a DM from alice; A shows its own.
  await until(() => uc.shown.includes(`alice: ${secret}`), 10_000, 'c shows the DM');
  const atC = uc.b.directMessages();
  assert.deepEqual(atC.map((m) => [m.username, m.to, m.content]), [['alice', 'carol', secret]]);
  assert.deepEqual(ua.b.directMessages().map((m) => [m.username, m.to, m.content]), [['alice', 'carol', secret]]);
  assert.deepEqual(uc.b.recent(10).map((m) => m.content), ['carol here', secret], 'in c\'s local history too');

  // B relayed it, sealed: its row holds the box, no content, no opened copy; no byte of its files
  // (database and write-ahead log) holds the plaintext.
  await until(() => b.store.haveOf(a.peerId) === 1, 10_000, 'b stored the DM');
  const rows = b.store.db.prepare(`SELECT recipient, subject, content, length(box) AS boxLen, to_peer FROM messages WHERE origin = ?`).all(a.peerId) as Array<{ recipient: string; subject: string | null; content: string; boxLen: number; to_peer: string }>;
  assert.deepEqual(rows.map((r) => [r.recipient, r.subject, r.content, r.to_peer]), [['carol', null, '', c.peerId]]);
  assert.ok(rows[0]!.boxLen > secret.length, 'the box is there');
  assert.equal(b.store.db.prepare(`SELECT COUNT(*) FROM dm_plain`).pluck().get(), 0, 'b opened nothing');
  assert.equal(b.store.openedDirect().length, 0);
  assert.equal(storeBytes(b).includes(secret), false, 'no plaintext in b\'s files');
  assert.equal(storeBytes(b).includes('xyzzy'), false, 'not even part of it');
  // The check can fail: c's files do hold it (its opened copy).
  assert.equal(storeBytes(c).includes(secret), true, 'c keeps the plaintext it shows');
  assert.ok(!b.store.recentSync(100).some((m) => m.content.includes('xyzzy')));

  // A newcomer linking to B gets the history: the DM only sealed, as box and to_peer.
  const d = await linkedRawPeer(b.port, 'newcomer1');
  const dm = d.lines.find((l) => l.type === 'peer-message' && l.to === 'carol');
  assert.ok(dm, 'the sealed DM is part of the history');
  assert.equal(dm.content, undefined);
  assert.equal(dm.subject, undefined);
  assert.equal(dm.to_peer, c.peerId);
  assert.ok(!JSON.stringify(d.lines).includes('xyzzy'), 'nothing readable on the wire');
  assert.ok(d.lines.some((l) => l.type === 'peer-message' && l.content === 'carol here'), 'room messages come as before');
  d.s.destroy();
  // A real newcomer stores it sealed, and shows nothing of it.
  const e = mesh.node('dave', { peers: [{ host: '127.0.0.1', port: b.port }] });
  const ue = await ui(e);
  await until(() => e.store.haveOf(a.peerId) === 1, 10_000, 'e caught up');
  assert.equal(ue.b.directMessages().length, 0);
  assert.ok(!ue.b.recent(50).some((m) => m.to !== null), 'no DM shown at e');
  assert.equal(storeBytes(e).includes('xyzzy'), false, 'no plaintext in e\'s files');
  await Promise.all([ua.b, uc.b, ue.b].map((x) => x.close()));
});

test('a tampered box is dropped (bad_signature); a signed box that does not open at its recipient is not shown', async () => {
  const c = mesh.node('cora');
  const uc = await ui(c);
  const m = await linkedRawPeer(c.port, 'mallory-seal');
  const me = identityOf('mallory-seal');
  // cora is bound to c's key by c itself (its local user), so mallory addresses c.
  const good = sealedFrom('mallory-seal', 1, 'cora', c.peerId, 'an honest DM', [c.identity.boxPublic, me.boxPublic]) as Record<string, unknown>;
  const box = Buffer.from(good.box as string, 'base64url');
  box[box.length - 1]! ^= 1;
  m.send({ ...good, box: toB64url(box) });
  await until(() => m.lines.some((l) => l.type === 'error' && l.code === 'bad_signature'), 10_000, 'the altered box refused');
  assert.equal(c.store.haveOf(idOf('mallory-seal')), undefined, 'nothing stored');

  // Signed by its origin, but sealed to another key than c's: stored as relayed, never shown.
  m.send(sealedFrom('mallory-seal', 1, 'cora', c.peerId, 'sealed to the wrong key', [me.boxPublic]));
  await until(() => c.store.haveOf(idOf('mallory-seal')) === 1, 10_000, 'the second one stored');
  m.send(sealedFrom('mallory-seal', 2, 'cora', c.peerId, 'an honest DM', [c.identity.boxPublic, me.boxPublic]));
  await until(() => uc.shown.some((s) => s.endsWith(': an honest DM')), 10_000, 'an honest DM shown');
  assert.deepEqual(uc.b.directMessages().map((x) => x.content), ['an honest DM']);
  assert.ok(!uc.shown.some((s) => s.includes('wrong key') || s.includes('sealed direct message')), `not shown: ${JSON.stringify(uc.shown)}`);
  // A DM in clear (as peers sent before sealing) is refused outright.
  const clear: Record<string, unknown> = { ...(sealedFrom('mallory-seal', 3, 'cora', c.peerId, 'x', [me.boxPublic]) as Record<string, unknown>), content: 'in clear' };
  delete clear.box;
  delete clear.to_peer;
  m.send(clear);
  await until(() => m.lines.some((l) => l.type === 'error' && l.code === 'bad_packet' && /sealed/.test(l.message)), 10_000, 'a clear DM refused');
  assert.equal(c.store.haveOf(idOf('mallory-seal')), 2);
  m.s.destroy();
  await uc.b.close();
});

/** A repeater client of a peer on plain JSON lines (as `lab93 -r -c -a PEER` is). */
async function lineClient(port: number, username: string): Promise<{ got: any[]; send: (o: object) => void; close: () => void }> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.on('error', () => {});
  const got: any[] = [];
  createInterface({ input: s }).on('line', (l) => got.push(JSON.parse(l)));
  const send = (o: object): void => void s.write(JSON.stringify(o) + '\n');
  send({ type: 'hello', username, since: 0, rooms: ['lobby'] });
  await until(() => got.some((j) => j.type === 'synced'), 10_000, `${username} synced`);
  return { got, send, close: () => s.destroy() };
}

test('repeater clients of peers: a DM is sealed too (no_key before the name has a key), the recipient\'s client reads it', async () => {
  const b = mesh.node('hub-b');
  await b.start();
  const a = mesh.node('hub-a', { peers: [{ host: '127.0.0.1', port: b.port }] });
  const c = mesh.node('hub-c', { peers: [{ host: '127.0.0.1', port: b.port }] });
  await Promise.all([a.start(), c.start()]);
  await until(() => b.links.size === 2, 10_000, 'a-b and c-b linked');
  const ann = await lineClient(a.port, 'ann');
  const cid = await lineClient(c.port, 'cid');
  const reply = (uid: string) => until(() => ann.got.some((j) => j.uid === uid && (j.type === 'ack' || j.type === 'error')), 10_000, `answer to ${uid}`).then(() => ann.got.find((j) => j.uid === uid && (j.type === 'ack' || j.type === 'error')));
  ann.send({ type: 'message', uid: 'u1', to: 'cid', content: 'too early' });
  const r1 = await reply('u1');
  assert.equal(r1.type, 'error');
  assert.equal(r1.code, 'no_key');
  assert.match(r1.message, /^cid has no known key yet/);

  cid.send({ type: 'message', uid: 'c1', content: 'cid here' });
  await until(() => ann.got.some((j) => j.type === 'message' && j.content === 'cid here'), 10_000, 'cid seen at a');
  ann.send({ type: 'message', uid: 'u2', to: 'cid', subject: 'psst', content: 'sealed between clients' });
  assert.equal((await reply('u2')).type, 'ack');
  await until(() => cid.got.some((j) => j.type === 'message' && j.content === 'sealed between clients'), 10_000, 'cid reads it');
  const dm = cid.got.find((j) => j.type === 'message' && j.content === 'sealed between clients');
  assert.equal(dm.username, 'ann');
  assert.equal(dm.to, 'cid');
  assert.equal(dm.subject, 'psst', 'the subject is sealed and opened too');
  await until(() => b.store.haveOf(a.peerId) === 1, 10_000, 'b relayed it');
  for (const f of [b.opts.dbPath, `${b.opts.dbPath}-wal`]) if (existsSync(f)) assert.equal(readFileSync(f).includes('psst'), false, `no subject in ${f}`);
  assert.deepEqual(c.store.openedDirect().map((m) => [m.username, m.subject, m.content]), [['ann', 'psst', 'sealed between clients']]);
  ann.close();
  cid.close();
});

test('DMs written in clear before sealing (old stores) are never sent to another peer', async () => {
  const a = mesh.node('old-dm-a');
  await a.start();
  // A signed DM in clear, as peers stored them before DMs were sealed (inserted as relayed).
  const i = identityOf('old-dm-writer');
  const f: SignedFields = { gid: `${i.peerId}:1`, origin: i.peerId, seq: 1, uid: null, username: 'olga', room: 'lobby', to: 'oscar', subject: null, content: 'old clear dm', timestamp: 1, prev: null, box_key: i.boxPublic, to_peer: null, box: null };
  const sig = signMessage(i, f);
  assert.ok(sig.ok);
  a.store.insertRemote([{ type: 'peer-message', ...f, content: 'old clear dm', key: i.signPublic, sig: sig.value.sig }]);
  await post(a, 'a room message');
  const d = await linkedRawPeer(a.port, 'newcomer-old');
  assert.ok(d.lines.some((l) => l.type === 'peer-message' && l.content === 'a room message'), 'history arrived');
  assert.ok(!JSON.stringify(d.lines).includes('old clear dm'), 'the clear DM stayed home');
  d.s.destroy();
});

test('one name at several peers: a DM goes to the key the name is bound to; the namesake elsewhere gets nothing; /trust moves it', async () => {
  const b = mesh.node('multi-b');
  await b.start();
  const a = mesh.node('multi-a', { peers: [{ host: '127.0.0.1', port: b.port }] });
  const c1 = mesh.node('multi-c1', { peers: [{ host: '127.0.0.1', port: b.port }] });
  const c2 = mesh.node('multi-c2', { peers: [{ host: '127.0.0.1', port: b.port }] });
  const ua = await ui(a);
  await Promise.all([c1.start(), c2.start()]);
  await until(() => b.links.size === 3, 10_000, 'all linked to b');
  const first = await lineClient(c1.port, 'cy');
  first.send({ type: 'message', uid: 'f1', content: 'cy at c1' });
  await until(() => ua.shown.includes('cy: cy at c1'), 10_000, 'the first cy seen at a');
  const second = await lineClient(c2.port, 'cy');
  second.send({ type: 'message', uid: 's1', content: 'cy at c2' });
  await until(() => ua.shown.some((t) => t.endsWith(': cy at c2')), 10_000, 'the second cy seen at a');
  assert.ok(ua.shown.some((t) => /^cy#[0-9a-f]{4,}: cy at c2$/.test(t)), 'shown as another person');

  assert.equal(await send(ua.b, 'for the cy I know', 'cy'), null);
  await until(() => first.got.some((j) => j.type === 'message' && j.content === 'for the cy I know'), 10_000, 'the bound cy reads it');
  await until(() => c2.store.db.prepare(`SELECT COUNT(*) FROM messages WHERE origin = ?`).pluck().get(a.peerId) === 1, 10_000, 'c2 stored it');
  assert.equal(c2.store.openedDirect().length, 0, 'c2 cannot open it');
  // A round trip on the namesake's connection: anything delivered to it before is read by now.
  second.send({ type: 'message', uid: 's2', content: 'still here' });
  await until(() => second.got.some((j) => j.type === 'ack' && j.uid === 's2'), 10_000, 'the namesake\'s ack');
  assert.ok(!second.got.some((j) => j.type === 'message' && j.to === 'cy'), `the namesake at c2 is sent nothing of it: ${JSON.stringify(second.got.filter((j) => j.to))}`);

  // Confirmed out loud that cy is the one at c2: the next DM is sealed to c2.
  assert.match(ua.b.trust('cy', safetyNumber(c2.identity.signPublic)), /^cy is now/);
  assert.equal(await send(ua.b, 'now for the other cy', 'cy'), null);
  await until(() => second.got.some((j) => j.type === 'message' && j.content === 'now for the other cy'), 10_000, 'the trusted cy reads it');
  await until(() => c1.store.haveOf(a.peerId) === 2, 10_000, 'c1 has it too');
  assert.ok(!first.got.some((j) => j.content === 'now for the other cy'), 'the first cy cannot');
  assert.deepEqual(ua.b.directMessages().map((m) => m.content), ['for the cy I know', 'now for the other cy']);
  first.close();
  second.close();
  await ua.b.close();
});
