/**
 * The canonical byte encoding of what a peer signs, MACs or seals (docs/protocol-peers.md,
 * "Canonical records"). Pure and deterministic: the same values always give the same bytes, and
 * two different lists of values never give the same bytes.
 *
 * Why not JSON: Scuttlebutt signs `JSON.stringify(msg, null, 2)`, so every implementation must
 * reproduce one engine's key order, number formatting and escaping to the byte, and its size
 * limit counts UTF-16 units instead of bytes. Here each value is a tag byte, then (for text and
 * bytes) a 4-byte big-endian byte length, then the bytes:
 *
 *   0x00 null             (distinct from the empty text 0x01 00000000)
 *   0x01 text             UTF-8 of a well-formed string, as written (no Unicode normalisation:
 *                         what is signed is exactly what is shown; normalising would tie the
 *                         encoding to a Unicode version)
 *   0x02 unsigned integer 8 bytes big-endian (safe integers only)
 *   0x03 number           IEEE-754 float64 big-endian; -0 is written as 0 (JSON carries -0 as
 *                         "0", so the receiver could never reproduce it); NaN and infinities refused
 *   0x04 bytes
 *
 * Lengths count bytes, never characters, so a non-BMP character (4 UTF-8 bytes, 2 UTF-16 units)
 * cannot be miscounted. A string with a lone surrogate is refused: UTF-8 would turn it into
 * U+FFFD, and two different strings would then share one signature.
 *
 * Every record starts with a domain text such as "lab93/peer-message/v1": it names the schema
 * and its version, and a signature made for one purpose (a hello proof) can never be read as
 * another (a message).
 */

/** Errors of the identity modules, as data (message per code); every decoder returns one of these. */
export const IDENTITY_ERRORS = {
  bad_field: 'a value cannot be encoded (not well-formed text, not a safe integer, not a finite number)',
  truncated: 'the input ends before the record does',
  bad_encoding: 'the input is not a canonical record (unknown tag, trailing bytes, bad base64url)',
  bad_key: 'a key has the wrong length or is not a valid public key',
  bad_signature: 'the signature is malformed or does not verify',
  wrong_origin: 'the key does not belong to the origin (the peer id is not derived from it)',
  bad_proof: 'the hello proof does not verify for this link',
  wrong_network: 'the other side does not know the same network key',
  self: 'the other side presents our own key',
  bad_version: 'an unknown version',
  not_for_me: 'the sealed message is not addressed to this key',
  tampered: 'the sealed message was altered or belongs to another header',
  weak_secret: 'the network secret is empty',
  key_file_corrupt: 'the identity file is not a lab93 identity',
  key_file_exposed: 'the identity file can be read by other users (it must be 0600)',
  io: 'the identity file could not be read or written',
} as const;

export type IdentityErrorCode = keyof typeof IDENTITY_ERRORS;

export type Result<T> = { ok: true; value: T } | { ok: false; code: IdentityErrorCode; message: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: IdentityErrorCode, detail?: string): Result<T> {
  return { ok: false, code, message: detail ? `${IDENTITY_ERRORS[code]}: ${detail}` : IDENTITY_ERRORS[code] };
}

/** One value of a canonical record. */
export type Field =
  | { t: 'null' }
  | { t: 'text'; v: string }
  | { t: 'uint'; v: number }
  | { t: 'num'; v: number }
  | { t: 'bytes'; v: Buffer };

/** With the u flag a pair is one code point, so this matches only a lone (unpaired) surrogate. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const TAG = { null: 0x00, text: 0x01, uint: 0x02, num: 0x03, bytes: 0x04 } as const;

export const text = (v: string): Field => ({ t: 'text', v });
export const uint = (v: number): Field => ({ t: 'uint', v });
export const num = (v: number): Field => ({ t: 'num', v });
export const bytes = (v: Buffer): Field => ({ t: 'bytes', v });
export const NULL: Field = { t: 'null' };
export const optText = (v: string | null): Field => (v === null ? NULL : text(v));
export const optBytes = (v: Buffer | null): Field => (v === null ? NULL : bytes(v));

/** Bytes a valid field takes, or an error message for one that cannot be encoded. */
function fieldSize(f: Field): number | string {
  switch (f.t) {
    case 'null':
      return 1;
    case 'text':
      if (typeof f.v !== 'string' || LONE_SURROGATE.test(f.v)) return 'is not well-formed text';
      return 5 + Buffer.byteLength(f.v, 'utf8');
    case 'uint':
      return Number.isSafeInteger(f.v) && f.v >= 0 ? 9 : 'is not a non-negative safe integer';
    case 'num':
      return typeof f.v === 'number' && Number.isFinite(f.v) ? 9 : 'is not a finite number';
    case 'bytes':
      return Buffer.isBuffer(f.v) ? 5 + f.v.length : 'is not bytes';
    default:
      return 'has an unknown kind';
  }
}

function writeField(b: Buffer, at: number, f: Field): number {
  b[at] = TAG[f.t];
  switch (f.t) {
    case 'null':
      return at + 1;
    case 'text': {
      const n = b.write(f.v, at + 5, 'utf8');
      b.writeUInt32BE(n, at + 1);
      return at + 5 + n;
    }
    case 'uint':
      b.writeBigUInt64BE(BigInt(f.v), at + 1);
      return at + 9;
    case 'num':
      b.writeDoubleBE(f.v === 0 ? 0 : f.v, at + 1); // -0 -> 0
      return at + 9;
    case 'bytes':
      b.writeUInt32BE(f.v.length, at + 1);
      f.v.copy(b, at + 5);
      return at + 5 + f.v.length;
  }
}

/** Encodes a record: a domain text, then the fields in order (sized first, then written into one buffer). */
export function encodeRecord(domain: string, fields: readonly Field[]): Result<Buffer> {
  const all = [text(domain), ...fields];
  let size = 0;
  for (let i = 0; i < all.length; i++) {
    const n = all[i] === null || typeof all[i] !== 'object' ? 'is missing' : fieldSize(all[i]!);
    if (typeof n === 'string') return fail('bad_field', `field ${i} ${n}`);
    size += n;
  }
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of all) at = writeField(b, at, f);
  return ok(b);
}

/**
 * Decodes a whole record: its domain and fields. Total: any bytes give a value or a typed
 * error. Trailing bytes, unknown tags, text that is not UTF-8 (or decodes to U+FFFD where the
 * bytes did not say so) and integers beyond 2^53 are errors, so decode(encode(x)) = x and
 * nothing else decodes.
 */
export function decodeRecord(buf: Buffer): Result<{ domain: string; fields: Field[] }> {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const tag = buf[at]!;
    at++;
    if (tag === TAG.null) {
      out.push(NULL);
      continue;
    }
    if (tag === TAG.uint || tag === TAG.num) {
      if (buf.length - at < 8) return fail('truncated', `number at ${at - 1}`);
      if (tag === TAG.uint) {
        const v = buf.readBigUInt64BE(at);
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) return fail('bad_encoding', `integer at ${at - 1} is over 2^53`);
        out.push(uint(Number(v)));
      } else {
        const v = buf.readDoubleBE(at);
        if (!Number.isFinite(v) || Object.is(v, -0)) return fail('bad_encoding', `number at ${at - 1} is not canonical`);
        out.push(num(v));
      }
      at += 8;
      continue;
    }
    if (tag !== TAG.text && tag !== TAG.bytes) return fail('bad_encoding', `unknown tag ${tag} at ${at - 1}`);
    if (buf.length - at < 4) return fail('truncated', `length at ${at - 1}`);
    const len = buf.readUInt32BE(at);
    at += 4;
    if (buf.length - at < len) return fail('truncated', `${len} bytes at ${at - 5}`);
    const body = buf.subarray(at, at + len);
    at += len;
    if (tag === TAG.bytes) {
      out.push(bytes(Buffer.from(body)));
      continue;
    }
    const s = body.toString('utf8');
    // Invalid UTF-8 decodes to U+FFFD: re-encoding tells the honest U+FFFD from a replaced one.
    if (!Buffer.from(s, 'utf8').equals(body)) return fail('bad_encoding', `text at ${at - len - 5} is not UTF-8`);
    out.push(text(s));
  }
  const first = out.shift();
  if (!first || first.t !== 'text') return fail('bad_encoding', 'a record starts with its domain text');
  return ok({ domain: first.v, fields: out });
}

// ---- base64url and base32 ------------------------------------------------------------------

/** Unpadded base64url (RFC 4648 §5): how keys, signatures and sealed boxes travel in JSON. */
export function toB64url(b: Buffer): string {
  return b.toString('base64url');
}

/**
 * Decodes unpadded base64url strictly (Node's decoder skips junk, so the text must be exactly
 * what encoding the bytes gives back); `length` checks the byte count. Total.
 */
export function fromB64url(s: unknown, length?: number): Result<Buffer> {
  if (typeof s !== 'string') return fail('bad_encoding', 'not a base64url string');
  const b = Buffer.from(s, 'base64url');
  if (b.toString('base64url') !== s) return fail('bad_encoding', 'not canonical unpadded base64url');
  if (length !== undefined && b.length !== length) return fail('bad_encoding', `${b.length} bytes, not ${length}`);
  return ok(b);
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lowercase unpadded base32 (RFC 4648 §6 alphabet): letters and digits only, case-proof to read aloud. */
export function toBase32(b: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

// ---- the signed fields of a mesh message ---------------------------------------------------

/**
 * What the origin of a message signs: the fields of `peer-message` as the receiver's packet
 * parser returns them, and the fields a signed mesh adds. `uid` is signed too: it is unique per
 * (origin, username) in every store, so a relay that could change it could make a store drop a
 * real message as a "repeat".
 */
export interface SignedFields {
  gid: string;
  origin: string;
  seq: number;
  uid: string | null;
  username: string;
  room: string;
  to: string | null;
  /** Null in a sealed direct message (the subject is inside the box). */
  subject: string | null;
  /** Null in a sealed direct message (the content is inside the box). */
  content: string | null;
  timestamp: number;
  /**
   * The link to the origin's previous message (seq - 1): SHA-256 of its canonical bytes and its
   * signature (messageLink in src/peer/identity.ts); null for seq 1. It lets a receiver verify a
   * run of one origin's messages with one signature check (verifyBatch), and makes a fork (two
   * different messages signed for one seq) visible, as Scuttlebutt's `previous` does.
   */
  prev: Buffer | null;
  /** The origin's X25519 public key (32 bytes), vouched for by this signature; null if not sent. */
  box_key: Buffer | null;
  /** A sealed direct message: the recipient's peer id; null otherwise. */
  to_peer: string | null;
  /** A sealed direct message: the box (src/peer/seal.ts); null otherwise. */
  box: Buffer | null;
}

export const MESSAGE_DOMAIN = 'lab93/peer-message/v1';

/** The bytes an origin signs for a message: fixed field order, every field always present. */
export function canonicalMessage(m: SignedFields): Result<Buffer> {
  if (m === null || typeof m !== 'object') return fail('bad_field', 'not a message');
  return encodeRecord(MESSAGE_DOMAIN, [
    text(m.gid), text(m.origin), uint(m.seq), optText(m.uid), text(m.username), text(m.room),
    optText(m.to), optText(m.subject), optText(m.content), num(m.timestamp), optBytes(m.prev),
    optBytes(m.box_key), optText(m.to_peer), optBytes(m.box),
  ]);
}
