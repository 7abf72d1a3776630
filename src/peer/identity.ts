/**
 * Who a broadcast peer is, and how it proves it (docs/protocol-peers.md): its keys, the
 * peer id and fingerprints derived from them, message signatures, the hello proof and the
 * network key. node:crypto only, and no I/O (the identity file is src/peer/identity-file.ts).
 * Everything is a pure function of its arguments except `generateIdentity`, `newBoxKeyPair` and
 * `newChallenge` (randomness).
 *
 * Each peer holds two key pairs: Ed25519 to sign (messages, hello proofs) and X25519 to receive
 * sealed direct messages (src/peer/seal.ts). Keeping them apart avoids converting one curve's
 * key into the other's, which node:crypto does not offer and which would tie a leak of one use
 * to the other.
 */
import {
  createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey, diffieHellman,
  generateKeyPairSync, hkdfSync, randomBytes, scryptSync, sign, timingSafeEqual, verify, type KeyObject,
} from 'node:crypto';
import { bytes, canonicalMessage, encodeRecord, fail, ok, text, toBase32, type Result, type SignedFields } from './canonical.js';

// ---- keys ------------------------------------------------------------------------------------

/** A peer's own keys. The private halves are KeyObjects only, so a stray log line cannot print them. */
export interface PeerIdentity {
  readonly peerId: string;
  /** Ed25519 public key, 32 bytes: signs messages and hello proofs. */
  readonly signPublic: Buffer;
  /** X25519 public key, 32 bytes: what direct messages to this peer are sealed to. */
  readonly boxPublic: Buffer;
  readonly signPrivate: KeyObject;
  readonly boxPrivate: KeyObject;
}

export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

// DER wrappers (RFC 8410) around a raw 32-byte seed or public key: the only raw import node:crypto has.
const DER = {
  ed25519: { pkcs8: Buffer.from('302e020100300506032b657004220420', 'hex'), spki: Buffer.from('302a300506032b6570032100', 'hex') },
  x25519: { pkcs8: Buffer.from('302e020100300506032b656e04220420', 'hex'), spki: Buffer.from('302a300506032b656e032100', 'hex') },
} as const;
type Curve = keyof typeof DER;

function privateFromSeed(curve: Curve, seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([DER[curve].pkcs8, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublic(k: KeyObject): Buffer {
  return (k.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12);
}

/** The 32-byte seed of a private key (for the identity file). */
export function rawSeed(k: KeyObject): Buffer {
  return (k.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(16);
}

/** Imports a raw public key; `bad_key` for the wrong length or bytes OpenSSL refuses. Total. */
export function publicKeyObject(curve: Curve, raw: Buffer): Result<KeyObject> {
  if (!Buffer.isBuffer(raw) || raw.length !== KEY_BYTES) return fail('bad_key', `${curve} public keys are ${KEY_BYTES} bytes`);
  try {
    return ok(createPublicKey({ key: Buffer.concat([DER[curve].spki, raw]), format: 'der', type: 'spki' }));
  } catch (err) {
    return fail('bad_key', (err as Error).message);
  }
}

/** The identity whose keys grow from these two 32-byte seeds (golden vectors, tests, the key file). */
export function identityFromSeeds(signSeed: Buffer, boxSeed: Buffer): Result<PeerIdentity> {
  if (!Buffer.isBuffer(signSeed) || !Buffer.isBuffer(boxSeed) || signSeed.length !== KEY_BYTES || boxSeed.length !== KEY_BYTES) return fail('bad_key', `seeds are ${KEY_BYTES} bytes`);
  try {
    const signPrivate = privateFromSeed('ed25519', signSeed);
    const boxPrivate = privateFromSeed('x25519', boxSeed);
    const signPublic = rawPublic(createPublicKey(signPrivate));
    return ok({ peerId: peerIdOf(signPublic), signPublic, boxPublic: rawPublic(createPublicKey(boxPrivate)), signPrivate, boxPrivate });
  } catch (err) {
    return fail('bad_key', (err as Error).message);
  }
}

/** An X25519 key pair from a 32-byte seed (golden vectors of sealed messages). */
export function boxKeyPairFromSeed(seed: Buffer): Result<{ privateKey: KeyObject; publicKey: Buffer }> {
  if (!Buffer.isBuffer(seed) || seed.length !== KEY_BYTES) return fail('bad_key', `seeds are ${KEY_BYTES} bytes`);
  const privateKey = privateFromSeed('x25519', seed);
  return ok({ privateKey, publicKey: rawPublic(createPublicKey(privateKey)) });
}

/** A fresh X25519 key pair (the ephemeral key of a sealed message). */
export function newBoxKeyPair(): { privateKey: KeyObject; publicKey: Buffer } {
  const k = generateKeyPairSync('x25519');
  return { privateKey: k.privateKey, publicKey: rawPublic(k.publicKey) };
}

/** A new identity from the system's random source. */
export function generateIdentity(): PeerIdentity {
  const s = generateKeyPairSync('ed25519');
  const b = generateKeyPairSync('x25519');
  const signPublic = rawPublic(s.publicKey);
  return { peerId: peerIdOf(signPublic), signPublic, boxPublic: rawPublic(b.publicKey), signPrivate: s.privateKey, boxPrivate: b.privateKey };
}

// ---- small-order keys ------------------------------------------------------------------------
// OpenSSL's Ed25519 verify accepts the all-zero "signature" (R = identity, S = 0) for *every*
// message under a small-order public key such as 01 00..00 (test/unit/peer-identity-keys). Such a
// key has no private half: anyone could sign as it. It is refused wherever a key comes in.

const PROBE = privateFromSeed('x25519', Buffer.alloc(KEY_BYTES, 0x5a));

/**
 * The y coordinates (little-endian, sign bit of x cleared) of the eight points of order 1, 2, 4
 * and 8: y = 1 (the identity), -1, 0 (two points), and +-y8 (four points); and the non-canonical
 * encodings y + p of the two below 19, i.e. p and p + 1. libsodium refuses the same list; the test
 * checks each entry against an independent computation (the Montgomery u of each, probed by X25519).
 */
const SMALL_ORDER_Y = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

function smallOrderEd(raw: Buffer): boolean {
  const y = Buffer.from(raw);
  y[31]! &= 0x7f;
  return SMALL_ORDER_Y.has(y.toString('hex'));
}

/**
 * True when an X25519 public key has small order: X25519 clamps every private scalar to a
 * multiple of 8, so with such a key any shared secret is all zeros, which OpenSSL refuses.
 */
function smallOrderX(raw: Buffer): boolean {
  const k = publicKeyObject('x25519', raw);
  if (!k.ok) return true;
  try {
    diffieHellman({ privateKey: PROBE, publicKey: k.value });
    return false;
  } catch {
    return true;
  }
}

/** Checks a peer's X25519 key (from a hello or a message) before anything is sealed to it. */
export function checkBoxKey(raw: Buffer): Result<Buffer> {
  if (!Buffer.isBuffer(raw) || raw.length !== KEY_BYTES) return fail('bad_key', `X25519 keys are ${KEY_BYTES} bytes`);
  return smallOrderX(raw) ? fail('bad_key', 'a small-order X25519 key') : ok(raw);
}

// ---- peer ids and fingerprints ---------------------------------------------------------------

function keyHash(domain: string, key: Buffer, algorithm: 'sha256' | 'sha512'): Buffer {
  const r = encodeRecord(domain, [bytes(key)]);
  return createHash(algorithm).update(r.ok ? r.value : key).digest();
}

/** Characters of a signed peer id: 128 bits of SHA-256 in lowercase base32. */
export const PEER_ID_LENGTH = 26;
const SIGNED_PEER_ID = /^[a-z2-7]{26}$/;

/**
 * The peer id of an Ed25519 public key: base32 of the first 16 bytes of
 * SHA-256("lab93/peer-id/v1" record of the key). 128 bits: finding a second key for someone's id
 * is a 2^128 search; a collision (2^64) only gives an attacker two ids of its own. Shorter than
 * the key (26 characters instead of 43), it fits the have maps, logs and mDNS TXT records, and
 * the old 16-hex ids can never look like one (length).
 */
export function peerIdOf(signPublic: Buffer): string {
  return toBase32(keyHash('lab93/peer-id/v1', signPublic, 'sha256').subarray(0, 16));
}

/** True for a peer id of the signed kind (as opposed to an old random 16-hex id). */
export function isSignedPeerId(id: string): boolean {
  return SIGNED_PEER_ID.test(id);
}

/**
 * Four hex digits for the screen (`alice#3f9a`): the first two bytes of the peer id's hash. A
 * display aid only: 16 bits are found by trial in under a second, so two keys are told apart by
 * the key, never by this tag (show more digits when two tags collide).
 */
export function shortFingerprint(signPublic: Buffer, hexDigits = 4): string {
  return keyHash('lab93/peer-id/v1', signPublic, 'sha256').toString('hex').slice(0, hexDigits);
}

/** `alice#3f9a`. */
export function displayName(username: string, signPublic: Buffer): string {
  return `${username}#${shortFingerprint(signPublic)}`;
}

export const SAFETY_GROUPS = 6;

/**
 * The number people read out loud to confirm a key (`lab93 peer --trust alice 1234 5678 ...`):
 * 24 decimal digits in six groups of four, from SHA-512("lab93/safety-number/v1" record of the key),
 * each group a 40-bit chunk modulo 10,000 (Signal's safety numbers do the same in groups of
 * five). ~80 bits: matching one given person's number costs ~2^80 key generations. Per key, not
 * per pair, so each person has one number to tell everyone.
 */
export function safetyNumber(signPublic: Buffer): string {
  const h = keyHash('lab93/safety-number/v1', signPublic, 'sha512');
  const groups: string[] = [];
  for (let i = 0; i < SAFETY_GROUPS; i++) groups.push(String(h.readUIntBE(i * 5, 5) % 10_000).padStart(4, '0'));
  return groups.join(' ');
}

/** Reads a safety number as typed (spaces, dashes, dots ignored) into its canonical form. Total. */
export function parseSafetyNumber(typed: unknown): Result<string> {
  if (typeof typed !== 'string') return fail('bad_encoding', 'a safety number is text');
  const digits = typed.replace(/[\s.-]/g, '');
  if (!/^[0-9]{24}$/.test(digits)) return fail('bad_encoding', 'a safety number is 24 digits');
  return ok(digits.match(/.{4}/g)!.join(' '));
}

// ---- message signatures -----------------------------------------------------------------------

/** A message's signature, and its link hash (the next message's `prev`). */
export interface Signature { sig: Buffer; link: Buffer }

/**
 * Signs a message of this peer's origin, and gives the link hash the next one carries as
 * `prev` (from the same encoding). Sign the fields exactly as the receiver's packet parser will
 * hand them to verifyMessage (subject '' travels as null, so sign null).
 */
export function signMessage(me: PeerIdentity, m: SignedFields): Result<Signature> {
  if (m === null || typeof m !== 'object') return fail('bad_field', 'not a message');
  if (m.origin !== me.peerId) return fail('wrong_origin', `this peer is ${me.peerId}, not ${String(m.origin)}`);
  const c = canonicalMessage(m);
  if (!c.ok) return c;
  const sig = sign(null, c.value, me.signPrivate);
  return ok({ sig, link: linkOf(c.value, sig) });
}

function linkOf(canonical: Buffer, sig: Buffer): Buffer {
  return createHash('sha256').update(canonical).update(sig).digest();
}

interface CachedKey { key: KeyObject; peerId: string }

/**
 * Imported public keys by raw bytes, bounded (oldest out). A miss (import, small-order check,
 * peer id) costs a few verifications (bench/tools/peer-crypto-bench.ts): a mesh has few origins
 * and many messages, so each key is imported once.
 */
export class KeyCache {
  private readonly map = new Map<string, CachedKey>();
  constructor(readonly max = 10_000) {}

  /** The key's object and peer id, or `bad_key` (wrong length, refused, small order). */
  get(raw: Buffer): Result<CachedKey> {
    if (!Buffer.isBuffer(raw) || raw.length !== KEY_BYTES) return fail('bad_key', `Ed25519 keys are ${KEY_BYTES} bytes`);
    const id = raw.toString('latin1');
    const hit = this.map.get(id);
    if (hit) return ok(hit);
    if (smallOrderEd(raw)) return fail('bad_key', 'a small-order Ed25519 key');
    const k = publicKeyObject('ed25519', raw);
    if (!k.ok) return k;
    const entry = { key: k.value, peerId: peerIdOf(raw) };
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(id, entry);
    return ok(entry);
  }

  get size(): number {
    return this.map.size;
  }
}

/** A received message with the key it claims and its signature. */
export interface SignedItem { m: SignedFields; key: Buffer; sig: Buffer }

type Prepared = Result<{ data: Buffer; key: KeyObject }>;

/** The cheap checks, and the canonical bytes to verify: key, origin, signature length, encoding. */
function prepare(m: SignedFields, signKey: Buffer, sig: Buffer, cache: KeyCache): Prepared {
  if (m === null || typeof m !== 'object') return fail('bad_field', 'not a message');
  const k = cache.get(signKey);
  if (!k.ok) return k;
  if (k.value.peerId !== m.origin) return fail('wrong_origin', `the key is ${k.value.peerId}'s, the message says ${String(m.origin)}`);
  if (!Buffer.isBuffer(sig) || sig.length !== SIGNATURE_BYTES) return fail('bad_signature', `signatures are ${SIGNATURE_BYTES} bytes`);
  const data = canonicalMessage(m);
  return data.ok ? ok({ data: data.value, key: k.value.key }) : data;
}

/**
 * Verifies a message's signature: the key must be its origin's (the origin is the key's peer
 * id) and the signature must cover the canonical encoding. Gives the message's link hash (to
 * store, and to compare with the next message's `prev`). Total.
 */
export function verifyMessage(m: SignedFields, signKey: Buffer, sig: Buffer, cache: KeyCache = new KeyCache(1)): Result<Buffer> {
  const p = prepare(m, signKey, sig, cache);
  if (!p.ok) return p;
  return verify(null, p.value.data, p.value.key, sig) ? ok(linkOf(p.value.data, sig)) : fail('bad_signature');
}

/**
 * Verifies many messages on libuv's thread pool (crypto.verify with a callback) instead of the
 * event loop, results in input order. Ed25519 batch verification proper (one multi-scalar
 * multiplication) is not in node:crypto; this spreads the work over the pool's threads.
 */
export function verifyMessages(items: readonly SignedItem[], cache: KeyCache): Promise<Array<Result<Buffer>>> {
  return Promise.all(items.map(({ m, key, sig }) => {
    const p = prepare(m, key, sig, cache);
    if (!p.ok) return p;
    return new Promise<Result<Buffer>>((resolve) => {
      verify(null, p.value.data, p.value.key, sig, (err, good) => resolve(!err && good ? ok(linkOf(p.value.data, sig)) : fail('bad_signature')));
    });
  }));
}

/**
 * The link hash of a signed message: SHA-256 of its canonical bytes followed by its 64-byte
 * signature (the canonical bytes delimit themselves, the signature has a fixed length). The next
 * message of the same origin carries it as `prev`.
 */
export function messageLink(m: SignedFields, sig: Buffer): Result<Buffer> {
  if (m === null || typeof m !== 'object') return fail('bad_field', 'not a message');
  if (!Buffer.isBuffer(sig) || sig.length !== SIGNATURE_BYTES) return fail('bad_signature', `signatures are ${SIGNATURE_BYTES} bytes`);
  const c = canonicalMessage(m);
  return c.ok ? ok(linkOf(c.value, sig)) : c;
}

/**
 * Verifies a batch of messages (as they arrived in one turn of the event loop), results in input
 * order. Within a run of one origin's consecutive messages, a message whose successor verified
 * and names it as `prev` is authentic without an Ed25519 check of its own: its canonical bytes
 * and signature hash to what the successor's signature covers. So a run costs one signature
 * check and one SHA-256 per message; a broken link falls back to checking that message's own
 * signature, so one forgery in a run costs a few more checks and condemns only itself. Each
 * good item's value is its link hash, as verifyMessage gives. Total.
 */
export function verifyBatch(items: readonly SignedItem[], cache: KeyCache): Array<Result<Buffer>> {
  const out = new Array<Result<Buffer>>(items.length);
  // Latest verified item per origin, walking backwards: the successor of what comes next.
  const successor = new Map<string, { seq: number; prev: Buffer | null }>();
  for (let i = items.length - 1; i >= 0; i--) {
    const { m, key, sig } = items[i]!;
    const p = prepare(m, key, sig, cache);
    if (!p.ok) {
      out[i] = p;
      if (m !== null && typeof m === 'object') successor.delete(m.origin);
      continue;
    }
    const next = successor.get(m.origin);
    const link = linkOf(p.value.data, sig);
    const chained = next !== undefined && next.seq === m.seq + 1 && next.prev !== null && link.equals(next.prev);
    out[i] = chained || verify(null, p.value.data, p.value.key, sig) ? ok(link) : fail('bad_signature');
    if (out[i]!.ok) successor.set(m.origin, { seq: m.seq, prev: Buffer.isBuffer(m.prev) && m.prev.length === 32 ? m.prev : null });
    else successor.delete(m.origin);
  }
  return out;
}

// ---- the hello proof ----------------------------------------------------------------------------

export type HelloRole = 'dialler' | 'listener';

/** What one side says in its peer-hello: its two public keys and a fresh challenge. */
export interface HelloSide { key: Buffer; boxKey: Buffer; challenge: Buffer }

/** What one side sends after both hellos: a signature over the transcript, and a MAC with the network key. */
export interface HelloProof { sig: Buffer; mac: Buffer | null }

export const CHALLENGE_BYTES = 32;

export function newChallenge(): Buffer {
  return randomBytes(CHALLENGE_BYTES);
}

/**
 * The bytes a side signs (and MACs): both challenges, so it is fresh for both ends; both
 * signing keys, so it is bound to this pair; the signer's role, so a proof sent to us cannot
 * be sent back to us as the other's; and the signer's X25519 key, so that key is vouched for.
 */
export function helloTranscript(domain: string, signer: HelloRole, dialler: HelloSide, listener: HelloSide): Result<Buffer> {
  const s = signer === 'dialler' ? dialler : listener;
  return encodeRecord(domain, [text(signer), bytes(dialler.challenge), bytes(listener.challenge), bytes(dialler.key), bytes(listener.key), bytes(s.boxKey)]);
}

const PROOF_DOMAIN = 'lab93/peer-hello/v1';
const MAC_DOMAIN = 'lab93/peer-hello-mac/v1';
const other = (r: HelloRole): HelloRole => (r === 'dialler' ? 'listener' : 'dialler');

/** This side's proof, once both hellos are known. `net`: the network key, if the mesh has one. */
export function makeProof(me: PeerIdentity, role: HelloRole, myChallenge: Buffer, theirs: HelloSide, net: NetworkKey | null): Result<HelloProof> {
  const mine: HelloSide = { key: me.signPublic, boxKey: me.boxPublic, challenge: myChallenge };
  const [d, l] = role === 'dialler' ? [mine, theirs] : [theirs, mine];
  const t = helloTranscript(PROOF_DOMAIN, role, d, l);
  if (!t.ok) return t;
  let mac: Buffer | null = null;
  if (net) {
    const m = helloTranscript(MAC_DOMAIN, role, d, l);
    if (!m.ok) return m;
    mac = createHmac('sha256', net.helloKey).update(m.value).digest();
  }
  return ok({ sig: sign(null, t.value, me.signPrivate), mac });
}

/**
 * Checks the other side's proof. `myRole` is this side's role; `mine` what this side said in its
 * hello. The network MAC is checked first (cheap, and a stranger's key is not even imported);
 * a side with a network key and one without never link, whichever holds it. Total.
 */
export function checkProof(myRole: HelloRole, mine: HelloSide, theirs: HelloSide, proof: HelloProof, net: NetworkKey | null, cache: KeyCache = new KeyCache(1)): Result<true> {
  for (const [name, b] of [['key', theirs.key], ['box key', theirs.boxKey], ['challenge', theirs.challenge]] as const) {
    if (!Buffer.isBuffer(b) || b.length !== KEY_BYTES) return fail('bad_key', `the ${name} is not ${KEY_BYTES} bytes`);
  }
  if (theirs.key.equals(mine.key)) return fail('self');
  // Our own challenge sent back as theirs: a reflection, refused before any crypto.
  if (theirs.challenge.equals(mine.challenge)) return fail('bad_proof', 'the challenge is ours');
  const role = other(myRole);
  const [d, l] = role === 'dialler' ? [theirs, mine] : [mine, theirs];
  if (net) {
    if (!proof.mac) return fail('wrong_network', 'no network MAC');
    const m = helloTranscript(MAC_DOMAIN, role, d, l);
    if (!m.ok) return m;
    const want = createHmac('sha256', net.helloKey).update(m.value).digest();
    if (!Buffer.isBuffer(proof.mac) || proof.mac.length !== want.length || !timingSafeEqual(proof.mac, want)) return fail('wrong_network');
  } else if (proof.mac !== null) {
    return fail('wrong_network', 'the other side has a network key and we have none');
  }
  const k = cache.get(theirs.key);
  if (!k.ok) return k;
  const box = checkBoxKey(theirs.boxKey);
  if (!box.ok) return box;
  if (!Buffer.isBuffer(proof.sig) || proof.sig.length !== SIGNATURE_BYTES) return fail('bad_proof', `signatures are ${SIGNATURE_BYTES} bytes`);
  const t = helloTranscript(PROOF_DOMAIN, role, d, l);
  if (!t.ok) return t;
  return verify(null, t.value, k.value.key, proof.sig) ? ok(true) : fail('bad_proof');
}

// ---- the network key ----------------------------------------------------------------------------

/** What a peer keeps of the network secret: a MAC key for hellos and the discovery tag. Never the secret. */
export interface NetworkKey {
  readonly helloKey: KeyObject;
  /** 16 base32 characters for the mDNS TXT record `net=<tag>`. */
  readonly tag: string;
}

/**
 * scrypt cost for turning the secret into key material (32 MiB, ~0.1 s once at start). The tag
 * is public on the LAN and a hello MAC can be overheard, so a guessable secret can be tried
 * offline; scrypt makes each guess cost as much as this, not a microsecond.
 */
export const NETWORK_KEY_SCRYPT = Object.freeze({ N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });

/**
 * Derives the network key from the secret (`--network-key`, LAB93_NETWORK_KEY or a file). The
 * secret is NFC-normalised, so the same words typed on two systems give the same key.
 */
export function deriveNetworkKey(secret: string): Result<NetworkKey> {
  if (typeof secret !== 'string' || secret.length === 0) return fail('weak_secret');
  const master = scryptSync(Buffer.from(secret.normalize('NFC'), 'utf8'), 'lab93/network-key/v1', 32, NETWORK_KEY_SCRYPT);
  const sub = (info: string, n: number) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, n));
  return ok(Object.freeze({ helloKey: createSecretKey(sub('lab93/peer-hello-mac/v1', 32)), tag: toBase32(sub('lab93/discovery-tag/v1', 10)) }));
}
