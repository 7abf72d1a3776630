/**
 * Peer keys, peer ids, fingerprints and the identity file (src/peer/identity.ts, identity-file.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign, verify } from 'node:crypto';
import fc from 'fast-check';
import {
  KeyCache, checkBoxKey, displayName, generateIdentity, identityFromSeeds, isSignedPeerId, parseSafetyNumber,
  peerIdOf, publicKeyObject, safetyNumber, shortFingerprint,
} from '../../src/peer/identity.js';
import { decodeIdentityFile, decodeIdentityFileWithSeq, encodeIdentityFile, loadOrCreateIdentity, recordLastSeq } from '../../src/peer/identity-file.js';
import { alice, bob, carol, golden, seed } from './peer-identity-vectors.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('keys from seeds', () => {
  it('match the published Ed25519 (RFC 8032, test 1) and X25519 (RFC 7748, section 6.1) vectors', () => {
    const r = identityFromSeeds(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'), hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    assert.ok(r.ok);
    assert.equal(r.value.signPublic.toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    assert.equal(r.value.boxPublic.toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    // RFC 8032 test 1 signs the empty message; Ed25519 is deterministic, so the bytes are fixed.
    assert.equal(sign(null, Buffer.alloc(0), r.value.signPrivate).toString('hex'),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
  });

  it('golden identities: public keys, peer ids, short fingerprints and safety numbers', () => {
    golden('keys.json', Object.fromEntries([['alice', alice], ['bob', bob], ['carol', carol]].map(([name, id]) => {
      const i = id as typeof alice;
      return [name, {
        sign_seed: seed(`${name}-sign`).toString('hex'), box_seed: seed(`${name}-box`).toString('hex'),
        sign_public: i.signPublic.toString('base64url'), box_public: i.boxPublic.toString('base64url'),
        peer_id: i.peerId, short: shortFingerprint(i.signPublic), display: displayName(name as string, i.signPublic), safety_number: safetyNumber(i.signPublic),
      }];
    })));
  });

  it('seeds of the wrong length are a typed error', () => {
    const r = identityFromSeeds(Buffer.alloc(31), Buffer.alloc(32));
    assert.equal(r.ok ? 'ok' : r.code, 'bad_key');
  });
});

describe('peer ids and fingerprints', () => {
  it('a peer id is 26 base32 characters that the peer packets accept, and differs per key', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = generateIdentity();
      assert.ok(isSignedPeerId(id.peerId));
      assert.match(id.peerId, /^[A-Za-z0-9_-]{4,64}$/, 'the PEER_ID rule of src/peer/packets.ts');
      assert.equal(id.peerId, peerIdOf(id.signPublic));
      ids.add(id.peerId);
    }
    assert.equal(ids.size, 50);
    assert.ok(!isSignedPeerId('3f9a0c1d2e4b5a69'), 'an old random 16-hex id is told apart');
  });

  it('the display name carries four hex digits of the key', () => {
    assert.match(displayName('alice', alice.signPublic), /^alice#[0-9a-f]{4}$/);
    assert.notEqual(displayName('alice', alice.signPublic), displayName('alice', bob.signPublic));
  });

  it('a safety number is read back however it is typed, and a wrong one is refused', () => {
    const n = safetyNumber(alice.signPublic);
    assert.match(n, /^(\d{4} ){5}\d{4}$/);
    for (const typed of [n, n.replace(/ /g, ''), n.replace(/ /g, '-'), ` ${n.replace(/ /g, '  ')} `]) {
      const r = parseSafetyNumber(typed);
      assert.ok(r.ok);
      assert.equal(r.value, n);
    }
    for (const bad of [n.slice(0, -1), `${n}1`, n.replace(/\d/, 'x'), 42, null]) {
      const r = parseSafetyNumber(bad);
      assert.equal(r.ok ? 'ok' : r.code, 'bad_encoding');
    }
    assert.notEqual(safetyNumber(alice.signPublic), safetyNumber(bob.signPublic));
  });
});

describe('keys that are refused', () => {
  // The eight small-order points (libsodium's blocklist, incl. non-canonical encodings).
  const SMALL_ORDER = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  ];

  it('a small-order Ed25519 key, under which OpenSSL accepts one signature for every message, is refused', () => {
    const weak = hex(SMALL_ORDER[1]!);
    const k = publicKeyObject('ed25519', weak);
    assert.ok(k.ok);
    const forged = Buffer.alloc(64);
    forged[0] = 1; // R = identity, S = 0
    assert.ok(verify(null, Buffer.from('anything at all'), k.value, forged), 'the danger is real: OpenSSL verifies this');
    const cache = new KeyCache();
    for (const h of SMALL_ORDER) {
      const r = cache.get(hex(h));
      assert.equal(r.ok ? 'ok' : r.code, 'bad_key', h);
    }
  });

  it('the blocklist is right: each entry is a point of small order, found by an independent computation', () => {
    // Montgomery u = (1 + y) / (1 - y) mod p: the birational map to Curve25519 is a group
    // isomorphism, so u has small order exactly when the point does, and X25519 (which clamps
    // scalars to multiples of 8) then yields the all-zero secret that checkBoxKey refuses.
    const p = 2n ** 255n - 19n;
    const pow = (b: bigint, e: bigint): bigint => {
      let r = 1n;
      for (b %= p; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
      return r;
    };
    const yOf = (h: string): bigint => {
      const yb = hex(h);
      yb[31]! &= 0x7f;
      return BigInt(`0x${Buffer.from(yb).reverse().toString('hex')}`) % p;
    };
    const u = (y: bigint): Buffer => Buffer.from((((1n + y) * pow((1n - y + p) % p, p - 2n)) % p).toString(16).padStart(64, '0'), 'hex').reverse();
    for (const h of SMALL_ORDER) {
      const y = yOf(h);
      if (y === 1n) continue; // (0, 1) is the identity itself: order 1 by definition
      assert.equal(checkBoxKey(u(y)).ok, false, h);
    }
    for (let i = 0; i < 20; i++) assert.equal(checkBoxKey(u(yOf(generateIdentity().signPublic.toString('hex')))).ok, true);
  });

  it('real keys pass the small-order checks, and small-order X25519 keys are refused', () => {
    const cache = new KeyCache();
    for (let i = 0; i < 100; i++) {
      const id = generateIdentity();
      assert.ok(cache.get(id.signPublic).ok);
      assert.ok(checkBoxKey(id.boxPublic).ok);
    }
    for (const u of ['00'.repeat(32), `01${'00'.repeat(31)}`, 'ec' + 'ff'.repeat(30) + '7f']) {
      const r = checkBoxKey(hex(u));
      assert.equal(r.ok ? 'ok' : r.code, 'bad_key', u);
    }
  });

  it('the key cache keeps at most its bound', () => {
    const cache = new KeyCache(3);
    for (let i = 0; i < 10; i++) assert.ok(cache.get(generateIdentity().signPublic).ok);
    assert.equal(cache.size, 3);
    assert.equal(cache.get(Buffer.alloc(5)).ok, false);
  });
});

describe('the identity file', () => {
  const tmp = () => mkdtempSync(join(tmpdir(), 'lab93-identity-'));

  it('is created 0600 in a new 0700 folder at first start, even under a permissive umask, and read back the same', () => {
    const dir = tmp();
    const old = process.umask(0);
    try {
      const path = join(dir, 'peer', 'identity.json');
      const a = loadOrCreateIdentity(path);
      assert.ok(a.ok);
      assert.equal(a.value.created, true);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'peer')).mode & 0o777, 0o700);
      assert.deepEqual(readdirSync(join(dir, 'peer')), ['identity.json'], 'no temporary file is left behind');
      const b = loadOrCreateIdentity(path);
      assert.ok(b.ok);
      assert.equal(b.value.created, false);
      assert.equal(b.value.identity.peerId, a.value.identity.peerId);
      assert.ok(b.value.identity.boxPublic.equals(a.value.identity.boxPublic));
    } finally {
      process.umask(old);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an existing identity is never replaced: a second peer starting over the same folder reads the first one', () => {
    const dir = tmp();
    try {
      const path = join(dir, 'identity.json');
      assert.ok(loadOrCreateIdentity(path, () => alice).ok);
      const second = loadOrCreateIdentity(path, () => bob);
      assert.ok(second.ok);
      assert.equal(second.value.identity.peerId, alice.peerId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file others can read is refused (as ssh refuses such a key), and a damaged one is a typed error', () => {
    const dir = tmp();
    try {
      const path = join(dir, 'identity.json');
      writeFileSync(path, encodeIdentityFile(alice), { mode: 0o600 });
      chmodSync(path, 0o644);
      const exposed = loadOrCreateIdentity(path);
      assert.equal(exposed.ok ? 'ok' : exposed.code, 'key_file_exposed');
      assert.ok(!exposed.ok && exposed.message.includes('chmod 600'));
      chmodSync(path, 0o600);
      writeFileSync(path, encodeIdentityFile(alice).replace(alice.peerId, bob.peerId));
      const swapped = loadOrCreateIdentity(path);
      assert.equal(swapped.ok ? 'ok' : swapped.code, 'key_file_corrupt');
      const unwritable = loadOrCreateIdentity(join(path, 'under-a-file', 'identity.json'));
      assert.equal(unwritable.ok ? 'ok' : unwritable.code, 'io');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds the seeds, and decoding it is total', () => {
    const text = encodeIdentityFile(alice);
    assert.ok(text.includes(seed('alice-sign').toString('base64url')));
    const back = decodeIdentityFile(text);
    assert.ok(back.ok && back.value.peerId === alice.peerId);
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.constant('{"lab93":"peer-identity","version":1,"sign":{},"box":{}}')), (s) => {
      const r = decodeIdentityFile(s);
      assert.ok(!r.ok && ['key_file_corrupt', 'bad_version'].includes(r.code));
    }));
    // Every cut of a good file fails cleanly.
    for (let i = 0; i < text.length - 2; i += 7) assert.equal(decodeIdentityFile(text.slice(0, i)).ok, false);
  });

  it('records the last seq numbered with its keys: rewritten whole and 0600 under any umask, keys unchanged; a file from before reads as 0', () => {
    const dir = tmp();
    const old = process.umask(0);
    try {
      const path = join(dir, 'identity.json');
      const first = loadOrCreateIdentity(path, () => alice);
      assert.ok(first.ok && first.value.lastSeq === 0, 'a new file records none');
      assert.ok(!readFileSync(path, 'utf8').includes('last_seq'), 'and says nothing of it, as files from before');
      assert.ok(recordLastSeq(path, alice, 42).ok);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir), ['identity.json'], 'no temporary file is left behind');
      const back = loadOrCreateIdentity(path, () => bob);
      assert.ok(back.ok);
      assert.equal(back.value.lastSeq, 42);
      assert.equal(back.value.identity.peerId, alice.peerId, 'the same keys');
      assert.ok(recordLastSeq(path, alice, 43).ok);
      const again = loadOrCreateIdentity(path);
      assert.equal(again.ok && again.value.lastSeq, 43);
      const unwritable = recordLastSeq(join(path, 'under-a-file', 'identity.json'), alice, 1);
      assert.equal(unwritable.ok ? 'ok' : unwritable.code, 'io');
    } finally {
      process.umask(old);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a last_seq that is not a sequence number is a damaged file, and decoding stays total', () => {
    const text = encodeIdentityFile(alice, 7);
    const r = decodeIdentityFileWithSeq(text);
    assert.ok(r.ok && r.value.lastSeq === 7 && r.value.identity.peerId === alice.peerId);
    assert.ok(decodeIdentityFile(text).ok, 'the keys alone read as before');
    for (const bad of ['-1', '1.5', '"7"', 'null', '2147483648', '1e300']) {
      const d = decodeIdentityFileWithSeq(text.replace('"last_seq": 7', `"last_seq": ${bad}`));
      assert.equal(d.ok ? 'ok' : d.code, 'key_file_corrupt', `last_seq ${bad}`);
    }
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const d = decodeIdentityFileWithSeq(text.replace('"last_seq": 7', `"last_seq": ${JSON.stringify(v)}`));
      assert.equal(d.ok, Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 2 ** 31 - 1);
    }));
  });

  it('an identity object prints no private key', () => {
    const printed = JSON.stringify(alice) + String(alice.signPrivate) + JSON.stringify(alice.boxPrivate);
    assert.ok(!printed.includes(seed('alice-sign').toString('base64url')));
    assert.ok(!printed.includes(seed('alice-sign').toString('hex')));
    assert.ok(!printed.includes(seed('alice-box').toString('hex')));
  });
});
