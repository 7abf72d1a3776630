/**
 * Broadcast mode you can trust (issue 10) across real hosts: peer processes in network
 * namespaces on Linux bridges, finding each other by mDNS (as peer-netns.test.ts), with a rogue
 * host on the LAN (test/helpers/rogue-peer.ts), two meshes with different network keys, a
 * second "alice" with another key seen in a real terminal (tmux), and sealed direct messages
 * relayed across LANs. The loopback versions are in peer-trust.test.ts and peer-seal.test.ts.
 *
 * Three LANs, one Lab for every test (each peer process costs seconds of CPU to start):
 *   bridge 0, no network key:  alice (a), bob (b), carol (c), uma in a terminal (u)
 *   bridge 1, network key KEY: sam (s), rob (rb)
 *   bridge 2, network key KEY: rob (rb), cid (rc), later the newcomer nan (rn)
 * kai (k, another key) is on bridges 0 and 2 and dials cid by hand; the rogue (r) is on
 * bridges 0 and 1 and knows KEY, so it holds real signed messages of sam the mesh of bridge 0
 * has never seen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toB64url } from '../../src/peer/canonical.js';
import { newChallenge, shortFingerprint } from '../../src/peer/identity.js';
import { identityOf, msg, signed } from '../helpers/fake-peer.js';
import { Lab, netnsUnavailable } from '../helpers/netns.js';
import { LineClient, PeerProc, RogueProc } from '../helpers/peer-proc.js';
import { Tmux, tmuxUnavailable } from '../helpers/tmux.js';

const why = netnsUnavailable();
if (why) console.log(`# skipping the network namespace trust tests: ${why}`);
const noTmux = why ? null : tmuxUnavailable();
if (noTmux) console.log(`# skipping the reused-name test in a terminal: ${noTmux}`);

// Inside the namespaces discovery runs on every interface (the test runner confines it to lo).
const ALL = { LAB93_MDNS_INTERFACES: 'all' };
const PORT = 5190;
const KEY = 'maple river seven';
// Generous: two loaded cores start ten Node processes at once (75 s seen at a load of 20).
const START = 150_000;
const SLOW = 60_000;

/** The peers: host, its number n (10.93.<bridge>.n), bridges, its user, arguments, environment. */
const PEERS: Array<[host: string, n: number, bridges: number[], user: string, args: string[], env: Record<string, string>]> = [
  ['a', 1, [0], 'alice', [], {}],
  ['b', 2, [0], 'bob', [], {}],
  ['c', 3, [0], 'carol', [], {}],
  ['s', 1, [1], 'sam', ['--network-key', KEY], {}],
  ['rb', 2, [1, 2], 'rob', ['--network-key', KEY], {}],
  ['rc', 3, [2], 'cid', [], { LAB93_NETWORK_KEY: KEY }],
  ['k', 13, [0, 2], 'kai', ['--network-key', 'other class words', '--peer', `10.93.2.3:${PORT}`], {}],
];
const MESH = ['a', 'b', 'c'];
const USER = Object.fromEntries(PEERS.map(([h, , , user]) => [h, user]));
const addr = (h: string): string => `10.93.0.${PEERS.find((p) => p[0] === h)![1]}`;

describe('broadcast mode you can trust, across hosts', { skip: why ?? false }, () => {
  let lab: Lab;
  const peers = new Map<string, PeerProc>();
  const ids = new Map<string, string>();
  const fingerprints = new Map<string, string>();
  const clients = new Map<string, LineClient>();
  let rogue: RogueProc;
  /** The rogue's peer id (it proves one key on all its links). */
  let rid = '';
  let ui: Tmux | null = null;
  let uiDir = '';

  const peer = (h: string): PeerProc => peers.get(h)!;
  const id = (h: string): string => ids.get(h)!;
  /** A repeater-mode client of the peer on host `h`, logged in as `user`. */
  const client = async (h: string, user: string): Promise<LineClient> => {
    const c = new LineClient(user, PORT, lab.exec(h, []));
    clients.set(`${h}:${user}`, c);
    await c.hello(SLOW);
    return c;
  };
  const start = async (h: string, p: PeerProc): Promise<void> => {
    peers.set(h, p);
    ids.set(h, (await p.ready(START)).peer);
    fingerprints.set(h, (await p.log.wait((l) => l.msg === 'ready', START, `${h} ready`)).fingerprint as string);
  };
  const linkedTo = (h: string): string[] => peer(h).log.lines.filter((l) => l.msg === 'peer link up').map((l) => l.peer as string);
  const found = (h: string, of: string): boolean => peer(h).log.lines.some((l) => l.msg === 'discovery: found' && l.peer === id(of));

  before(async () => {
    lab = new Lab();
    for (let i = 0; i < 3; i++) lab.addBridge();
    for (const [h, n, bridges] of PEERS) lab.addHost(h, n, bridges);
    lab.addHost('r', 9, [0, 1]);
    lab.addHost('u', 22, [0]);
    lab.addHost('rn', 4, [2]);
    const started = PEERS.map(([h, , , user, args, env]) => start(h, new PeerProc({ name: user, prefix: lab.exec(h, []), args, env: { ...ALL, ...env } })));
    rogue = new RogueProc(lab.exec('r', []));
    if (!noTmux) {
      // A real terminal user on the LAN, to see names as people see them.
      uiDir = mkdtempSync(join(tmpdir(), 'lab93-peer-uma-'));
      ui = new Tmux();
      ui.start(lab.exec('u', [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'peer', '--name', 'uma']), { env: { ...ALL, LAB93_DATA_DIR: uiDir, LAB93_WEB: 'off', PATH: process.env.PATH ?? '' }, cwd: new URL('../..', import.meta.url).pathname, width: 140, height: 40 });
    }
    await Promise.all(started);
  });

  after(async () => {
    for (const c of clients.values()) c.close();
    ui?.kill();
    await Promise.all([...peers.values()].map((p) => p.stop()).concat(rogue ? [rogue.stop()] : []));
    if (uiDir) rmSync(uiDir, { recursive: true, force: true });
    lab?.destroy();
  });

  test('a rogue host forges, replays under another origin, alters signed fields, claims a key it does not hold: every peer drops it, and they keep chatting', async () => {
    await Promise.all(MESH.map((h) => peer(h).waitLinked(MESH.filter((x) => x !== h).map(id), SLOW)));
    const [alice, bob, carol, sam] = await Promise.all([client('a', 'alice'), client('b', 'bob'), client('c', 'carol'), client('s', 'sam')]);
    // The rogue links to every peer of the mesh with a key of its own, and to sam on the other
    // LAN, whose network key it knows.
    rid = await rogue.link('s', '10.93.1.1', PORT, 'rogue', KEY, SLOW);
    await Promise.all(MESH.map((h) => rogue.link(h, addr(h), PORT, 'rogue', undefined, SLOW)));
    await sam!.say('sam: relayed as it is', SLOW);
    await sam!.say('sam: never shown in the mesh', SLOW);
    const real = await rogue.waitLine('s', (l) => l.type === 'peer-message' && l.content === 'sam: relayed as it is', SLOW, "sam's first message");
    const real2 = await rogue.waitLine('s', (l) => l.type === 'peer-message' && l.content === 'sam: never shown in the mesh', SLOW, "sam's second message");
    const sid = id('s');
    assert.equal(real2.origin, sid);

    // Under the origin of alice's peer, linked to everyone: b and c take it from alice alone,
    // and a refuses its own origin. Sent first, so the refusals awaited below come after it.
    for (const h of MESH) rogue.send(h, msg(id('a'), 5, 'forged under alice'));
    const attempts = [
      msg(sid, 1, 'forged under sam'), // sam's origin, signed with another key
      { ...real2, origin: rid, gid: `${rid}:${real2.seq}` }, // replayed under the rogue's own origin
      { ...real2, content: 'altered by mallory' }, // a signed field changed
      { ...real2, timestamp: 1_900_000_000 }, // the date changed (2030)
      signed({ gid: `${sid}:1`, origin: sid, seq: 1, uid: null, username: 'teacher', room: 'lobby', to: null, subject: null, content: 'from teacher', timestamp: 1_900_000_000 }, identityOf('mallory')),
    ];
    const badSig = (l: Record<string, unknown>): boolean => l.type === 'error' && l.code === 'bad_signature';
    // One at a time, as in the loopback test: a second claim of the same seq within one turn
    // would be a repeat of the first, not a second verification.
    for (const [i, x] of attempts.entries()) {
      for (const h of MESH) rogue.send(h, x);
      await Promise.all(MESH.map((h) => rogue.waitCount(h, badSig, i + 1, SLOW, `forgery ${i + 1} refused by ${h}`)));
    }
    // Told in the log at once (then once a minute), on the rogue's link.
    for (const h of MESH) await peer(h).log.wait((l) => l.msg === 'peer link: bad_signature' && l.peer === rid, SLOW, `${h} logs the forgery`);
    await peer('a').log.wait((l) => l.msg === 'peer link: own origin' && l.peer === rid, SLOW, 'a logs the claim of its own origin');

    // A hello under another real peer's id and key, without its private key: the proof fails.
    const linkDowns = (h: string, of: string): number => peer(h).log.lines.filter((l) => l.msg === 'peer link down' && l.peer === of).length;
    for (const [h, victim] of [['a', 'b'], ['b', 'c'], ['c', 'a']] as Array<[string, string]>) {
      const theirs = rogue.lines(victim).find((l) => l.type === 'peer-hello')!;
      assert.equal(theirs.peer_id, id(victim));
      const downs = linkDowns(h, id(victim));
      const conn = `claim-${h}`;
      await rogue.open(conn, addr(h), PORT);
      rogue.send(conn, { type: 'peer-hello', peer_id: id(victim), name: USER[victim], version: 2, port: null, have: {}, users: [], key: theirs.key, box_key: theirs.box_key, challenge: toB64url(newChallenge()) });
      await rogue.waitLine(conn, (l) => l.type === 'peer-hello', SLOW, `${h} answers the hello`);
      rogue.send(conn, { type: 'peer-auth', sig: toB64url(randomBytes(64)) });
      const err = await rogue.waitLine(conn, (l) => l.type === 'error', SLOW, `${h} refuses the proof`);
      assert.equal(err.code, 'bad_proof');
      await rogue.closed(conn, SLOW);
      await peer(h).log.wait((l) => l.msg === 'peer link: bad_proof', SLOW, `${h} logs the refused proof`);
      // The real link under that id was not touched.
      assert.equal(linkDowns(h, id(victim)), downs, `${h} kept its link to the real ${victim}`);
      assert.ok(peer(h).linkedPeers().has(id(victim)));
    }

    // The untouched copy, relayed by the same rogue, is authentic: the signature decides, not
    // the relay (so the refusals above were for what the rogue changed).
    rogue.send('a', real);
    await Promise.all([alice, bob, carol].map((c) => c!.waitFor(['sam: relayed as it is'], SLOW)));
    // And the real peers keep chatting.
    await alice!.say('alice: after the attack', SLOW);
    await carol!.say('carol: after the attack', SLOW);
    await bob!.waitFor(['alice: after the attack', 'carol: after the attack'], SLOW);
    await carol!.waitFor(['alice: after the attack'], SLOW);
    await alice!.waitFor(['carol: after the attack'], SLOW);

    const forged = ['forged under alice', 'forged under sam', 'sam: never shown in the mesh', 'altered by mallory', 'from teacher'];
    for (const [h, c] of [['a', alice], ['b', bob], ['c', carol]] as const) {
      const shown = c!.contents().filter((t) => forged.includes(t));
      assert.deepEqual(shown, [], `${h}'s user was shown a forgery`);
      // And in the store itself: nothing under the rogue's origin, nothing of sam but the real first.
      const p = peer(h);
      assert.deepEqual(p.query('SELECT gid FROM messages WHERE origin = ?', rid), [], `${h} stored a message under the rogue's origin`);
      assert.deepEqual(p.query<{ seq: number; content: string }>('SELECT seq, content FROM messages WHERE origin = ?', sid), [{ seq: 1, content: 'sam: relayed as it is' }], `${h} holds sam's real message only`);
      assert.deepEqual(p.query(`SELECT content FROM messages WHERE content IN (${forged.map(() => '?').join(',')})`, ...forged), [], `${h} stored a forgery`);
    }
    // Counted per link: closing the rogue's links tells the rest of the count.
    for (const h of MESH) rogue.close(h);
    for (const h of MESH) {
      const told = await peer(h).log.wait((l) => l.msg === 'peer link: bad_signature' && l.peer === rid && l.total === attempts.length, SLOW, `${h} counts ${attempts.length} forgeries`);
      assert.equal(told.total, attempts.length);
    }
  });

  test('peers with different network keys on one LAN never link; peers with the same key do, both ways, found by mDNS', async () => {
    const [s, rb, rc, k] = [peer('s'), peer('rb'), peer('rc'), peer('k')];
    // sam - rob on bridge 1, rob - cid on bridge 2: one key (flag or environment), linked both ways.
    await Promise.all([rb.waitLinked([id('s'), id('rc')], SLOW), s.waitLinked([id('rb')], SLOW), rc.waitLinked([id('rb')], SLOW)]);
    await rb.log.wait(() => found('rb', 's') && found('rb', 'rc') && found('s', 'rb') && found('rc', 'rb'), SLOW, 'the keyed peers to find each other by mDNS');
    // kai (another key) hears both meshes on its two LANs, and they hear kai: never dialled.
    await k.log.wait(() => found('k', 'rb') && found('k', 'rc') && found('k', 'a'), SLOW, 'kai to hear the others');
    await peer('a').log.wait(() => found('a', 'k'), SLOW, 'alice\'s peer to hear kai');
    await rc.log.wait(() => found('rc', 'k'), SLOW, 'cid\'s peer to hear kai');
    // Dialled by hand (kai's --peer to cid), the hello MAC refuses the link on one side or both.
    await Promise.race([
      k.log.wait((l) => l.msg === 'peer link: wrong_network', SLOW, 'kai to refuse cid'),
      rc.log.wait((l) => l.msg === 'peer link: wrong_network', SLOW, 'cid to refuse kai'),
    ]);
    assert.deepEqual(linkedTo('k'), [], 'kai linked to nobody');
    const keyed = ['s', 'rb', 'rc', 'k'].map(id);
    // (The rogue of the first test knows KEY: its link to sam is of that mesh.)
    for (const h of ['s', 'rb', 'rc']) assert.deepEqual(linkedTo(h).filter((p) => !keyed.includes(p) && p !== rid), [], `${h} linked outside its mesh`);
    for (const h of ['s', 'rb', 'rc']) assert.ok(!linkedTo(h).includes(id('k')), `${h} linked to kai`);
    for (const h of MESH) assert.deepEqual(linkedTo(h).filter((p) => keyed.includes(p)), [], `${h} (no key) linked to a keyed peer`);
  });

  test('a second alice with another key is shown as another person, with one notice, never merged', { skip: noTmux ?? false }, async () => {
    const t = ui!;
    // alice's first message (the first test) bound "alice" to the key of her peer at uma's.
    await t.waitFor((l) => l.some((x) => /^\d\d:\d\d alice: alice: after the attack$/.test(x)), 'the first alice shown', SLOW);
    // Another peer (bob's) with a user also called alice.
    const other = await client('b', 'alice');
    await other.say('I am alice too', SLOW);
    await other.say('really', SLOW);
    const tag = `alice#${fingerprints.get('b')}`;
    const screen = await t.waitFor((l) => l.some((x) => x.endsWith(`${tag}: really`)), 'the other alice shown', SLOW);
    assert.ok(screen.some((x) => x.endsWith(`${tag}: I am alice too`)), screen.join('\n'));
    // Never under the plain name, and told once who is who.
    assert.ok(!screen.some((x) => /\d\d:\d\d alice: (I am alice too|really)$/.test(x)), screen.join('\n'));
    const notices = screen.filter((x) => x.includes('another alice'));
    assert.deepEqual(notices, [`· another alice (${tag}) is writing, with another key; the alice you know is alice#${fingerprints.get('a')}`]);
    // The same at a headless peer: its store keeps both keys under "alice", the first one bound.
    await clients.get('c:carol')!.waitFor(['really'], SLOW);
    const keys = peer('c').query<{ key: Buffer; bound: number }>("SELECT key, bound FROM name_keys WHERE username = 'alice' ORDER BY bound DESC");
    assert.deepEqual(keys.map((k) => [shortFingerprint(k.key), k.bound]), [[fingerprints.get('a'), 1], [fingerprints.get('b'), 0]]);
  });

  test('a DM from sam to cid relayed by rob: rob holds no plaintext of it (rows and file bytes), cid reads it; a newcomer\'s history holds none', async () => {
    const [s, rb, rc] = [peer('s'), peer('rb'), peer('rc')];
    await Promise.all([rb.waitLinked([id('s'), id('rc')], SLOW), s.waitLinked([id('rb')], SLOW), rc.waitLinked([id('rb')], SLOW)]);
    // sam and cid are on different LANs: everything between them goes through rob.
    assert.ok(!s.linkedPeers().has(id('rc')) && !rc.linkedPeers().has(id('s')), 'sam and cid are not linked directly');
    const sam = clients.get('s:sam')!;
    const cid = await client('rc', 'cid');
    // cid writes first: at sam's peer the name is bound to the key of cid's (a DM is sealed to it).
    await cid.say('cid: hello from the third LAN', SLOW);
    await sam.waitFor(['cid: hello from the third LAN'], SLOW);
    const secret = 'the secret is xyzzy-4711';
    await sam.say(secret, SLOW, 'cid');
    const dm = await cid.got.wait((j) => j.type === 'message' && j.content === secret, SLOW, 'cid to read the DM');
    assert.equal(dm.username, 'sam');
    assert.equal(dm.to, 'cid');

    // rob relayed it, sealed: its row holds the box and no content, it opened nothing, and no
    // byte of its files (database and write-ahead log) holds the plaintext or a part of it.
    const relayed = () => rb.query<{ recipient: string; subject: string | null; content: string; boxLen: number; to_peer: string }>('SELECT recipient, subject, content, length(box) AS boxLen, to_peer FROM messages WHERE origin = ? AND recipient IS NOT NULL', id('s'));
    const storedDm = (l: Record<string, unknown>): boolean => l.msg === 'message' && l.origin === id('s') && l.dm === true;
    await rb.log.wait(storedDm, SLOW, 'rob to store the DM');
    assert.equal(relayed().length, 1);
    const row = relayed()[0]!;
    assert.deepEqual([row.recipient, row.subject, row.content, row.to_peer], ['cid', null, '', id('rc')]);
    assert.ok(row.boxLen > secret.length, 'the box is there');
    assert.deepEqual(rb.query('SELECT id FROM dm_plain'), [], 'rob opened nothing');
    const fileBytes = (p: PeerProc): Buffer => Buffer.concat([p.dbPath, `${p.dbPath}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    assert.equal(fileBytes(rb).includes('xyzzy'), false, 'no plaintext in rob\'s files');
    // The check can fail: cid's files do hold it (the copy it shows).
    assert.equal(fileBytes(rc).includes(secret), true, 'cid keeps the plaintext it shows');

    // A newcomer on sam's and rob's LAN (a rogue of that class): the history it is sent holds the
    // DM only sealed.
    await rogue.link('newcomer', '10.93.1.2', PORT, 'rogue', KEY, SLOW);
    const wire = rogue.lines('newcomer').filter((l) => l.type === 'peer-message');
    const sealed = wire.find((l) => l.origin === id('s') && l.to === 'cid');
    assert.ok(sealed, 'the sealed DM is part of the history');
    assert.equal(sealed.content, undefined);
    assert.equal(sealed.to_peer, id('rc'));
    assert.ok(wire.some((l) => l.content === 'cid: hello from the third LAN'), 'room messages come as before');
    assert.ok(!JSON.stringify(wire).includes('xyzzy'), 'nothing readable on the wire');
    // And a real newcomer on cid's LAN stores it sealed and shows its user nothing of it.
    const rn = new PeerProc({ name: 'nan', prefix: lab.exec('rn', []), args: ['--network-key', KEY], env: ALL });
    await start('rn', rn);
    const nan = await client('rn', 'nan');
    await nan.waitFor(['cid: hello from the third LAN'], SLOW);
    await rn.log.wait(storedDm, SLOW, 'nan\'s peer to hold the sealed DM');
    assert.deepEqual(rn.query('SELECT content FROM messages WHERE origin = ? AND recipient = ?', id('s'), 'cid'), [{ content: '' }]);
    assert.deepEqual(nan.got.lines.filter((j) => j.type === 'message' && (j.to || j.content === secret)), [], 'no DM shown to nan');
    assert.deepEqual(rn.query('SELECT id FROM dm_plain'), []);
    assert.equal(fileBytes(rn).includes('xyzzy'), false, 'no plaintext in the newcomer\'s files');
  });
});
