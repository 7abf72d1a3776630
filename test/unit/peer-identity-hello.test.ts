/**
 * The hello proof and the network key (src/peer/identity.ts): a link is accepted only from the
 * holder of the key it presents, for this link's challenges, and with a network key only from
 * a peer that knows the same secret.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KeyCache, checkProof, deriveNetworkKey, helloTranscript, makeProof, newChallenge, type HelloProof, type HelloRole, type HelloSide,
  type NetworkKey, type PeerIdentity,
} from '../../src/peer/identity.js';
import { readNetworkSecretFile } from '../../src/peer/identity-file.js';
import { alice, bob, carol, golden, seed } from './peer-identity-vectors.js';

const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code);
const side = (id: PeerIdentity, challenge: Buffer): HelloSide => ({ key: id.signPublic, boxKey: id.boxPublic, challenge });

function proof(me: PeerIdentity, role: HelloRole, mine: Buffer, theirs: HelloSide, net: NetworkKey | null = null): HelloProof {
  const r = makeProof(me, role, mine, theirs, net);
  assert.ok(r.ok);
  return r.value;
}

function net(secret: string): NetworkKey {
  const r = deriveNetworkKey(secret);
  assert.ok(r.ok);
  return r.value;
}

/** A full handshake between a dialler and a listener; each side's verdict on the other's proof. */
function handshake(d: PeerIdentity, l: PeerIdentity, dNet: NetworkKey | null, lNet: NetworkKey | null): { dialler: string; listener: string } {
  const cd = newChallenge();
  const cl = newChallenge();
  const pd = proof(d, 'dialler', cd, side(l, cl), dNet);
  const pl = proof(l, 'listener', cl, side(d, cd), lNet);
  return {
    dialler: code(checkProof('dialler', side(d, cd), side(l, cl), pl, dNet))!,
    listener: code(checkProof('listener', side(l, cl), side(d, cd), pd, lNet))!,
  };
}

describe('the hello proof', () => {
  const cd = seed('dialler-challenge');
  const cl = seed('listener-challenge');

  it('golden vector: fixed keys and challenges give fixed transcripts, proofs, MACs and discovery tag', () => {
    const n = net('correct horse battery staple');
    const pd = proof(alice, 'dialler', cd, side(bob, cl), n);
    const pl = proof(bob, 'listener', cl, side(alice, cd), n);
    const t = helloTranscript('lab93/peer-hello/v1', 'dialler', side(alice, cd), side(bob, cl));
    assert.ok(t.ok);
    golden('hello.json', {
      dialler: 'alice', listener: 'bob', dialler_challenge: cd.toString('hex'), listener_challenge: cl.toString('hex'),
      dialler_transcript: t.value.toString('hex'),
      network_secret: 'correct horse battery staple', discovery_tag: n.tag,
      dialler_proof: { sig: pd.sig.toString('base64url'), mac: pd.mac!.toString('base64url') },
      listener_proof: { sig: pl.sig.toString('base64url'), mac: pl.mac!.toString('base64url') },
    });
    assert.equal(code(checkProof('listener', side(bob, cl), side(alice, cd), pd, n)), 'ok');
    assert.equal(code(checkProof('dialler', side(alice, cd), side(bob, cl), pl, n)), 'ok');
  });

  it('two honest peers accept each other, with and without a network key', () => {
    assert.deepEqual(handshake(alice, bob, null, null), { dialler: 'ok', listener: 'ok' });
    const n = net('class 2b');
    assert.deepEqual(handshake(alice, bob, n, n), { dialler: 'ok', listener: 'ok' });
  });

  it('a proof made for one challenge fails for another (a recorded proof cannot be replayed on a new link)', () => {
    const pd = proof(alice, 'dialler', cd, side(bob, cl));
    const fresh = newChallenge();
    assert.equal(code(checkProof('listener', side(bob, fresh), side(alice, cd), pd, null)), 'bad_proof');
    assert.equal(code(checkProof('listener', side(bob, cl), side(alice, newChallenge()), pd, null)), 'bad_proof', 'nor with another dialler challenge');
  });

  it('a proof is bound to the pair: made for bob, it does not convince carol', () => {
    const pd = proof(alice, 'dialler', cd, side(bob, cl));
    assert.equal(code(checkProof('listener', side(carol, cl), side(alice, cd), pd, null)), 'bad_proof');
  });

  it('a reflected proof fails: our own proof sent back as the other side\'s, our challenge echoed, or our own key', () => {
    // Mallory takes bob's listener proof and sends it back to bob as the dialler's proof over the
    // same challenges. The signer's role is in the transcript, so it fails.
    const pl = proof(bob, 'listener', cl, side(alice, cd));
    assert.equal(code(checkProof('listener', side(bob, cl), side(alice, cd), pl, null)), 'bad_proof', 'role swapped');
    assert.equal(code(checkProof('listener', side(bob, cl), { ...side(alice, cd), challenge: cl }, proof(alice, 'dialler', cl, side(bob, cl)), null)), 'bad_proof', 'our challenge echoed');
    assert.equal(code(checkProof('listener', side(bob, cl), side(bob, cd), pl, null)), 'self', 'our own key');
  });

  it('claiming a key without its private half fails: a proof signed by another key, or an X25519 key not vouched for', () => {
    const byCarol = proof(carol, 'dialler', cd, side(bob, cl));
    // Carol says she is alice (alice's keys in her hello) but can only sign with her own key.
    assert.equal(code(checkProof('listener', side(bob, cl), side(alice, cd), byCarol, null)), 'bad_proof');
    const pd = proof(alice, 'dialler', cd, side(bob, cl));
    assert.equal(code(checkProof('listener', side(bob, cl), { ...side(alice, cd), boxKey: carol.boxPublic }, pd, null)), 'bad_proof', 'a swapped X25519 key');
  });

  it('a wrong network key, or a network key on one side only, never links, whichever side holds it', () => {
    assert.deepEqual(handshake(alice, bob, net('class 2b'), net('class 2c')), { dialler: 'wrong_network', listener: 'wrong_network' });
    assert.deepEqual(handshake(alice, bob, net('class 2b'), null), { dialler: 'wrong_network', listener: 'wrong_network' });
    assert.deepEqual(handshake(alice, bob, null, net('class 2b')), { dialler: 'wrong_network', listener: 'wrong_network' });
    const n = net('class 2b');
    const pd = proof(alice, 'dialler', cd, side(bob, cl), n);
    const mac = Buffer.from(pd.mac!);
    mac[0]! ^= 1;
    assert.equal(code(checkProof('listener', side(bob, cl), side(alice, cd), { ...pd, mac }, n)), 'wrong_network');
    assert.equal(code(checkProof('listener', side(bob, cl), side(alice, cd), { ...pd, mac: mac.subarray(1) }, n)), 'wrong_network');
  });

  it('garbage in a hello is a typed error, never a throw', () => {
    const good = proof(alice, 'dialler', cd, side(bob, cl));
    const mine = side(bob, cl);
    for (const [theirs, p, want] of [
      [{ ...side(alice, cd), key: Buffer.alloc(31) }, good, 'bad_key'],
      [{ ...side(alice, cd), boxKey: 'x' as unknown as Buffer }, good, 'bad_key'],
      [{ ...side(alice, cd), challenge: Buffer.alloc(0) }, good, 'bad_key'],
      [{ ...side(alice, cd), key: Buffer.alloc(32) }, good, 'bad_key'],
      [{ ...side(alice, cd), boxKey: Buffer.alloc(32) }, good, 'bad_key'],
      [side(alice, cd), { sig: Buffer.alloc(10), mac: null }, 'bad_proof'],
      [side(alice, cd), { sig: null as unknown as Buffer, mac: null }, 'bad_proof'],
    ] as const) assert.equal(code(checkProof('listener', mine, theirs as HelloSide, p as HelloProof, null, new KeyCache())), want);
  });
});

describe('the network key', () => {
  it('the discovery tag tells meshes apart and does not show the secret', () => {
    const a = net('class 2b');
    assert.match(a.tag, /^[a-z2-7]{16}$/);
    assert.equal(net('class 2b').tag, a.tag);
    assert.notEqual(net('class 2c').tag, a.tag);
    // What a peer keeps is a MAC key object and the public tag; the secret itself is dropped.
    assert.deepEqual(Object.keys(a).sort(), ['helloKey', 'tag']);
    assert.equal(a.helloKey.type, 'secret');
  });

  it('the same words typed as composed or decomposed characters are the same key', () => {
    assert.equal(net('caf\u00e9').tag, net('cafe\u0301').tag);
  });

  it('an empty secret is refused; a secret file is read without its final newline', () => {
    assert.equal(code(deriveNetworkKey('')), 'weak_secret');
    const dir = mkdtempSync(join(tmpdir(), 'lab93-netkey-'));
    try {
      const p = join(dir, 'key');
      writeFileSync(p, 'class 2b\n');
      assert.deepEqual(readNetworkSecretFile(p), { ok: true, value: 'class 2b' });
      writeFileSync(p, '\n');
      assert.equal(code(readNetworkSecretFile(p)), 'weak_secret');
      assert.equal(code(readNetworkSecretFile(join(dir, 'missing'))), 'io');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
