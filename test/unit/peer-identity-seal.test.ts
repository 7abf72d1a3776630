/**
 * Sealed direct messages (src/peer/seal.ts): only the recipient and the sender open them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_SLOTS, openDm, sealDm, sealedSize, type DmBody, type DmHeader } from '../../src/peer/seal.js';
import { generateIdentity } from '../../src/peer/identity.js';
import { alice, bob, carol, golden, readGolden, seed } from './peer-identity-vectors.js';

const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code);
const header: DmHeader = { gid: '9d3c1e4a-dm-1', origin: alice.peerId, username: 'alice', to: 'bob', to_peer: bob.peerId };
const body: DmBody = { subject: 'exam 📝', content: 'the answer to 3 is 42 (not for carol)' };
const entropy = { ephemeralSeed: seed('dm-1-ephemeral'), contentKey: seed('dm-1-content-key') };

function seal(h = header, b = body, readers = [bob.boxPublic, alice.boxPublic]): Buffer {
  const r = sealDm(h, b, readers);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.value;
}

describe('sealed direct messages', () => {
  it('golden vector: fixed keys and entropy give a fixed box, which bob and alice open', () => {
    const r = sealDm(header, body, [bob.boxPublic, alice.boxPublic], entropy);
    assert.ok(r.ok);
    golden('dm.json', {
      header, body, readers: ['bob', 'alice'], ephemeral_seed: entropy.ephemeralSeed.toString('hex'),
      content_key: entropy.contentKey.toString('hex'), box: r.value.toString('base64url'),
    });
    const box = Buffer.from(readGolden<{ box: string }>('dm.json').box, 'base64url');
    assert.deepEqual(openDm(header, box, bob), { ok: true, value: body });
    assert.deepEqual(openDm(header, box, alice), { ok: true, value: body });
  });

  it('the recipient and the sender read it; a relay (carol) cannot, and its box shows no plaintext', () => {
    const box = seal();
    assert.deepEqual(openDm(header, box, bob), { ok: true, value: body });
    assert.deepEqual(openDm(header, box, alice), { ok: true, value: body }, 'the sender reads its own sent DM');
    assert.equal(code(openDm(header, box, carol)), 'not_for_me');
    for (const word of ['answer', 'exam', '42']) assert.ok(!box.includes(Buffer.from(word)), word);
  });

  it('each box is fresh: the same DM sealed twice gives unrelated bytes', () => {
    const a = seal();
    const b = seal();
    assert.equal(a.length, b.length);
    assert.ok(!a.subarray(1, 33).equals(b.subarray(1, 33)), 'a new ephemeral key');
    assert.ok(!a.subarray(-32).equals(b.subarray(-32)));
  });

  it('a box moved under another header does not open (gid, sender, recipient or recipient peer changed)', () => {
    const box = seal();
    for (const [k, v] of [['gid', 'other-gid'], ['origin', carol.peerId], ['username', 'mallory'], ['to', 'carol'], ['to_peer', carol.peerId]] as const) {
      assert.equal(openDm({ ...header, [k]: v }, box, bob).ok, false, k);
    }
  });

  it('any altered byte, and any truncation, is a typed error, never a throw', () => {
    const box = seal();
    for (let i = 0; i < box.length; i++) {
      const b = Buffer.from(box);
      b[i]! ^= 0x01;
      const r = openDm(header, b, bob);
      assert.ok(!r.ok && ['bad_version', 'bad_encoding', 'not_for_me', 'tampered'].includes(r.code), `byte ${i}: ${code(r)}`);
    }
    for (let n = 0; n < box.length; n++) {
      const r = openDm(header, box.subarray(0, n), bob);
      assert.ok(!r.ok && ['truncated', 'bad_encoding', 'not_for_me', 'tampered'].includes(r.code), `length ${n}: ${code(r)}`);
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (a) => {
      assert.equal(openDm(header, Buffer.from(a), bob).ok, false);
    }));
    assert.equal(code(openDm(header, 'box' as unknown as Buffer, bob)), 'truncated');
    assert.equal(code(openDm(null as unknown as DmHeader, box, bob)), 'bad_field');
  });

  it('hides the length to within 32 bytes, and sealedSize tells the packet limit how big a box gets', () => {
    const sizes = new Set<number>();
    for (let n = 1; n <= 20; n++) sizes.add(seal(header, { subject: null, content: 'x'.repeat(n) }).length);
    assert.equal(sizes.size, 1, 'one to twenty characters: one size');
    for (const content of ['a', 'x'.repeat(1000), '😀'.repeat(500)]) {
      const bytesIn = Buffer.byteLength(content) + Buffer.byteLength(body.subject ?? '');
      assert.ok(seal(header, { subject: body.subject, content }).length <= sealedSize(bytesIn), content.slice(0, 5));
    }
  });

  it('a null subject stays null, an empty one stays empty', () => {
    for (const subject of [null, '']) assert.deepEqual(openDm(header, seal(header, { subject, content: 'c' }), bob), { ok: true, value: { subject, content: 'c' } });
  });

  it('readers: a DM to oneself has one slot; no readers, too many, or a bad key are typed errors', () => {
    const self = seal({ ...header, to: 'alice', to_peer: alice.peerId }, body, [alice.boxPublic, alice.boxPublic]);
    assert.equal(self[33], 1);
    assert.equal(code(sealDm(header, body, [])), 'bad_field');
    assert.equal(code(sealDm(header, body, Array.from({ length: MAX_SLOTS + 1 }, () => generateIdentity().boxPublic))), 'bad_field');
    assert.equal(code(sealDm(header, body, [Buffer.alloc(32)])), 'bad_key', 'a small-order key');
    assert.equal(code(sealDm(header, body, [Buffer.alloc(7)])), 'bad_key');
    assert.equal(code(sealDm(header, { subject: null, content: 'a\uD800' }, [bob.boxPublic])), 'bad_field');
  });
});
