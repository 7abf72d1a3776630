/**
 * Broadcast mode you can trust (issue 10): what a rogue link tries with signed messages and
 * proved hellos, against real peers in this process (loopback TCP); network keys over real mDNS
 * on loopback between peer processes; identities that belong to a profile, not to a port.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { toB64url } from '../../src/peer/canonical.js';
import { deriveNetworkKey, displayName, newChallenge, safetyNumber } from '../../src/peer/identity.js';
import { PeerBackend } from '../../src/peer/backend.js';
import { PeerStore } from '../../src/peer/peer-store.js';
import { TestMesh, idOf, identityOf, linkedRawPeer, msg, post, rawPeer, signed, until } from '../helpers/peer-nodes.js';
import { PeerProc } from '../helpers/peer-proc.js';
import { freeUdpPort } from '../helpers/udp.js';

const mesh = new TestMesh();
const procs: PeerProc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await mesh.close();
});

const contents = (p: { store: PeerStore }): string[] => p.store.recentSync(10_000).map((m) => m.content);

test('a rogue link: forged origin, replay under another origin, altered field: every peer drops it, the real peers keep chatting', async () => {
  const a = mesh.node('rogue-a');
  await a.start();
  const b = mesh.node('rogue-b', { peers: [{ host: '127.0.0.1', port: a.port }] });
  await b.start();
  await until(() => a.links.size === 1 && b.links.size === 1, 5000, 'a-b link');
  // c has not linked yet, so nothing of a is a duplicate there: each copy costs a verification.
  const c = mesh.node('rogue-c');
  await c.start();

  const spy = await linkedRawPeer(a.port, 'spy00001');
  await post(a, 'real from a');
  await until(() => spy.lines.some((l) => l.type === 'peer-message' && l.content === 'real from a'), 5000, 'the spy sees a real message');
  const real = spy.lines.find((l) => l.type === 'peer-message' && l.content === 'real from a');

  const m = await linkedRawPeer(c.port, 'mallory1');
  const mid = idOf('mallory1');
  const attempts = [
    msg(a.peerId, 2, 'forged under a'), // a's origin, signed with another key
    { ...real, origin: mid, gid: `${mid}:1` }, // replayed under mallory's own origin
    { ...real, content: 'altered by mallory' }, // a signed field changed
    { ...real, timestamp: 1_900_000_000 }, // the date changed
    signed({ gid: `${a.peerId}:1`, origin: a.peerId, seq: 1, uid: null, username: 'teacher', room: 'lobby', to: null, subject: null, content: 'from teacher', timestamp: 1_900_000_000 }, identityOf('mallory1')),
  ];
  // One at a time: a message is verified with the rest of its turn, and until then its place is
  // held, so a second claim of the same seq in that turn would only be a repeat.
  for (const [i, x] of attempts.entries()) {
    m.send(x);
    await until(() => m.lines.filter((l) => l.type === 'error' && l.code === 'bad_signature').length === i + 1, 5000, `forgery ${i + 1} refused`);
  }
  assert.equal(c.store.haveOf(a.peerId), undefined, 'nothing stored under a');
  assert.equal(c.store.haveOf(mid), undefined, 'nothing stored under mallory');
  assert.equal(c.links.get(mid)!.refusals.totals.get('bad_signature'), attempts.length, 'counted on the link');
  // The untouched copy, relayed by the same rogue, is authentic: the signature decides, not the relay.
  m.send(real);
  await until(() => contents(c).includes('real from a'), 5000, 'the real message stored at c');

  // The real peers keep chatting, and none of it reached them.
  await post(b, 'b still here');
  await until(() => contents(a).includes('b still here'), 5000, 'b reaches a');
  for (const p of [a, b, c]) assert.ok(!contents(p).some((t) => /forged|altered|teacher/.test(t)), `${p.opts.username} stored no forgery`);
  m.s.destroy();
  spy.s.destroy();
});

test('a hello claiming a key it does not hold is refused (bad_proof), so its origin cannot be taken', async () => {
  const a = mesh.node('claim-a');
  await a.start();
  const b = mesh.node('claim-b');
  await b.start();
  const r = await rawPeer(a.port);
  // b's key and peer id, but not b's private key: the proof is 64 random bytes.
  r.send({ type: 'peer-hello', peer_id: b.peerId, name: 'bob', version: 2, port: null, have: {}, users: [], key: toB64url(b.identity.signPublic), box_key: toB64url(b.identity.boxPublic), challenge: toB64url(newChallenge()) });
  await until(() => r.lines.some((l) => l.type === 'peer-hello'), 5000, 'a answers the hello');
  r.send({ type: 'peer-auth', sig: toB64url(randomBytes(64)) });
  await r.closed;
  assert.equal(r.lines.find((l) => l.type === 'error')?.code, 'bad_proof');
  assert.equal(a.links.size, 0, 'no link under b\'s id');
  // A proof replayed from another connection fails too (fresh challenges): the real b links.
  const b2 = mesh.node('claim-b2', { peers: [{ host: '127.0.0.1', port: a.port }] });
  await b2.start();
  await until(() => a.links.has(b2.peerId), 5000, 'a real peer links');
});

test('an unsigned message (as every peer sent before) is refused; rows from before signatures stay readable and are never sent', async () => {
  // A store written without keys holds unsigned rows, as stores from before this change do.
  const path = join(mesh.dir, 'old.db');
  const old = new PeerStore(path);
  old.appendSync([{ uid: null, username: 'olduser', room: 'lobby', to: null, subject: null, content: 'from before signatures', timestamp: 1 }]);
  await old.close();
  const a = mesh.node('old-a', { dbPath: path });
  await a.start();
  assert.ok(contents(a).includes('from before signatures'), 'the old row is readable');
  assert.equal(a.store.recentSync(10).find((m) => m.content === 'from before signatures')?.sig, null, 'marked unsigned');
  const b = mesh.node('old-b', { peers: [{ host: '127.0.0.1', port: a.port }] });
  await b.start();
  await post(a, 'signed now');
  await until(() => contents(b).includes('signed now'), 5000, 'new messages cross');
  assert.ok(!contents(b).includes('from before signatures'), 'the unsigned row is not sent');

  const m = await linkedRawPeer(a.port, 'unsigned1');
  const { key: _k, sig: _s, ...bare } = msg('unsigned1', 1, 'no signature') as Record<string, unknown>;
  m.send(bare);
  await until(() => m.lines.some((l) => l.type === 'error' && l.code === 'bad_signature'), 5000, 'refused');
  assert.ok(!contents(a).includes('no signature'));
  m.s.destroy();
});

test('network keys: peers with different keys on one LAN never link, peers with the same key do (mDNS on loopback)', async () => {
  const env = { LAB93_MDNS_INTERFACES: 'lo', LAB93_MDNS_PORT: String(await freeUdpPort()) };
  const a = new PeerProc({ name: 'ann', port: 0, env, args: ['--network-key', 'maple river seven'] });
  const b = new PeerProc({ name: 'ben', port: 0, env: { ...env, LAB93_NETWORK_KEY: 'maple river seven' } });
  const c = new PeerProc({ name: 'cat', port: 0, env, args: ['--network-key', 'other class words'] });
  const d = new PeerProc({ name: 'dan', port: 0, env });
  procs.push(a, b, c, d);
  const [ia, ib, ic, id] = await Promise.all([a, b, c, d].map((p) => p.ready(45_000)));
  await Promise.all([a.waitLinked([ib.peer], 15_000), b.waitLinked([ia.peer], 15_000)]);
  // c and d hear the others' announcements (a shared mDNS port) but their tags differ: never dialled.
  const heard = (p: PeerProc) => p.log.lines.some((l) => l.msg === 'discovery: found');
  await until(() => heard(c) && heard(d), 10_000, 'c and d hear announcements');
  // And dialled by hand, the hello MAC refuses the link whichever side dials.
  const k = deriveNetworkKey('maple river seven');
  assert.ok(k.ok);
  const x = mesh.node('netkey-x', { networkKey: k.value, peers: [{ host: '127.0.0.1', port: ic.port }, { host: '127.0.0.1', port: id.port }] });
  const refused: string[] = [];
  x.on('refused', (_p: unknown, r: { reason: string }) => refused.push(r.reason));
  await x.start();
  const y = mesh.node('netkey-y', { networkKey: k.value, peers: [{ host: '127.0.0.1', port: ia.port }] });
  await y.start();
  await until(() => y.links.has(ia.peer), 10_000, 'the same key links by hand too');
  await until(() => refused.filter((r) => r === 'wrong_network').length >= 2, 10_000, 'both other meshes refused');
  for (const p of [c, d]) {
    assert.ok(!p.log.lines.some((l) => l.msg === 'peer link up'), `${p.name} linked to nobody`);
  }
  assert.equal(x.links.size, 0);
  void ic;
  void id;
});

test('identity belongs to the profile, not the port: restarted in another order, two peers of one user keep theirs', async () => {
  const dataDir = join(mesh.dir, 'profiles');
  const env = { LAB93_DATA_DIR: dataDir };
  const base = 20_000 + Math.floor(Math.random() * 20_000);
  const start = async (profile: string) => {
    const p = new PeerProc({ name: 'sam', port: base, env, args: ['--no-discovery', '--profile', profile] });
    procs.push(p);
    return { p, info: await p.ready(30_000) };
  };
  const w1 = await start('work');
  const h1 = await start('home');
  assert.notEqual(w1.info.peer, h1.info.peer, 'two profiles, two identities');
  await Promise.all([w1.p.stop(), h1.p.stop()]);
  const h2 = await start('home');
  const w2 = await start('work');
  assert.equal(h2.info.peer, h1.info.peer, 'home keeps its identity on another port');
  assert.equal(w2.info.peer, w1.info.peer, 'work keeps its identity');
  assert.notEqual(h2.info.port, h1.info.port, 'the ports were swapped');
  await Promise.all([w2.p.stop(), h2.p.stop()]);
});

test('names are bound to keys on first use: a reused name with another key is shown as another person, told once', async () => {
  const a = mesh.node('tofu-a');
  const ui = new PeerBackend(a, ['lobby']);
  const shown: string[] = [];
  const notices: string[] = [];
  ui.on('message', (m: { username: string; content: string }) => shown.push(`${m.username}: ${m.content}`));
  ui.on('notice', (t: string) => notices.push(t));
  await ui.start();
  const say = (label: string, seq: number, content: string) => signed({ gid: `${idOf(label)}:${seq}`, origin: idOf(label), seq, uid: null, username: 'alice', room: 'lobby', to: null, subject: null, content, timestamp: 1 }, identityOf(label));
  const first = await linkedRawPeer(a.port, 'alice-first');
  first.send(say('alice-first', 1, 'hello, I am alice'));
  await until(() => shown.length === 1, 5000, 'the first alice shown');
  const other = await linkedRawPeer(a.port, 'alice-other');
  other.send(say('alice-other', 1, 'I am alice too'));
  other.send(say('alice-other', 2, 'really'));
  await until(() => shown.length === 3, 5000, 'the other alice shown');
  const tag = displayName('alice', identityOf('alice-other').signPublic);
  assert.match(tag, /^alice#[0-9a-f]{4,}$/);
  assert.deepEqual(shown, ['alice: hello, I am alice', `${tag}: I am alice too`, `${tag}: really`]);
  assert.equal(notices.filter((t) => t.startsWith('another alice')).length, 1, 'one notice');
  // Confirmed out loud (/trust alice <safety number>): the other key is alice from now on.
  assert.match(ui.trust('alice', '1234 5678 9012 3456 7890 1234'), /none of the 2 key/);
  assert.match(ui.trust('alice', safetyNumber(identityOf('alice-other').signPublic)), /^alice is now alice#/);
  other.send(say('alice-other', 3, 'trusted now'));
  first.send(say('alice-first', 2, 'and me?'));
  await until(() => shown.length === 5, 5000, 'both shown again');
  assert.deepEqual(shown.slice(3), ['alice: trusted now', `${displayName('alice', identityOf('alice-first').signPublic)}: and me?`]);
  first.s.destroy();
  other.s.destroy();
  await ui.close();
});
