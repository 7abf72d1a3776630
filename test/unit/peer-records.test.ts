import { test } from 'node:test';
import assert from 'node:assert/strict';
import packet from 'dns-packet';
import { parsePeerPacket } from '../../src/peer/packets.js';
import { queryWants, readSightings, serviceRecords, type LocalService } from '../../src/peer/mdns-records.js';
import { onSubnet } from '../../src/peer/interfaces.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const svc: LocalService = { instance: 'alice@lab-pc', host: 'lab-pc', port: 5191, peerId: '0123456789abcdef', mode: 'broadcast', username: 'alice', version: 1 };

/** Through the real wire encoding, as another machine would see it. */
function roundTrip(ttl: number) {
  const recs = serviceRecords(svc, '10.93.0.1', ttl);
  const decoded = packet.decode(packet.encode({ type: 'response', answers: recs.answers, additionals: recs.additionals }));
  return readSightings([...(decoded.answers ?? []), ...(decoded.additionals ?? [])]);
}

test('an announcement reads back as one complete service', () => {
  const [s, ...rest] = roundTrip(120);
  assert.equal(rest.length, 0);
  assert.equal(s!.instance, 'alice@lab-pc');
  assert.equal(s!.port, 5191);
  assert.equal(s!.host, 'lab-pc.local');
  assert.deepEqual(s!.addresses, ['10.93.0.1']);
  assert.deepEqual(s!.txt, { v: '1', id: '0123456789abcdef', mode: 'broadcast', user: 'alice' });
  assert.equal(s!.ttl, 120);
});

test('a goodbye has TTL 0', () => {
  assert.equal(roundTrip(0)[0]!.ttl, 0);
});

test('junk and other services are skipped, never thrown', () => {
  assert.deepEqual(readSightings([{ name: '_http._tcp.local', type: 'PTR', data: 'x._http._tcp.local' } as never, null as never, { name: 5 } as never]), []);
});

test('queries: for the service type, for our instance, for the meta service, or not for us', () => {
  assert.equal(queryWants([{ name: '_lab93._tcp.local', type: 'PTR' }], svc), 'service');
  assert.equal(queryWants([{ name: 'alice@lab-pc._lab93._tcp.local', type: 'SRV' }], svc), 'service');
  assert.equal(queryWants([{ name: '_services._dns-sd._udp.local', type: 'PTR' }], svc), 'meta');
  assert.equal(queryWants([{ name: 'lab-pc.local', type: 'A' }], svc), 'address');
  assert.equal(queryWants([{ name: '_http._tcp.local', type: 'PTR' }], svc), null);
});

test('which interface a packet came in on, by subnet', () => {
  assert.ok(onSubnet('10.93.1.7', { address: '10.93.1.2', netmask: '255.255.255.0' }));
  assert.ok(!onSubnet('10.93.2.7', { address: '10.93.1.2', netmask: '255.255.255.0' }));
  assert.ok(!onSubnet('not-an-ip', { address: '10.93.1.2', netmask: '255.255.255.0' }));
});

test('peer packets: valid ones parse, bad ones name the field', () => {
  const ok = parsePeerPacket({ type: 'peer-hello', peer_id: 'abcd1234', name: 'bob', version: 1, have: { abcd1234: 3 } }, DEFAULT_LIMITS);
  assert.equal(ok.type, 'peer-hello');
  const bad: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ type: 'peer-hello', peer_id: 'a b', version: 1 }, 'bad_packet', /peer_id/],
    [{ type: 'peer-hello', peer_id: 'abcd1234', version: 1, have: { abcd1234: -1 } }, 'bad_packet', /have/],
    [{ type: 'peer-message', gid: 'g', origin: 'abcd1234', seq: 0, username: 'u', content: 'x', timestamp: 1 }, 'bad_packet', /seq/],
    [{ type: 'peer-message', gid: 'g', origin: 'abcd1234', seq: 1, username: 'u\u001b[2J', content: 'x', timestamp: 1 }, 'bad_packet', /username/],
    [{ type: 'peer-message', gid: 'g', origin: 'abcd1234', seq: 1, username: 'u', content: 'x'.repeat(4097), timestamp: 1 }, 'too_large', /content/],
    [{ type: 'hello', username: 'u' }, 'unknown_type', /hello/],
    [{}, 'bad_packet', /type/],
  ];
  for (const [obj, code, re] of bad) {
    assert.throws(() => parsePeerPacket(obj, DEFAULT_LIMITS), (e: unknown) => e instanceof ProtocolError && e.code === code && re.test(e.message), JSON.stringify(obj).slice(0, 60));
  }
});
