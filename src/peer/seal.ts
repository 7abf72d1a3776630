/**
 * Sealed direct messages between peers (docs/protocol-peers.md, "Sealed direct messages"): the
 * subject and content of a DM are encrypted to the recipient peer's X25519 key and to the
 * sender's own, so relays store and forward only ciphertext, while the recipient, and the
 * sender after a restart or from a history it pulls back, can read it.
 *
 * Box layout (all lengths fixed except the body):
 *
 *   1   version (1)
 *   32  ephemeral X25519 public key E
 *   1   n, the number of key slots (1..MAX_SLOTS)
 *   48n key slots: the 32-byte content key K, ChaCha20-Poly1305-encrypted for each reader
 *   ..  body: ChaCha20-Poly1305(K) of the padded body record, tag last
 *
 * A slot's key is HKDF-SHA256(X25519(e, R), salt = E || R, info "lab93/dm-wrap/v1") for a reader
 * R. The associated data of every AEAD call is the DM header (gid, sender origin and name,
 * recipient name and peer id) with E, and for the body also everything before it: a box cut out
 * of one message and pasted into another, by a peer that signs the second one itself, does not
 * open, and no byte of a box changes unnoticed. Every key (each slot key, K) encrypts
 * exactly one plaintext, so the all-zero nonce is safe.
 *
 * The body is padded to a multiple of 32 bytes: the length of a DM says little about its words.
 * Hidden: subject and content. Visible to relays: who wrote to whom, when, in which room, and
 * the size to within 32 bytes.
 */
import { createCipheriv, createDecipheriv, diffieHellman, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { bytes, decodeRecord, encodeRecord, fail, ok, optText, text, type Result } from './canonical.js';
import { KEY_BYTES, boxKeyPairFromSeed, newBoxKeyPair, publicKeyObject } from './identity.js';

/** What the AEAD binds a box to: the signed header of the message that carries it. */
export interface DmHeader {
  gid: string;
  /** The sender's peer id (the message's origin). */
  origin: string;
  /** The sender's username. */
  username: string;
  /** The recipient's username. */
  to: string;
  /** The recipient's peer id (the peer whose key the name is bound to). */
  to_peer: string;
}

export interface DmBody { subject: string | null; content: string }

export const SEAL_VERSION = 1;
/** Readers per box: the recipient and the sender today; room for a few more. */
export const MAX_SLOTS = 4;
const TAG_BYTES = 16;
const SLOT_BYTES = KEY_BYTES + TAG_BYTES;
const HEAD_BYTES = 1 + KEY_BYTES + 1;
const PAD_TO = 32;
const NONCE = Buffer.alloc(12);
const BODY_DOMAIN = 'lab93/dm-body/v1';

/** Box size for a body record of `plainBytes` and `slots` readers (for the packet's size limit). */
export function sealedSize(subjectAndContentUtf8Bytes: number, slots = 2): number {
  // The body record: domain (5 + 16), subject (at most 5 + its bytes), content (5 + its bytes), padding (5 + pad).
  const raw = 5 + BODY_DOMAIN.length + 10 + subjectAndContentUtf8Bytes + 5;
  return HEAD_BYTES + slots * SLOT_BYTES + Math.ceil(raw / PAD_TO) * PAD_TO + TAG_BYTES;
}

function headerAad(h: DmHeader, ephemeral: Buffer): Result<Buffer> {
  if (h === null || typeof h !== 'object') return fail('bad_field', 'no header');
  return encodeRecord('lab93/dm-header/v1', [text(h.gid), text(h.origin), text(h.username), text(h.to), text(h.to_peer), bytes(ephemeral)]);
}

function aead(key: Buffer, aad: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, NONCE, { authTagLength: TAG_BYTES });
  c.setAAD(aad, { plaintextLength: plain.length });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

/** The plaintext, or null when the tag does not verify. */
function unaead(key: Buffer, aad: Buffer, sealed: Buffer): Buffer | null {
  const ct = sealed.subarray(0, sealed.length - TAG_BYTES);
  try {
    const d = createDecipheriv('chacha20-poly1305', key, NONCE, { authTagLength: TAG_BYTES });
    d.setAAD(aad, { plaintextLength: ct.length });
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    return null;
  }
}

function slotKey(shared: Buffer, ephemeral: Buffer, reader: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, reader]), 'lab93/dm-wrap/v1', KEY_BYTES));
}

function ecdh(priv: KeyObject, pubRaw: Buffer): Buffer | null {
  const pub = publicKeyObject('x25519', pubRaw);
  if (!pub.ok) return null;
  try {
    return diffieHellman({ privateKey: priv, publicKey: pub.value });
  } catch {
    return null; // a small-order key: the shared secret would be all zeros
  }
}

/**
 * For golden vectors and tests only: a fixed ephemeral seed and content key. Reusing them for
 * two different bodies to the same reader reuses (key, nonce) pairs and breaks the seal.
 */
export interface SealEntropy { ephemeralSeed: Buffer; contentKey: Buffer }

/**
 * Seals a DM body to `readers` (X25519 public keys): the recipient peer's first, then the
 * sender's own, so the sender can read what it sent from any copy. Duplicates are sealed once.
 */
export function sealDm(header: DmHeader, body: DmBody, readers: readonly Buffer[], entropy?: SealEntropy): Result<Buffer> {
  const unique: Buffer[] = [];
  for (const r of readers) {
    // Length only: a small-order key is caught by the key agreement below (OpenSSL refuses the
    // all-zero secret), which is the same test checkBoxKey makes, without doing it twice.
    if (!Buffer.isBuffer(r) || r.length !== KEY_BYTES) return fail('bad_key', `X25519 keys are ${KEY_BYTES} bytes`);
    if (!unique.some((u) => u.equals(r))) unique.push(r);
  }
  if (unique.length === 0 || unique.length > MAX_SLOTS) return fail('bad_field', `a box has 1 to ${MAX_SLOTS} readers`);
  if (body === null || typeof body !== 'object') return fail('bad_field', 'no body');
  // The last field is zero padding that brings the record to a multiple of PAD_TO bytes.
  const unpadded = encodeRecord(BODY_DOMAIN, [optText(body.subject), text(body.content), bytes(Buffer.alloc(0))]);
  if (!unpadded.ok) return unpadded;
  const plain = Buffer.concat([unpadded.value, Buffer.alloc((PAD_TO - (unpadded.value.length % PAD_TO)) % PAD_TO)]);
  plain.writeUInt32BE(plain.length - unpadded.value.length, unpadded.value.length - 4);

  const eph = entropy ? boxKeyPairFromSeed(entropy.ephemeralSeed) : ok(newBoxKeyPair());
  if (!eph.ok) return eph;
  const { privateKey: ePriv, publicKey: ePub } = eph.value;
  const contentKey = entropy ? entropy.contentKey : randomBytes(KEY_BYTES);
  if (contentKey.length !== KEY_BYTES) return fail('bad_field', 'content keys are 32 bytes');
  const aad = headerAad(header, ePub);
  if (!aad.ok) return aad;

  const parts: Buffer[] = [Buffer.of(SEAL_VERSION), ePub, Buffer.of(unique.length)];
  for (const r of unique) {
    const shared = ecdh(ePriv, r);
    if (!shared) return fail('bad_key', 'a small-order X25519 key');
    parts.push(aead(slotKey(shared, ePub, r), aad.value, contentKey));
  }
  // The body's associated data also covers every slot: no byte of a box can change unnoticed
  // by any of its readers, even in a slot that is not theirs.
  parts.push(aead(contentKey, Buffer.concat([aad.value, ...parts]), plain));
  return ok(Buffer.concat(parts));
}

/** The reader's keys: its X25519 private key and the matching public key. */
export interface BoxReader { boxPrivate: KeyObject; boxPublic: Buffer }

/**
 * Opens a box with the reader's key, for the header of the message that carried it. Total:
 * `truncated`, `bad_version`, `bad_encoding` for a malformed box; `not_for_me` when no slot opens
 * (not addressed to this key, or the header or the slot was altered); `tampered` when the
 * slot opens and the body does not.
 */
export function openDm(header: DmHeader, box: Buffer, me: BoxReader): Result<DmBody> {
  if (!Buffer.isBuffer(box) || box.length < HEAD_BYTES) return fail('truncated', 'box header');
  if (box[0] !== SEAL_VERSION) return fail('bad_version', `box version ${box[0]}`);
  const ePub = box.subarray(1, 1 + KEY_BYTES);
  const n = box[HEAD_BYTES - 1]!;
  if (n < 1 || n > MAX_SLOTS) return fail('bad_encoding', `${n} key slots`);
  const bodyAt = HEAD_BYTES + n * SLOT_BYTES;
  if (box.length < bodyAt + TAG_BYTES) return fail('truncated', 'key slots or body');
  const aad = headerAad(header, ePub);
  if (!aad.ok) return aad;
  const shared = ecdh(me.boxPrivate, ePub);
  if (!shared) return fail('tampered', 'the ephemeral key has small order');
  const wrap = slotKey(shared, ePub, me.boxPublic);
  let contentKey: Buffer | null = null;
  for (let i = 0; i < n && !contentKey; i++) {
    contentKey = unaead(wrap, aad.value, box.subarray(HEAD_BYTES + i * SLOT_BYTES, HEAD_BYTES + (i + 1) * SLOT_BYTES));
  }
  if (!contentKey) return fail('not_for_me');
  const plain = unaead(contentKey, Buffer.concat([aad.value, box.subarray(0, bodyAt)]), box.subarray(bodyAt));
  if (!plain) return fail('tampered');
  const rec = decodeRecord(plain);
  if (!rec.ok) return rec;
  const [subject, content, pad] = rec.value.fields;
  if (rec.value.domain !== BODY_DOMAIN || rec.value.fields.length !== 3 || !subject || !content || !pad
    || (subject.t !== 'null' && subject.t !== 'text') || content.t !== 'text' || pad.t !== 'bytes') {
    return fail('bad_encoding', 'not a DM body');
  }
  return ok({ subject: subject.t === 'text' ? subject.v : null, content: content.v });
}
