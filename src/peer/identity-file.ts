/**
 * The peer's identity file and the network secret file: the only file I/O of the identity
 * modules (docs/protocol-peers.md, "Identity"). The encoding and decoding of the file's text
 * are pure and total; `loadOrCreateIdentity`, `recordLastSeq` and `readNetworkSecretFile` touch
 * the disk and return typed errors, never throw.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fail, fromB64url, ok, toB64url, type Result } from './canonical.js';
import { KEY_BYTES, generateIdentity, identityFromSeeds, rawSeed, type PeerIdentity } from './identity.js';
import { MAX_SEQ } from './packets.js';

interface IdentityFileV1 {
  lab93: 'peer-identity';
  version: 1;
  peer_id: string;
  sign: { type: 'ed25519'; public: string; seed: string };
  box: { type: 'x25519'; public: string; seed: string };
  /**
   * The highest seq this identity has numbered a message with (absent: none yet, or a file from
   * before it was kept). It outlives the store, so a peer whose store is lost goes on after the
   * numbers its neighbours already hold (docs/broadcast.md, "A lost store").
   */
  last_seq?: number;
}

/** The identity file's text (JSON; seeds and public keys in base64url). */
export function encodeIdentityFile(id: PeerIdentity, lastSeq = 0): string {
  const f: IdentityFileV1 = {
    lab93: 'peer-identity', version: 1, peer_id: id.peerId,
    sign: { type: 'ed25519', public: toB64url(id.signPublic), seed: toB64url(rawSeed(id.signPrivate)) },
    box: { type: 'x25519', public: toB64url(id.boxPublic), seed: toB64url(rawSeed(id.boxPrivate)) },
    ...(lastSeq > 0 ? { last_seq: lastSeq } : {}),
  };
  return `${JSON.stringify(f, null, 2)}\n`;
}

/** Reads an identity file's text; the public keys and peer id must match the seeds. Total. */
export function decodeIdentityFile(textIn: string): Result<PeerIdentity> {
  const r = decodeIdentityFileWithSeq(textIn);
  return r.ok ? ok(r.value.identity) : r;
}

/** An identity file's contents: the keys, and the last seq numbered with them (0: none recorded). */
export interface IdentityFile { identity: PeerIdentity; lastSeq: number }

/** Reads an identity file's text with the last seq it records. Total. */
export function decodeIdentityFileWithSeq(textIn: string): Result<IdentityFile> {
  let f: Partial<IdentityFileV1> | null;
  try {
    f = JSON.parse(textIn) as Partial<IdentityFileV1> | null;
  } catch {
    return fail('key_file_corrupt', 'not JSON');
  }
  if (f === null || typeof f !== 'object' || f.lab93 !== 'peer-identity') return fail('key_file_corrupt');
  if (f.version !== 1) return fail('bad_version', `identity file version ${String(f.version)}`);
  if (typeof f.sign !== 'object' || f.sign === null || typeof f.box !== 'object' || f.box === null) return fail('key_file_corrupt', 'keys missing');
  const ss = fromB64url(f.sign.seed, KEY_BYTES);
  const bs = fromB64url(f.box.seed, KEY_BYTES);
  if (!ss.ok || !bs.ok) return fail('key_file_corrupt', 'a seed is not 32 bytes of base64url');
  const id = identityFromSeeds(ss.value, bs.value);
  if (!id.ok) return fail('key_file_corrupt', id.message);
  const v = id.value;
  if (f.sign.public !== toB64url(v.signPublic) || f.box.public !== toB64url(v.boxPublic) || f.peer_id !== v.peerId) {
    return fail('key_file_corrupt', 'the public keys or peer id do not match the seeds');
  }
  const lastSeq = f.last_seq === undefined ? 0 : f.last_seq;
  if (!Number.isSafeInteger(lastSeq) || lastSeq < 0 || lastSeq > MAX_SEQ) return fail('key_file_corrupt', 'last_seq is not a sequence number');
  return ok({ identity: v, lastSeq });
}

function readIdentity(path: string): Result<IdentityFile> | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return fail('io', (err as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return fail('key_file_corrupt', 'not a regular file');
    // As ssh does with private keys: refuse one others can read, rather than use a leaked key.
    if ((st.mode & 0o077) !== 0) return fail('key_file_exposed', `${path} is ${(st.mode & 0o777).toString(8)}; chmod 600 it`);
    return decodeIdentityFileWithSeq(readFileSync(fd, 'utf8'));
  } catch (err) {
    return fail('io', (err as Error).message);
  } finally {
    closeSync(fd);
  }
}

/**
 * The peer's identity at `path`, made at first start. A new file is written to a temporary file
 * opened with O_EXCL and mode 0600 (so it is private from its first byte, never chmod-ed after),
 * synced, then hard-linked into place: link() fails if `path` exists, so two peers starting at
 * once over one folder never overwrite each other's key; the loser reads the winner's. A missing
 * folder is created 0700.
 */
export function loadOrCreateIdentity(path: string, make: () => PeerIdentity = generateIdentity): Result<IdentityFile & { created: boolean }> {
  const existing = readIdentity(path);
  if (existing) return existing.ok ? ok({ ...existing.value, created: false }) : existing;
  const identity = make();
  const dir = dirname(path);
  let tmp: string | null = null;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    tmp = writeSyncedTemp(path, encodeIdentityFile(identity));
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const won = readIdentity(path);
      return won === null ? fail('io', `${path} vanished`) : won.ok ? ok({ ...won.value, created: false }) : won;
    }
    syncDir(dir);
    return ok({ identity, created: true, lastSeq: 0 });
  } catch (err) {
    return fail('io', (err as Error).message);
  } finally {
    removeTemp(tmp);
  }
}

/**
 * Records in the identity file at `path` that `identity` has numbered messages up to `lastSeq`.
 * The whole file is rewritten as at creation (a temporary file in the same folder, O_EXCL and
 * 0600 from its first byte, synced before the rename, so a crash leaves the old file or the new
 * one, never half of one, and never loses the keys) and renamed over the old one. The folder is
 * not synced (it costs as much again, on every post): after a power cut the previous record may
 * come back, which matters only if the store is lost as well, and the node rewrites it at start
 * from the store when the store holds more.
 */
export function recordLastSeq(path: string, identity: PeerIdentity, lastSeq: number): Result<void> {
  let tmp: string | null = null;
  try {
    tmp = writeSyncedTemp(path, encodeIdentityFile(identity, lastSeq));
    renameSync(tmp, path);
    tmp = null;
    return ok(undefined);
  } catch (err) {
    return fail('io', (err as Error).message);
  } finally {
    removeTemp(tmp);
  }
}

/** A new temporary file beside `path` (O_EXCL, 0600 at creation) holding `text`, synced; its name. */
function writeSyncedTemp(path: string, text: string): string {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    removeTemp(tmp);
    throw err;
  }
  closeSync(fd);
  return tmp;
}

function removeTemp(tmp: string | null): void {
  if (tmp === null) return;
  try {
    unlinkSync(tmp);
  } catch {
    /* never created, or already renamed */
  }
}

/** Makes the new directory entry durable (best effort: some file systems refuse fsync on a folder). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported here */
  }
}

/** Reads a network secret from a file: its text without one trailing newline. */
export function readNetworkSecretFile(path: string): Result<string> {
  try {
    const s = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    return s.length === 0 ? fail('weak_secret', `${path} is empty`) : ok(s);
  } catch (err) {
    return fail('io', (err as Error).message);
  }
}
