/**
 * The pure parts of TLS trust: the fingerprint form, the pin store (keys, a damaged file, file
 * modes), the first-byte sniffer, the fingerprint in the mDNS TXT record, and the warning text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import packet from 'dns-packet';
import { PinStore, PinsFileError, instanceKey, serverKey } from '../../src/client/pins.js';
import { describeTrust, explainTlsError } from '../../src/client/transport.js';
import { pinKeyOf } from '../../src/cli/pins.js';
import { isFingerprint, normalizeFingerprint } from '../../src/net/tls.js';
import { readSightings, serviceRecords, type LocalService } from '../../src/peer/mdns-records.js';
import { sniff } from '../../src/protocol/sniff.js';
import { removeDir, tempDir } from '../helpers/server.js';

const FP = 'AB:'.repeat(31) + 'CD';
const FP2 = '01:'.repeat(31) + '23';

test('fingerprints: the openssl form, read back from what people paste', () => {
  assert.equal(isFingerprint(FP), true);
  assert.equal(isFingerprint(FP.toLowerCase()), false, 'one canonical form: upper case');
  assert.equal(normalizeFingerprint(FP.toLowerCase().replace(/:/g, '')), FP);
  assert.equal(normalizeFingerprint(`sha256 Fingerprint=${FP}`), FP, 'as openssl x509 -fingerprint prints it');
  assert.equal(normalizeFingerprint(`SHA256:${FP}`), FP);
  assert.equal(normalizeFingerprint('AB:CD'), null);
  assert.equal(normalizeFingerprint(`${FP}:EF`), null);
});

test('a TLS ClientHello is told apart by its first byte; the other protocols are not disturbed', () => {
  assert.equal(sniff(Buffer.from([0x16, 0x03, 0x01])), 'tls');
  assert.equal(sniff(Buffer.from([0x16])), 'tls', 'one byte is enough');
  assert.equal(sniff(Buffer.from('GET%')), 'classic');
  assert.equal(sniff(Buffer.from('{"type"')), 'plain');
  assert.equal(sniff(Buffer.from('eyJ0')), 'base64');
});

test('pin keys: host names in lower case, IPv6 in brackets, mDNS names apart', () => {
  assert.equal(serverKey('Lab-PC', 5190), 'lab-pc:5190');
  assert.equal(serverKey('fd00::2', 5190), '[fd00::2]:5190');
  assert.equal(instanceKey('alice@lab-pc'), 'mdns:alice@lab-pc');
  assert.equal(pinKeyOf('Lab-PC'), 'lab-pc:5190', 'the default port, as the client dials');
  assert.equal(pinKeyOf('[fd00::2]:6000'), '[fd00::2]:6000');
  assert.equal(pinKeyOf('mdns:alice@lab-pc'), 'mdns:alice@lab-pc');
});

test('the pin store: set, get, forget, list; created 0600 in a 0700 folder', () => {
  const dir = tempDir('lab93-pins-unit-');
  try {
    const s = new PinStore(join(dir, 'client', 'known-servers.json'), () => new Date('2026-01-02T03:04:05Z'));
    assert.equal(s.get('lab-pc:5190'), null);
    assert.deepEqual(s.list(), []);
    s.set(['lab-pc:5190', 'mdns:alice@lab-pc'], FP);
    assert.deepEqual(s.get('lab-pc:5190'), { fingerprint: FP, added: '2026-01-02T03:04:05.000Z' });
    assert.equal(s.get('constructor'), null, 'no inherited keys');
    assert.equal(statSync(s.path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'client')).mode & 0o777, 0o700);
    assert.deepEqual(s.list().map((p) => p.key), ['lab-pc:5190', 'mdns:alice@lab-pc']);
    // Another process of the same user sees it at once (read afresh each time).
    assert.equal(new PinStore(s.path).get('mdns:alice@lab-pc')?.fingerprint, FP);
    assert.equal(s.forget('lab-pc:5190'), true);
    assert.equal(s.forget('lab-pc:5190'), false);
    assert.equal(s.get('lab-pc:5190'), null);
  } finally {
    removeDir(dir);
  }
});

test('a damaged pins file is an error, never "no pins" (which would trust whatever answers)', () => {
  const dir = tempDir('lab93-pins-bad-');
  try {
    const path = join(dir, 'known-servers.json');
    for (const bad of ['{not json', '[]', JSON.stringify({ version: 1, servers: { 'lab-pc:5190': { fingerprint: 'nope' } } })]) {
      writeFileSync(path, bad);
      assert.throws(() => new PinStore(path).get('lab-pc:5190'), PinsFileError);
    }
    mkdirSync(join(dir, 'a-folder'));
    assert.throws(() => new PinStore(join(dir, 'a-folder')).get('x'), PinsFileError, 'unreadable is not empty');
  } finally {
    removeDir(dir);
  }
});

test('the repeater announces its fingerprint in the TXT record', () => {
  const svc: LocalService = { instance: 'lab93@lab-pc', host: 'lab-pc', port: 5190, peerId: '0123456789abcdef', mode: 'repeater', username: 'lab93', version: 1, fingerprint: FP };
  const recs = serviceRecords(svc, '10.93.0.1', 120);
  const decoded = packet.decode(packet.encode({ type: 'response', answers: recs.answers, additionals: recs.additionals }));
  const [s] = readSightings([...(decoded.answers ?? []), ...(decoded.additionals ?? [])]);
  assert.equal(s!.txt!.fp, FP);
  assert.equal(s!.txt!.mode, 'repeater');
  const { fingerprint: _, ...plain } = svc;
  const r2 = serviceRecords(plain, '10.93.0.1', 120);
  assert.equal(JSON.stringify(r2).includes('fp='), false, 'no certificate, no fp');
});

test('the warnings say what happened and how to forget the pin', () => {
  const changed = describeTrust({ kind: 'changed', key: 'lab-pc:5190', pinned: FP, presented: FP2, pinsFile: '/x/known-servers.json' });
  assert.match(changed, /WARNING: THE CERTIFICATE OF lab-pc:5190 HAS CHANGED/);
  assert.ok(changed.includes(FP) && changed.includes(FP2));
  assert.ok(changed.includes('lab93 pins forget lab-pc:5190'));
  assert.ok(changed.includes('/x/known-servers.json'));
  const pinned = describeTrust({ kind: 'pinned', keys: ['lab-pc:5190'], fingerprint: FP });
  assert.ok(pinned.includes(FP) && pinned.includes('pinned'));
  assert.equal(explainTlsError('ERR_TLS_CERT_ALTNAME_INVALID'), 'the certificate was not issued for this name or address');
});
