/**
 * Passwords (src/auth/password.ts) and tokens (src/auth/tokens.ts): the documented scrypt
 * parameters are the ones used, a hash verifies its password and nothing else, the hash never
 * contains the password, and a corrupt hash is a refusal, not a crash or a huge allocation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCRYPT, hashParams, hashPassword, verifyPassword } from '../../src/auth/password.js';
import { hashToken, newToken } from '../../src/auth/tokens.js';

describe('password hashing', () => {
  it('uses the documented defaults: scrypt N=2^15, r=8, p=1, 16-byte salt, 32-byte key', async () => {
    assert.deepEqual({ ...DEFAULT_SCRYPT }, { ln: 15, r: 8, p: 1, saltBytes: 16, keyBytes: 32 });
    const h = await hashPassword('correct horse');
    const m = /^\$scrypt\$ln=15,r=8,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(h);
    assert.ok(m, h);
    assert.equal(Buffer.from(m[1]!, 'base64').length, 16);
    assert.equal(Buffer.from(m[2]!, 'base64').length, 32);
    assert.equal(h.includes('correct'), false);
    assert.equal(await verifyPassword('correct horse', h), true);
    assert.equal(await verifyPassword('correct horsE', h), false);
  });

  it('salts every hash, and verifies hashes made with other parameters', async () => {
    const [a, b] = await Promise.all([hashPassword('pw', { ln: 10 }), hashPassword('pw', { ln: 10 })]);
    assert.notEqual(a, b);
    assert.deepEqual(hashParams(a), { ln: 10, r: 8, p: 1 });
    const old = await hashPassword('pw', { ln: 4, r: 1, p: 2, keyBytes: 64 });
    assert.equal(await verifyPassword('pw', old), true);
    assert.equal(await verifyPassword('pw2', old), false);
  });

  it('the same password typed in another normalisation form matches (NFC)', async () => {
    const h = await hashPassword('José'.normalize('NFD'), { ln: 4 });
    assert.equal(await verifyPassword('José'.normalize('NFC'), h), true);
  });

  it('a corrupt or hostile hash is a refusal', async () => {
    for (const bad of ['', 'plain', '$scrypt$ln=99,r=8,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5', '$scrypt$ln=15,r=8,p=1$c2FsdA$c2hvcnQ', '$argon2id$v=19$m=1,t=1,p=1$x$y']) {
      assert.equal(await verifyPassword('pw', bad), false, bad);
    }
  });
});

describe('session tokens', () => {
  it('are 256 random bits, url-safe, and stored only as their SHA-256', () => {
    const t = newToken();
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(newToken(), t);
    assert.match(hashToken(t), /^[0-9a-f]{64}$/);
    assert.equal(hashToken(t), hashToken(t));
  });
});
