/**
 * Fixed identities and the golden-vector files of test/fixtures/peer-identity/ shared by the
 * peer-identity tests. A vector file is compared with what the code computes; after a deliberate
 * change of an encoding, `LAB93_WRITE_GOLDEN=1 node scripts/run-tests.mjs peer-identity` rewrites
 * them (and the diff shows exactly which bytes moved, for review).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { identityFromSeeds, type PeerIdentity } from '../../src/peer/identity.js';
import type { SignedFields } from '../../src/peer/canonical.js';

/** A seed anyone can recompute: SHA-256 of a label. */
export const seed = (label: string): Buffer => createHash('sha256').update(label).digest();

function fixed(name: string): PeerIdentity {
  const r = identityFromSeeds(seed(`${name}-sign`), seed(`${name}-box`));
  assert.ok(r.ok);
  return r.value;
}

export const alice = fixed('alice');
export const bob = fixed('bob');
export const carol = fixed('carol');

const dir = new URL('../fixtures/peer-identity/', import.meta.url);

/** Compares `computed` with the fixture file (or writes it, with LAB93_WRITE_GOLDEN=1). */
export function golden(file: string, computed: unknown): void {
  const url = new URL(file, dir);
  const json = `${JSON.stringify(computed, null, 2)}\n`;
  if (process.env.LAB93_WRITE_GOLDEN === '1') {
    writeFileSync(url, json);
    return;
  }
  assert.deepEqual(computed, JSON.parse(readFileSync(url, 'utf8')), `${file} differs from what the code computes`);
}

export function readGolden<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as T;
}

/** A plain lobby message of alice's, as a receiver's packet parser would return it. */
export function aliceMessage(over: Partial<SignedFields> = {}): SignedFields {
  return {
    gid: '5b0f2a52-3c1e-4d1a-9a47-0f5d2e7c9b11', origin: alice.peerId, seq: 42, uid: 'c-17', username: 'alice',
    room: 'lobby', to: null, subject: null, content: 'hi', timestamp: 1767225600.5, prev: seed('alice-41'), box_key: alice.boxPublic,
    to_peer: null, box: null, ...over,
  };
}

/** SignedFields as JSON (binary fields in base64url), for the vector files. */
export function fieldsToJson(m: SignedFields): Record<string, unknown> {
  return { ...m, prev: m.prev?.toString('base64url') ?? null, box_key: m.box_key?.toString('base64url') ?? null, box: m.box?.toString('base64url') ?? null };
}

export function fieldsFromJson(o: Record<string, unknown>): SignedFields {
  const b = (v: unknown) => (v === null ? null : Buffer.from(v as string, 'base64url'));
  return { ...(o as unknown as SignedFields), prev: b(o.prev), box_key: b(o.box_key), box: b(o.box) };
}
