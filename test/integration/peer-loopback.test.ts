/**
 * Two peer processes on one machine, on different ports, find each other by mDNS on the
 * loopback interface (no root needed) and chat. An mDNS port of the test's own keeps it apart
 * from anything else announcing on this machine.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineClient, PeerProc } from '../helpers/peer-proc.js';
import { freeUdpPort } from '../helpers/udp.js';

const procs: PeerProc[] = [];
const clients: LineClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(procs.map((p) => p.stop()));
});

test('two peers on one machine, on different ports, find each other and chat', async () => {
  const env = { LAB93_MDNS_INTERFACES: 'lo', LAB93_MDNS_PORT: String(await freeUdpPort()) };
  const a = new PeerProc({ name: 'alice', port: 0, env });
  const b = new PeerProc({ name: 'bob', port: 0, env });
  procs.push(a, b);
  const [ia, ib] = await Promise.all([a.ready(), b.ready()]);
  assert.notEqual(ia.port, ib.port);
  await Promise.all([a.waitLinked([ib.peer], 10_000), b.waitLinked([ia.peer], 10_000)]);
  // No --peer was given, so the link came from mDNS; each side also finds the other by itself
  // (not necessarily before the link is up: the other may have dialled first).
  const found = (p: PeerProc, other: { peer: string; port: number }) =>
    p.log.lines.some((l) => l.msg === 'discovery: found' && l.peer === other.peer && l.port === other.port);
  const deadline = Date.now() + 10_000;
  while (!(found(a, ib) && found(b, ia)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(found(a, ib), 'alice found bob by mDNS');
  assert.ok(found(b, ia), 'bob found alice by mDNS');
  // One link per pair even though both saw each other and could have dialled.
  assert.deepEqual([...a.linkedPeers()], [ib.peer]);
  assert.deepEqual([...b.linkedPeers()], [ia.peer]);

  const ca = new LineClient('ann', ia.port);
  const cb = new LineClient('ben', ib.port);
  clients.push(ca, cb);
  await Promise.all([ca.hello(), cb.hello()]);
  await ca.say('hi from alice');
  await cb.say('hi from bob');
  await cb.waitFor(['hi from alice'], 5000);
  await ca.waitFor(['hi from bob'], 5000);
});
