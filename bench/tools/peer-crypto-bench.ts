/**
 * How fast a peer signs, verifies, seals and opens (src/peer/identity.ts, seal.ts), for the
 * mesh throughput question of docs/performance.md (section 5): one core of this machine,
 * messages with 64 bytes of content. A development probe, not part of `npm run bench`:
 *
 *   node --import tsx bench/tools/peer-crypto-bench.ts [seconds per row, default 1] [--json]
 *
 * Rows: the canonical encoding alone; sign; verify with the key cached (the steady state: a
 * mesh has few origins) and with the key imported each time (why the cache exists); verification
 * of batches on libuv's thread pool (UV_THREADPOOL_SIZE, default 4); verifyBatch over runs of one
 * origin's linked messages (one signature check per run); seal and open of a DM to
 * two readers; a whole hello (two proofs made, two checked); the network key's one-time scrypt.
 */
import { createPublicKey, verify } from 'node:crypto';
import { canonicalMessage, type SignedFields } from '../../src/peer/canonical.js';
import {
  KeyCache, checkProof, deriveNetworkKey, generateIdentity, makeProof, newChallenge, signMessage, verifyBatch, verifyMessage, verifyMessages, type Signature,
} from '../../src/peer/identity.js';
import { openDm, sealDm, type DmHeader } from '../../src/peer/seal.js';

const args = process.argv.slice(2);
const seconds = Number(args.find((a) => !a.startsWith('--')) ?? 1);
const json = args.includes('--json');

const alice = generateIdentity();
const bob = generateIdentity();
const content = 'x'.repeat(64);
const message = (seq: number): SignedFields => ({
  gid: `bench-${seq}`, origin: alice.peerId, seq, uid: `u-${seq}`, username: 'alice', room: 'lobby', to: null, subject: null,
  content, timestamp: 1767225600 + seq / 1000, prev: null, box_key: alice.boxPublic, to_peer: null, box: null,
});
const must = <T>(r: { ok: true; value: T } | { ok: false; message: string }): T => {
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

/** Runs `fn` (which does `per` operations) for `seconds`; operations per second. */
async function rate(fn: () => unknown | Promise<unknown>, per = 1): Promise<number> {
  for (let i = 0; i < 50; i++) await fn(); // warm up the JIT and OpenSSL's tables
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    await fn();
    n += per;
  }
  return n / ((performance.now() - start) / 1000);
}

const N = 1000;
// One origin's messages, each linked to the one before (as a peer sends them).
const msgs: SignedFields[] = [];
const sigs: Buffer[] = [];
let prev: Buffer | null = null;
for (let k = 0; k < N; k++) {
  const m: SignedFields = { ...message(k + 1), prev };
  const s: Signature = must(signMessage(alice, m));
  msgs.push(m);
  sigs.push(s.sig);
  prev = s.link;
}
const cache = new KeyCache();
const header: DmHeader = { gid: 'bench-dm', origin: alice.peerId, username: 'alice', to: 'bob', to_peer: bob.peerId };
const box = must(sealDm(header, { subject: null, content }, [bob.boxPublic, alice.boxPublic]));
const net = must(deriveNetworkKey('bench secret'));
let i = 0;
const next = () => (i = (i + 1) % N);

const rows: Array<[string, number]> = [];
const row = async (name: string, fn: () => unknown, per = 1) => {
  const r = await rate(fn, per);
  rows.push([name, r]);
  if (!json) console.log(`${name.padEnd(44)} ${Math.round(r).toLocaleString('en-US').padStart(10)} /s`);
};

if (!json) console.log(`peer crypto, 64-byte content, ${seconds} s per row, node ${process.version}\n`);
await row('canonical encoding', () => canonicalMessage(msgs[next()]!));
await row('sign (+ link hash for the next prev)', () => signMessage(alice, msgs[next()]!));
await row('verify (key cached)', () => {
  const k = next();
  if (!verifyMessage(msgs[k]!, alice.signPublic, sigs[k]!, cache).ok) throw new Error('verify failed');
});
const spki = alice.signPublic;
await row('verify (key imported every time, no cache)', () => {
  const k = next();
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), spki]), format: 'der', type: 'spki' });
  verify(null, must(canonicalMessage(msgs[k]!)), key, sigs[k]!);
});
const fresh = Array.from({ length: 64 }, () => generateIdentity().signPublic);
await row('key cache miss (import + small-order check)', () => new KeyCache(1).get(fresh[next() % fresh.length]!));
for (const batch of [64, 256]) {
  const items = Array.from({ length: batch }, (_, j) => ({ m: msgs[j]!, key: alice.signPublic, sig: sigs[j]! }));
  await row(`verify, batches of ${batch} on the thread pool`, () => verifyMessages(items, cache), batch);
}
for (const run of [16, 64, 256]) {
  const items = Array.from({ length: run }, (_, j) => ({ m: msgs[j]!, key: alice.signPublic, sig: sigs[j]! }));
  await row(`verifyBatch, runs of ${run} (hash chain)`, () => {
    if (!verifyBatch(items, cache).every((r) => r.ok)) throw new Error('batch failed');
  }, run);
}
await row('seal DM (2 readers)', () => sealDm(header, { subject: null, content }, [bob.boxPublic, alice.boxPublic]));
await row('open DM (recipient)', () => {
  if (!openDm(header, box, bob).ok) throw new Error('open failed');
});
await row('open DM (sender, second slot)', () => openDm(header, box, alice));
await row('hello: 2 proofs made + 2 checked, network key', () => {
  const cd = newChallenge();
  const cl = newChallenge();
  const sd = { key: alice.signPublic, boxKey: alice.boxPublic, challenge: cd };
  const sl = { key: bob.signPublic, boxKey: bob.boxPublic, challenge: cl };
  const pd = must(makeProof(alice, 'dialler', cd, sl, net));
  const pl = must(makeProof(bob, 'listener', cl, sd, net));
  if (!checkProof('listener', sl, sd, pd, net, cache).ok || !checkProof('dialler', sd, sl, pl, net, cache).ok) throw new Error('proof failed');
});
const t0 = performance.now();
deriveNetworkKey('another secret');
const scryptMs = performance.now() - t0;
if (json) console.log(JSON.stringify({ node: process.version, seconds, perSecond: Object.fromEntries(rows.map(([k, v]) => [k, Math.round(v)])), networkKeyMs: Math.round(scryptMs) }));
else console.log(`${'network key derivation (scrypt, once at start)'.padEnd(44)} ${scryptMs.toFixed(0).padStart(10)} ms`);
