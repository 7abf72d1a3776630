/**
 * A rogue or broken peer against real peers in this process (loopback TCP): the attacks of
 * issue 8 ("Why"), each shown harmless. A peer survives the line that used to kill it; a link
 * that throws closes alone; a flood of fresh origins cannot keep the mesh from linking again
 * after a restart; nobody can claim another peer's origin in a way that silences it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { PeerBackend } from '../../src/peer/backend.js';
import { peerIdentityFor } from '../../src/peer/node.js';
import { PeerStore } from '../../src/peer/peer-store.js';
import type { PeerStoredMessage } from '../../src/peer/peer-store.js';
import { TestMesh, hello, linkedRawPeer, msg, post, rawPeer, until, idOf } from '../helpers/peer-nodes.js';
import { PeerProc } from '../helpers/peer-proc.js';
import { WireClient } from '../helpers/wire-client.js';
import { join } from 'node:path';
import { encodeFrame } from '../../src/protocol/frame.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';

const mesh = new TestMesh();
after(() => mesh.close());

/** The line that ended `lab93 server` and peers: a Python escape above U+10FFFF. */
const CRASH = `{'username': 'x', 'content': '\\U00110000'}`;

function contents(p: { store: PeerStore }): string[] {
  return p.store.recentSync(10_000).map((m) => m.content);
}

async function pair(name: string, o = {}): Promise<[ReturnType<TestMesh['node']>, ReturnType<TestMesh['node']>]> {
  const a = mesh.node(`${name}-a`, o);
  await a.start();
  const b = mesh.node(`${name}-b`, { ...o, peers: [{ host: '127.0.0.1', port: a.port }] });
  await b.start();
  await until(() => a.links.size === 1 && b.links.size === 1, 15_000, `${name} linked`);
  return [a, b];
}

test('the crash line kills no peer: as the first line of a client, plain or base64, or over a peer link', async () => {
  const [a, b] = await pair('crash');
  for (const mode of ['plain', 'base64'] as const) {
    const c = await WireClient.connect(a.port, mode);
    c.sendRaw((mode === 'plain' ? CRASH : Buffer.from(CRASH).toString('base64')) + '\n');
    // `internal` from the peer's guard, or `bad_frame` once the frame decoder is total.
    const e = await c.next('error');
    assert.ok(['internal', 'bad_frame'].includes(e.code), `answered ${e.code}`);
    await c.close();
  }
  const m = await linkedRawPeer(a.port, 'c0ffeec0ffeec0ff');
  m.s.write(CRASH + '\n');
  await until(() => m.lines.some((l) => l.type === 'error'), 15_000, 'an error frame on the link');
  assert.ok(['internal', 'bad_frame'].includes(m.lines.find((l) => l.type === 'error').code));
  m.s.destroy();

  // The peer goes on: a repeater client is served, and the good pair still chats.
  const { c } = await WireClient.login(a.port, 'ann');
  await post(a, 'still here');
  await until(() => contents(b).includes('still here'), 15_000, 'b receives from a');
  await c.close();
});

test('an exception on a link closes that link alone with internal, logged once with its stack; the peer goes on', async () => {
  const lines: any[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
  const a = mesh.node('fault-a', {}, log);
  await a.start();
  const b = mesh.node('fault-b', { peers: [{ host: '127.0.0.1', port: a.port }] });
  await b.start();
  await until(() => a.links.size === 1, 15_000, 'a-b link');
  const faults: string[] = [];
  a.on('link-fault', (p: { peerId: string }) => faults.push(p.peerId));
  // A bug anywhere on the link's data path: here the store, for one origin only.
  const accept = a.store.accept.bind(a.store);
  a.store.accept = (p) => {
    if (p.origin === idOf('b00mb00mb00mb00m')) throw new TypeError('a bug on the data path');
    return accept(p);
  };
  const m = await linkedRawPeer(a.port, 'b00mb00mb00mb00m');
  m.send(msg('b00mb00mb00mb00m', 1));
  m.send(msg('b00mb00mb00mb00m', 2));
  await m.closed;
  assert.deepEqual(m.lines.filter((l) => l.type === 'error').map((l) => l.code), ['internal']);
  const logged = lines.filter((l) => l.msg === 'internal error on a peer link; closing it');
  assert.equal(logged.length, 1, 'logged once');
  assert.match(logged[0].err.stack, /a bug on the data path/);
  assert.deepEqual(faults, [idOf('b00mb00mb00mb00m')]);
  assert.equal(a.links.size, 1, 'the other link is still up');
  await post(b, 'after the fault');
  await until(() => contents(a).includes('after the fault'), 15_000, 'a still receives');
});

test('a link flooding fresh origins cannot split the mesh: after a restart the peers link again and carry messages', async () => {
  // Only the have exchange is under test here: no quota on new origins.
  const o = { linkNewOriginsPerMinute: 0 };
  const [a, b] = await pair('split', o);
  const m = await linkedRawPeer(a.port, 'f'.repeat(64));
  // Peer ids are 26 characters: 2000 of them make a have map over one 64 KiB frame.
  const N = 2000;
  for (let i = 0; i < N; i++) m.send(msg(`o${String(i).padStart(63, '0')}`, 1));
  await until(() => b.store.origins >= N, 60_000, 'the fresh origins relayed to b');
  m.s.destroy();
  // The have map alone no longer fits in one frame.
  assert.ok(encodeFrame({ type: 'peer-hello', have: a.store.have() }, 'base64').length > DEFAULT_LIMITS.maxFrameBytes);

  const [pa, pb] = [a.opts.dbPath, b.opts.dbPath];
  await Promise.all([a.close(), b.close()]);
  const a2 = mesh.node('split-a2', { ...o, dbPath: pa });
  await a2.start();
  const b2 = mesh.node('split-b2', { ...o, dbPath: pb, peers: [{ host: '127.0.0.1', port: a2.port }] });
  await b2.start();
  await until(() => a2.links.size === 1 && b2.links.size === 1, 10_000, 'linked again after the restart');
  await post(a2, 'from a after the restart');
  await post(b2, 'from b after the restart');
  await until(() => contents(b2).includes('from a after the restart') && contents(a2).includes('from b after the restart'), 15_000, 'messages both ways');
});

test('a have map in pages: nothing is sent before its last page, then only what the other side lacks', async () => {
  const a = mesh.node('pages-a');
  await a.start();
  await post(a, 'one');
  const r = await rawPeer(a.port);
  r.send({ ...(hello('pa9e5pa9e5pa9e5p') as object), have_more: true });
  await until(() => r.lines.some((l) => l.type === 'peer-hello'), 15_000, 'a answers the hello');
  await post(a, 'two');
  r.send({ type: 'peer-have', have: { zzzzzzzz: 4 }, more: true });
  r.send({ type: 'peer-have', have: { [a.peerId]: 1 }, more: false });
  await until(() => r.lines.some((l) => l.type === 'peer-synced'), 15_000, 'synced after the last page');
  assert.deepEqual(r.lines.filter((l) => l.type === 'peer-message').map((l) => l.content), ['two']);
  r.s.destroy();
});

/** Three peers all linked to each other (x dials p and c; c dials p). */
async function triangle(name: string, xPath?: string) {
  const p = mesh.node(`${name}-p`);
  await p.start();
  const c = mesh.node(`${name}-c`, { peers: [{ host: '127.0.0.1', port: p.port }] });
  await c.start();
  await until(() => p.links.size === 1, 15_000, 'p-c link');
  const startX = async () => {
    const x = mesh.node(`${name}-x`, { peers: [{ host: '127.0.0.1', port: p.port }, { host: '127.0.0.1', port: c.port }], ...(xPath ? { dbPath: xPath } : {}) });
    await x.start();
    await until(() => x.links.size === 2 && p.links.has(x.peerId) && c.links.has(x.peerId), 15_000, 'x linked to p and c');
    return x;
  };
  return { p, c, startX };
}

test('an origin claimed at 2^53-1 by another link: that origin\'s own peer still writes and delivers to everyone', async () => {
  const { p, c, startX } = await triangle('claim');
  const x = await startX();
  const m = await linkedRawPeer(p.port, 'baadbaadbaadbaad');
  m.send(msg(x.peerId, 2 ** 53 - 1, 'forged'));
  // And straight to x: its own origin, at the top and at the next seq.
  const m2 = await linkedRawPeer(x.port, 'baadbaadbaad0002');
  m2.send(msg(x.peerId, 2 ** 53 - 1, 'forged'));
  m2.send(msg(x.peerId, 1, 'forged'));
  m2.send(msg(x.peerId, 2, 'forged'));
  await until(() => p.links.get(idOf('baadbaadbaadbaad'))?.refusals.totals.get('seq over bound') === 1, 15_000, 'p refuses the claim');
  const xm = () => x.links.get(idOf('baadbaadbaad0002'))?.refusals.totals;
  await until(() => xm()?.get('seq over bound') === 1 && xm()?.get('own origin') === 2, 15_000, 'x refuses its own origin');

  const written = await post(x, 'real 1');
  assert.equal(written.seq, 1);
  await post(x, 'real 2');
  for (const other of [p, c]) await until(() => contents(other).includes('real 2'), 15_000, `${other.opts.username} receives x`);
  for (const peer of [p, c, x]) {
    assert.ok(!contents(peer).includes('forged'), `${peer.opts.username} stored nothing forged`);
    assert.equal(peer.store.haveOf(x.peerId), 2);
  }
});

test('a new origin heard through another peer must start at a small seq; from its own peer it may start anywhere', async () => {
  const a = mesh.node('first-a', { maxFirstSeq: 100 });
  await a.start();
  const m = await linkedRawPeer(a.port, 'feedfeedfeedfeed');
  m.send(msg('aaaaaaaaaaaaaaaa', 101));
  m.send(msg('bbbbbbbbbbbbbbbb', 100));
  m.send(msg('feedfeedfeedfeed', 5000));
  await until(() => a.store.haveOf(idOf('bbbbbbbbbbbbbbbb')) === 100 && a.store.haveOf(idOf('feedfeedfeedfeed')) === 5000, 15_000, 'the two allowed');
  assert.equal(a.store.haveOf(idOf('aaaaaaaaaaaaaaaa')), undefined);
  assert.equal(a.links.get(idOf('feedfeedfeedfeed'))!.refusals.totals.get('first seq too high'), 1);
});

test('what others claim in an origin\'s name while it is away is dropped by every peer: its messages reach everyone', async () => {
  // x exists (its key, and so its id, is known) but is not running. Before signatures such a
  // claim was stored and relayed, then undone when x linked; now nobody can sign for x.
  const xPath = join(mesh.dir, 'away-x.db');
  const xid = peerIdentityFor({ dbPath: xPath }).peerId;
  const { p, c, startX } = await triangle('away', xPath);
  const m = await linkedRawPeer(p.port, 'baadbaadbaad0003');
  for (let i = 1; i <= 3; i++) {
    m.send(msg(xid, i, `forged ${i}`));
    await until(() => p.links.get(idOf('baadbaadbaad0003'))?.refusals.totals.get('bad_signature') === i, 15_000, `p drops forgery ${i}`);
  }
  // The count is the peer's; the error frames are on their way to the link: wait for them.
  await until(() => m.lines.filter((l) => l.type === 'error' && l.code === 'bad_signature').length === 3, 15_000, 'the link is told of each');

  const x = await startX();
  const seen = { p: [] as string[], c: [] as string[] };
  p.on('message', (mm: PeerStoredMessage) => seen.p.push(mm.content));
  c.on('message', (mm: PeerStoredMessage) => seen.c.push(mm.content));
  await post(x, 'real 1');
  await until(() => seen.p.includes('real 1') && seen.c.includes('real 1'), 15_000, 'x reaches p and c');
  for (const peer of [p, c]) {
    assert.deepEqual(contents(peer).filter((t) => /forged|real/.test(t)), ['real 1']);
    assert.equal(peer.store.haveOf(xid), 1);
  }
});

test('new origins per minute: a link bringing more is slowed down, loses nothing, and it is told once', async () => {
  let t = 1_000_000;
  const a = mesh.node('quota-a', { linkNewOriginsPerMinute: 10 }, undefined, () => t);
  await a.start();
  const told: Array<{ reason: string; count: number }> = [];
  a.on('refused', (_p: unknown, r: { reason: string; count: number }) => told.push(r));
  const m = await linkedRawPeer(a.port, 'quotaquotaquota1');
  for (let i = 0; i < 15; i++) m.send(msg(`neworigin${String(i).padStart(7, '0')}`, 1));
  const link = () => a.links.get(idOf('quotaquotaquota1'))!;
  await until(() => a.store.origins === 11 && link().throttled, 15_000, 'ten new origins (and one in debt), then a pause');
  assert.deepEqual(told.map((r) => r.reason), ['slowed: new origins per minute']);
  t += 60_000; // a minute later the quota is back
  await until(() => a.store.origins === 15, 15_000, 'the rest, nothing lost');
  assert.equal(told.length, 1, 'told once a minute at most');
});

test('--max-store: past the limit the oldest messages of other peers are pruned, never our own; pruned is not taken again', async () => {
  const a = mesh.node('store-a', { maxStore: 40 });
  await a.start();
  for (let i = 1; i <= 10; i++) await post(a, `own ${i}`);
  const m = await linkedRawPeer(a.port, 'storestorestore1');
  for (let i = 1; i <= 60; i++) m.send(msg('storestorestore1', i));
  await until(() => a.stats.stored === 60, 15_000, 'sixty stored');
  assert.ok(a.store.size <= 40, `kept ${a.store.size}`);
  const kept = a.store.recentSync(100);
  assert.equal(kept.filter((x) => x.origin === a.peerId).length, 10, 'all our own kept');
  const theirs = kept.filter((x) => x.origin !== a.peerId).map((x) => x.seq);
  assert.deepEqual(theirs, Array.from({ length: theirs.length }, (_, i) => 61 - theirs.length + i), 'the newest of theirs, unbroken');
  m.s.destroy();
  const path = a.opts.dbPath;
  await a.close();
  const a2 = mesh.node('store-a2', { maxStore: 40, dbPath: path });
  assert.equal(a2.store.haveOf(idOf('storestorestore1')), 60, 'the have of a pruned origin is remembered');
  assert.equal(a2.store.accept({ origin: idOf('storestorestore1'), seq: 1 }), 'duplicate');
});

test('the peer UI: bad input from a peer link is one notice line and the peer goes on; /peers counts refusals', async () => {
  const a = mesh.node('ui-bad');
  const ui = new PeerBackend(a, ['lobby']);
  const notices: string[] = [];
  ui.on('notice', (n: string) => notices.push(n));
  await ui.start();
  const m = await linkedRawPeer(a.port, 'uibaduibaduibad1');
  m.s.write('{not json\n');
  m.s.write('{not json\n');
  m.send(msg(a.peerId, 1));
  await until(() => /bad_frame 2.*own origin 1/.test(ui.peers()[0]?.refused ?? ''), 15_000, '/peers shows the refusals');
  const fromM = (): string[] => notices.filter((n) => n.startsWith('peer mallory'));
  // The first bad frame is told at once, the second (within the minute) only counted.
  const told = fromM().slice(1);
  assert.equal(told.length, 2, told.join('\n'));
  assert.match(told[0]!, /^peer mallory sent bad input, ignored: bad_frame: not JSON\b/);
  assert.equal(told[1], "peer mallory: message refused: own origin (seq 1 claims this peer's own origin)");
  // The crash line: a bad frame once the frame decoder is total; until then the guard closes
  // the link with `internal`, one notice. The peer goes on either way.
  m.s.write(CRASH + '\n');
  await until(() => /bad_frame 3/.test(ui.peers()[0]?.refused ?? '') || fromM().some((n) => n.includes('internal error')), 15_000, 'the crash line handled');
  for (const n of notices) assert.ok(!/[\r\n]/.test(n), `one line: ${JSON.stringify(n)}`);
  const acked = once(ui, 'acked');
  ui.send({ content: 'the peer goes on', room: 'lobby' });
  await acked;
});

test('lab93 peer: the limit flags reach the peer', async () => {
  const p = new PeerProc({
    name: 'flags', port: 0,
    args: ['--no-discovery', '--max-store', '0', '--max-first-seq', '7', '--history-window', '0', '--link-timeout', '4.5', '--link-message-rate', '50', '--link-bytes-per-minute', '1000000', '--link-new-origins', '3',
      '--origin-rate', '9', '--origin-burst', '90', '--link-frame-rate', '0', '--link-frame-burst', '100', '--link-max-errors', '5', '--link-send-queue', '65536'],
  });
  try {
    await p.ready();
    const up = p.log.lines.find((l) => l.msg === 'peer listening')!;
    assert.deepEqual(up.limits, {
      maxStore: 0, maxFirstSeq: 7, historyWindow: 0, linkTimeoutMs: 4500, linkMessageRate: 50, linkBytesPerMinute: 1_000_000, linkNewOriginsPerMinute: 3,
      originRate: 9, originBurst: 90, frameRate: 0, frameBurst: 100, maxErrors: 5, maxSendQueue: 65_536,
    });
  } finally {
    await p.stop();
  }
});
