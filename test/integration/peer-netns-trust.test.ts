/**
 * Broadcast mode you can trust (issue 10) across real hosts: peer processes in network
 * namespaces on Linux bridges, finding each other by mDNS (as peer-netns.test.ts), with a rogue
 * host on the LAN (test/helpers/rogue-peer.ts), meshes with network keys side by side, and a
 * second "alice" with another key, seen in a real terminal (tmux). The loopback versions of
 * these are in peer-trust.test.ts.
 *
 * One LAN (bridge 0) holds every host; sam's peer is on a second LAN (bridge 1) that only the
 * rogue shares, so the rogue holds real signed messages the mesh has never seen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
// Generous: two loaded cores start ten Node processes at once (45 s seen at a load of 20).
const START = 120_000;
const SLOW = 60_000;

interface HostSpec { n: number; user: string; args: string[] }
/** Hosts on bridge 0 (10.93.0.n), the name of their peer's user, and extra peer arguments. */
const HOSTS = {
  a: { n: 1, user: 'alice', args: [] },
  b: { n: 2, user: 'bob', args: [] },
  c: { n: 3, user: 'carol', args: [] },
  // The second alice: another peer, another key, the same name.
  a2: { n: 21, user: 'alice', args: [] },
  // Two peers of one mesh (one gets the key from the environment), one of another mesh that
  // even dials a peer of the first by hand.
  k1: { n: 11, user: 'kim', args: ['--network-key', KEY] },
  k2: { n: 12, user: 'ken', args: [] },
  k3: { n: 13, user: 'kai', args: ['--network-key', 'other class words', '--peer', `10.93.0.11:${PORT}`] },
} satisfies Record<string, HostSpec>;
type HostName = keyof typeof HOSTS;
const MESH: HostName[] = ['a', 'b', 'c'];
const addr = (h: HostName): string => `10.93.0.${HOSTS[h].n}`;

describe('broadcast mode you can trust, across hosts', { skip: why ?? false }, () => {
  let lab: Lab;
  const peers = new Map<string, PeerProc>();
  const ids = new Map<string, string>();
  const fingerprints = new Map<string, string>();
  const clients = new Map<string, LineClient>();
  let rogue: RogueProc;
  let ui: Tmux | null = null;
  let uiDir = '';

  const peer = (h: string): PeerProc => peers.get(h)!;
  const id = (h: string): string => ids.get(h)!;
  const client = async (h: string, user: string): Promise<LineClient> => {
    const c = new LineClient(user, PORT, lab.exec(h, []));
    clients.set(h, c);
    await c.hello(SLOW);
    return c;
  };

  before(async () => {
    lab = new Lab();
    lab.addBridge();
    lab.addBridge();
    for (const [h, o] of Object.entries(HOSTS)) lab.addHost(h, o.n, [0]);
    lab.addHost('s', 1, [1]);
    lab.addHost('r', 9, [0, 1]);
    lab.addHost('u', 22, [0]);
    for (const [h, o] of Object.entries(HOSTS)) {
      const env = h === 'k2' ? { ...ALL, LAB93_NETWORK_KEY: KEY } : ALL;
      peers.set(h, new PeerProc({ name: o.user, prefix: lab.exec(h, []), args: o.args, env }));
    }
    peers.set('s', new PeerProc({ name: 'sam', prefix: lab.exec('s', []), env: ALL }));
    rogue = new RogueProc(lab.exec('r', []));
    if (!noTmux) {
      // A real terminal user on the LAN, to see names as people see them.
      uiDir = mkdtempSync(join(tmpdir(), 'lab93-peer-uma-'));
      ui = new Tmux();
      ui.start(lab.exec('u', [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'peer', '--name', 'uma']), { env: { ...ALL, LAB93_DATA_DIR: uiDir, LAB93_WEB: 'off', PATH: process.env.PATH ?? '' }, cwd: new URL('../..', import.meta.url).pathname, width: 140, height: 40 });
    }
    await Promise.all(
      [...peers].map(async ([h, p]) => {
        ids.set(h, (await p.ready(START)).peer);
        fingerprints.set(h, (await p.log.wait((l) => l.msg === 'ready', START, `${h} ready`)).fingerprint as string);
      }),
    );
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
    // The rogue links to every peer of the mesh with a key of its own, and to sam on the other LAN.
    const rid = await rogue.link('s', '10.93.1.1', PORT, 'rogue');
    await Promise.all(MESH.map((h) => rogue.link(h, addr(h), PORT, 'rogue')));
    await sam!.say('sam: relayed as it is');
    await sam!.say('sam: never shown in the mesh');
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
    for (const h of MESH) {
      await peer(h).log.wait((l) => l.msg === 'peer link: bad_signature' && l.peer === rid, SLOW, `${h} logs the forgery`);
    }
    await peer('a').log.wait((l) => l.msg === 'peer link: own origin' && l.peer === rid, SLOW, 'a logs the claim of its own origin');

    // A hello under another real peer's id and key, without its private key: the proof fails.
    const linkDowns = (h: HostName, of: string): number => peer(h).log.lines.filter((l) => l.msg === 'peer link down' && l.peer === of).length;
    for (const [h, victim] of [['a', 'b'], ['b', 'c'], ['c', 'a']] as Array<[HostName, HostName]>) {
      const theirs = rogue.lines(victim).find((l) => l.type === 'peer-hello')!;
      assert.equal(theirs.peer_id, id(victim));
      const downs = linkDowns(h, id(victim));
      const conn = `claim-${h}`;
      await rogue.open(conn, addr(h), PORT);
      rogue.send(conn, { type: 'peer-hello', peer_id: id(victim), name: HOSTS[victim].user, version: 2, port: null, have: {}, users: [], key: theirs.key, box_key: theirs.box_key, challenge: toB64url(newChallenge()) });
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
    await alice!.say('alice: after the attack');
    await carol!.say('carol: after the attack');
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

  test('peers with different network keys on one LAN never link; peers with the same key do, both ways', async () => {
    const [k1, k2, k3] = [peer('k1'), peer('k2'), peer('k3')];
    await Promise.all([k1.waitLinked([id('k2')], SLOW), k2.waitLinked([id('k1')], SLOW)]);
    const found = (h: string, of: string) => peer(h).log.lines.some((l) => l.msg === 'discovery: found' && l.peer === id(of));
    // Each of the keyed pair found the other by mDNS (no --peer between them).
    await peer('k1').log.wait(() => found('k1', 'k2') && found('k2', 'k1'), SLOW, 'k1 and k2 to find each other by mDNS');
    // kai's mesh hears them all on the LAN, and the mesh without a key hears kai's: never dialled.
    await k3.log.wait(() => found('k3', 'k1') && found('k3', 'k2') && found('k3', 'a'), SLOW, 'kai to hear the others');
    await peer('a').log.wait(() => found('a', 'k1') && found('a', 'k3'), SLOW, 'a to hear the keyed peers');
    // Dialled by hand (kai's --peer to kim), the hello MAC refuses the link on one side or both.
    await Promise.race([
      k1.log.wait((l) => l.msg === 'peer link: wrong_network', SLOW, 'kim to refuse kai'),
      k3.log.wait((l) => l.msg === 'peer link: wrong_network', SLOW, 'kai to refuse kim'),
    ]);
    const linkedTo = (h: string): string[] => peer(h).log.lines.filter((l) => l.msg === 'peer link up').map((l) => l.peer as string);
    assert.deepEqual(linkedTo('k3'), [], 'kai linked to nobody');
    for (const h of ['k1', 'k2']) assert.deepEqual(new Set(linkedTo(h)), new Set([id(h === 'k1' ? 'k2' : 'k1')]), `${h} linked to its own mesh only`);
    for (const h of [...MESH, 'a2']) {
      const keyed = linkedTo(h).filter((p) => ['k1', 'k2', 'k3'].some((k) => id(k) === p));
      assert.deepEqual(keyed, [], `${h} (no key) linked to a keyed peer`);
    }
    // The keyed mesh carries messages, the others never see them.
    const kim = await client('k1', 'kim');
    const ken = await client('k2', 'ken');
    await kim.say('kim: keyed mesh only');
    await ken.waitFor(['kim: keyed mesh only'], SLOW);
    assert.ok(!clients.get('b')!.contents().includes('kim: keyed mesh only'));
  });

  test('a second alice with another key is shown as another person, with one notice, never merged', { skip: noTmux ?? false }, async () => {
    const t = ui!;
    // alice's first message (the earlier test) bound "alice" to her key at uma's peer.
    await t.waitFor((l) => l.some((x) => /^\d\d:\d\d alice: alice: after the attack$/.test(x)), 'the first alice shown', SLOW);
    await peer('a2').waitLinked([id('a')], SLOW);
    const other = await client('a2', 'alice');
    await other.say('I am alice too');
    await other.say('really');
    const tag = `alice#${fingerprints.get('a2')}`;
    const screen = await t.waitFor((l) => l.some((x) => x.endsWith(`${tag}: really`)), 'the other alice shown', SLOW);
    assert.ok(screen.some((x) => x.endsWith(`${tag}: I am alice too`)), screen.join('\n'));
    // Never under the plain name, and told once who is who.
    assert.ok(!screen.some((x) => /\d\d:\d\d alice: (I am alice too|really)$/.test(x)), screen.join('\n'));
    const notices = screen.filter((x) => x.includes('another alice'));
    assert.deepEqual(notices, [`· another alice (${tag}) is writing, with another key; the alice you know is alice#${fingerprints.get('a')}`]);
    // The same at a headless peer: its store keeps both keys under "alice", the first one bound.
    await clients.get('c')!.waitFor(['really'], SLOW);
    const keys = peer('c').query<{ key: Buffer; bound: number }>("SELECT key, bound FROM name_keys WHERE username = 'alice' ORDER BY bound DESC");
    assert.deepEqual(keys.map((k) => [shortFingerprint(k.key), k.bound]), [[fingerprints.get('a'), 1], [fingerprints.get('a2'), 0]]);
  });
});
