/**
 * Broadcast mode across real hosts: one peer process per network namespace, LANs made of Linux
 * bridges, discovery by mDNS with no --peer. Observed through each peer's JSON log and a
 * repeater-mode client on the peer's own port (docs/broadcast.md).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Lab, netnsUnavailable } from '../helpers/netns.js';
import { LineClient, PeerProc } from '../helpers/peer-proc.js';

const why = netnsUnavailable();
if (why) console.log(`# skipping the network namespace tests: ${why}`);

// Short link timeouts so that a pulled cable is noticed within seconds.
const PEER_ARGS = ['--link-timeout', '3'];
// Inside the namespaces discovery runs on every interface (the test runner confines it to lo).
const ALL = { LAB93_MDNS_INTERFACES: 'all' };

/** Messages per origin peer (by sender name prefix) must arrive in the order they were sent. */
function assertOrderedOnce(got: string[], expected: string[], who: string): void {
  for (const c of expected) assert.equal(got.filter((g) => g === c).length, 1, `${who} received "${c}" ${got.filter((g) => g === c).length} times`);
  const origins = new Set(expected.map((c) => c.split(':')[0]));
  for (const o of origins) {
    const mine = got.filter((g) => g.startsWith(`${o}:`));
    const sorted = [...mine].sort((a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1]));
    assert.deepEqual(mine, sorted, `${who}: messages of ${o} out of order`);
  }
}

describe('three peers on one LAN', { skip: why ?? false }, () => {
  let lab: Lab;
  const peers = new Map<string, PeerProc>();
  const ids = new Map<string, string>();
  const clients = new Map<string, LineClient>();
  const sent: string[] = [];
  let started = 0;

  before(async () => {
    lab = new Lab();
    lab.addBridge();
    ['a', 'b', 'c'].forEach((h, i) => lab.addHost(h, i + 1, [0]));
    for (const h of ['a', 'b', 'c']) peers.set(h, new PeerProc({ name: h, prefix: lab.exec(h, []), args: PEER_ARGS, env: ALL }));
    for (const [h, p] of peers) ids.set(h, (await p.ready()).peer);
    // The 10 s are the discovery's, counted once every peer listens: how long three Node
    // processes take to start says nothing about mDNS, and a loaded CI box starts them slowly.
    started = Date.now();
  });

  after(async () => {
    for (const c of clients.values()) c.close();
    await Promise.all([...peers.values()].map((p) => p.stop()));
    lab?.destroy();
  });

  test('they discover each other within 10 s, with no --peer', async () => {
    await Promise.all(['a', 'b', 'c'].map((h) => peers.get(h)!.waitLinked(['a', 'b', 'c'].filter((x) => x !== h).map((x) => ids.get(x)!), 10_000 - (Date.now() - started))));
    assert.ok(Date.now() - started < 10_000, 'linked in time');
    // Every peer finds every other by itself, within the same 10 s (a link may come up first,
    // dialled by the other side, so wait for the find rather than assume it came before).
    const foundBy = (h: string) => peers.get(h)!.log.lines.filter((l) => l.msg === 'discovery: found').map((l) => l.peer);
    const allFound = () => ['a', 'b', 'c'].every((h) => ['a', 'b', 'c'].filter((x) => x !== h).every((o) => foundBy(h).includes(ids.get(o))));
    while (!allFound() && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    for (const h of ['a', 'b', 'c']) {
      const found = foundBy(h);
      for (const other of ['a', 'b', 'c'].filter((x) => x !== h)) assert.ok(found.includes(ids.get(other)), `${h} found ${other} by mDNS`);
    }
  });

  test('a message sent by each reaches every other exactly once', async () => {
    for (const h of ['a', 'b', 'c']) {
      const c = new LineClient(`user-${h}`, 5190, lab.exec(h, []));
      clients.set(h, c);
      await c.hello();
    }
    for (const h of ['a', 'b', 'c']) {
      await clients.get(h)!.say(`${h}:1`);
      sent.push(`${h}:1`);
    }
    // A fence after the messages: once it arrived everywhere, a duplicate would have too.
    for (const h of ['a', 'b', 'c']) {
      await clients.get(h)!.say(`${h}:2`);
      sent.push(`${h}:2`);
    }
    for (const h of ['a', 'b', 'c']) {
      const expected = sent.filter((s) => !s.startsWith(`${h}:`));
      await clients.get(h)!.waitFor(expected, 10_000);
      assertOrderedOnce(clients.get(h)!.contents(), expected, h);
      assert.ok(!clients.get(h)!.contents().some((s) => s.startsWith(`${h}:`)), `${h} does not get its own messages back`);
    }
  });

  test('a peer cut off while the others talk gets everything once its link is back, in order, once', async () => {
    const c = peers.get('c')!;
    const downBefore = c.log.lines.filter((l) => l.msg === 'peer link down').length;
    lab.setLink('c', false);
    // Both of c's links are declared dead (link timeout 3 s) before the others talk.
    await c.log.wait(() => c.log.lines.filter((l) => l.msg === 'peer link down').length >= downBefore + 2, 15_000, 'c to lose both links');
    const during: string[] = [];
    for (let i = 3; i <= 7; i++) {
      for (const h of ['a', 'b']) {
        await clients.get(h)!.say(`${h}:${i}`);
        during.push(`${h}:${i}`);
      }
    }
    await clients.get('a')!.waitFor(during.filter((s) => s.startsWith('b:')), 10_000);
    await clients.get('b')!.waitFor(during.filter((s) => s.startsWith('a:')), 10_000);
    assert.ok(!clients.get('c')!.contents().some((s) => during.includes(s)), 'nothing reached c while it was cut off');
    lab.setLink('c', true);
    sent.push(...during);
    const expected = sent.filter((s) => !s.startsWith('c:'));
    await clients.get('c')!.waitFor(expected, 30_000);
    await c.waitLinked([ids.get('a')!, ids.get('b')!], 15_000);
    assertOrderedOnce(clients.get('c')!.contents(), expected, 'c');
  });

  test('a late joiner receives the history', async () => {
    lab.addHost('d', 4, [0]);
    const d = new PeerProc({ name: 'd', prefix: lab.exec('d', []), args: PEER_ARGS, env: ALL });
    peers.set('d', d);
    ids.set('d', (await d.ready()).peer);
    const client = new LineClient('user-d', 5190, lab.exec('d', []));
    clients.set('d', client);
    await client.hello();
    await client.waitFor(sent, 20_000);
    assertOrderedOnce(client.contents(), sent, 'd');
  });

  test('a repeater server on the LAN announces itself and is found without an address', async () => {
    lab.addHost('r', 9, [0]);
    const dir = `/tmp/lab93-netns-server-${process.pid}`;
    const server = spawn('ip', ['netns', 'exec', lab.hosts.get('r')!.ns, process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'server', '--port', '5190'], {
      cwd: new URL('../..', import.meta.url).pathname, env: { ...process.env, ...ALL, LAB93_DATA_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let log = '';
      server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`server did not announce: ${log}`)), 15_000);
        server.stderr!.on('data', () => {
          if (log.includes('announced on the LAN')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      // From another host: discoverRepeater() lists it (and peers are not mistaken for servers).
      const script = "import('./src/peer/discovery.ts').then(async (m) => console.log(JSON.stringify(await m.discoverRepeater({ waitMs: 2500 }))))";
      const out = await run(lab.exec('a', [process.execPath, '--import', 'tsx', '-e', script]));
      const found = JSON.parse(out.trim().split('\n').pop()!) as Array<{ mode: string; port: number; addresses: string[] }>;
      assert.equal(found.length, 1, `one repeater found: ${out}`);
      assert.equal(found[0]!.port, 5190);
      assert.equal(found[0]!.addresses[0], '10.93.0.9');
      // `lab93 -r -c` with no address joins it (pipe mode: the line is sent, acknowledged, done).
      await run(lab.exec('a', [process.execPath, '--import', 'tsx', 'src/cli/main.ts', '-r', '-c', '--name', 'zed']), 'hello without an address\n');
      const check = new LineClient('checker', 5190, lab.exec('r', []));
      await check.hello();
      check.close();
      assert.ok(check.contents().includes('hello without an address'), `the server stored the message: ${JSON.stringify(check.contents())}`);
      // A peer's /scan lists servers and peers alike.
      const scan = peers.get('b')!.log.lines.filter((l) => l.msg === 'discovery: found' && l.mode === 'repeater');
      assert.ok(scan.length >= 1, 'peer b saw the repeater server announce itself');
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
      rmSync(`/tmp/lab93-netns-client-${process.pid}`, { recursive: true, force: true });
    }
  });
});

describe('a chain A - B - C on two LANs', { skip: why ?? false }, () => {
  let lab: Lab;
  const peers: PeerProc[] = [];

  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    lab?.destroy();
  });

  test("A's messages reach C through B, which is on both LANs", async () => {
    lab = new Lab();
    lab.addBridge();
    lab.addBridge();
    lab.addHost('a', 1, [0]);
    lab.addHost('b', 2, [0, 1]);
    lab.addHost('c', 3, [1]);
    const [a, b, c] = ['a', 'b', 'c'].map((h) => new PeerProc({ name: h, prefix: lab.exec(h, []), args: PEER_ARGS, env: ALL }));
    peers.push(a!, b!, c!);
    const [ia, ib, ic] = await Promise.all([a!.ready(), b!.ready(), c!.ready()]);
    await b!.waitLinked([ia!.peer, ic!.peer], 10_000);
    const ca = new LineClient('ann', 5190, lab.exec('a', []));
    const cc = new LineClient('cid', 5190, lab.exec('c', []));
    await ca.hello();
    await cc.hello();
    for (let i = 1; i <= 3; i++) await ca.say(`a:${i}`);
    await cc.say('c:1');
    await cc.waitFor(['a:1', 'a:2', 'a:3'], 10_000);
    await ca.waitFor(['c:1'], 10_000);
    assertOrderedOnce(cc.contents(), ['a:1', 'a:2', 'a:3'], 'c');
    // A and C never saw each other: every message went through B.
    assert.ok(!a!.linkedPeers().has(ic!.peer) && !c!.linkedPeers().has(ia!.peer), 'A and C are not linked directly');
    const bFound = b!.log.lines.filter((l) => l.msg === 'discovery: found');
    assert.deepEqual(new Set(bFound.map((l) => l.via)), new Set(['eth0', 'eth1']), 'B discovers on both of its interfaces');
    ca.close();
    cc.close();
  });
});

function run(argv: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { cwd: new URL('../..', import.meta.url).pathname, env: { ...process.env, ...ALL, LAB93_DATA_DIR: `/tmp/lab93-netns-client-${process.pid}` }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) p.stdin!.end(input);
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
  });
}
