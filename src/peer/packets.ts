/**
 * Packets that travel between broadcast-mode peers (docs/protocol-peers.md). Same framing as
 * repeater mode (one base64 JSON object per line); `ping`, `pong`, `bye` and `error` keep their
 * repeater shapes. Pure: decoded objects in, typed packets out, or a ProtocolError.
 */
import { ProtocolError } from '../protocol/errors.js';
import { checkName } from '../protocol/packets.js';
import { DEFAULT_ROOM, type Limits } from '../protocol/limits.js';
import { fromB64url } from './canonical.js';
import { CHALLENGE_BYTES, KEY_BYTES, SIGNATURE_BYTES, peerIdOf } from './identity.js';
import { sealedSize } from './seal.js';

/** 2: hellos carry keys and a challenge, answered by `peer-auth` (docs/protocol-peers.md). */
export const PEER_PROTOCOL_VERSION = 2;

/**
 * The highest `seq` a peer believes (docs/protocol-peers.md, "Identity"): 2^31 - 1, a signed
 * 32-bit integer in every language a student might write a peer in, and far inside the range
 * where a JavaScript number is exact. A message above it is refused; a have entry above it is
 * ignored. At 100 messages a second an origin would need eight months to reach it.
 */
export const MAX_SEQ = 2 ** 31 - 1;

/** Highest sequence number held per origin peer id, with nothing missing below it. */
export type HaveMap = Record<string, number>;

/** A local user of a peer (its terminal user, or a repeater client connected to it). */
export interface PeerUser { username: string; rooms: string[] }

export interface PeerHelloPacket {
  type: 'peer-hello';
  peer_id: string;
  name: string;
  version: number;
  /** The port the sender listens on (so that an inbound link can be redialled). */
  port: number | null;
  /** The sender's have map, or its first page when `have_more` (the rest follows in peer-have). */
  have: HaveMap;
  have_more: boolean;
  users: PeerUser[];
  /** Ed25519 public key (its hash is `peer_id`), X25519 key for sealed DMs, fresh challenge. */
  key: Buffer;
  box_key: Buffer;
  challenge: Buffer;
}

/** Proof of the hello's key: a signature over both hellos, and the network MAC when there is one. */
export interface PeerAuthPacket { type: 'peer-auth'; sig: Buffer; mac: Buffer | null }

/** A chat message as it crosses the mesh: the repeater fields plus its global identity. */
export interface PeerMessagePacket {
  type: 'peer-message';
  gid: string;
  origin: string;
  seq: number;
  uid: string | null;
  username: string;
  /** Null in a sealed DM (inside the box). */
  subject: string | null;
  /** Null in a sealed DM (inside the box). */
  content: string | null;
  room: string;
  to: string | null;
  timestamp: number;
  /**
   * A sealed direct message (docs/protocol-peers.md, "Sealed direct messages"): the recipient
   * peer's id and the box; null in a room message. A DM is always sealed.
   */
  to_peer: string | null;
  box: Buffer | null;
  /** The origin's Ed25519 key (its hash is `origin`), its signature, and its X25519 key. */
  key: Buffer;
  sig: Buffer;
  box_key: Buffer | null;
  /** The link hash of the origin's previous message (null for its first). */
  prev: Buffer | null;
}

/** The sender finished sending what the receiver lacked at hello time. */
export interface PeerSyncedPacket { type: 'peer-synced'; sent: number }
/**
 * "This is what I hold": resets what the other side believes we have (after a gap), or carries
 * a page of the hello's have map. A map may span several frames: all but the last say `more`.
 */
export interface PeerHavePacket { type: 'peer-have'; have: HaveMap; more: boolean }
export interface PeerUsersPacket { type: 'peer-users'; users: PeerUser[] }

export type PeerPacket =
  | PeerHelloPacket | PeerAuthPacket | PeerMessagePacket | PeerSyncedPacket | PeerHavePacket | PeerUsersPacket
  | { type: 'ping'; data?: unknown } | { type: 'pong'; data?: unknown }
  | { type: 'bye'; reason?: string } | { type: 'error'; code: string; message: string };

/** Peer ids: what randomPeerId() makes, and nothing that could smuggle markup or controls. */
const PEER_ID = /^[A-Za-z0-9_-]{4,64}$/;
const GID = /^[A-Za-z0-9_:.-]{1,100}$/;
const NO_CONTROLS = /^[^\p{Cc}\p{Cf}\p{Cs}]*$/u;
/** With the u flag a paired surrogate is one code point: only a lone one is \p{Cs}. */
const LONE_SURROGATE = /\p{Cs}/u;
const MAX_ORIGINS = 10_000;
const MAX_USERS = 1000;

function bad(field: string, why: string): ProtocolError {
  return new ProtocolError('bad_packet', `${field}: ${why}`);
}

function peerId(v: unknown, field: string): string {
  if (typeof v !== 'string' || !PEER_ID.test(v)) throw bad(field, 'must be 4 to 64 letters, digits, "-" or "_"');
  return v;
}

/** Binary fields travel as unpadded base64url, decoded strictly (canonical.ts). */
function b64(v: unknown, field: string, length?: number): Buffer {
  const r = fromB64url(v, length);
  if (!r.ok) throw bad(field, `must be ${length ?? 'some'} bytes of unpadded base64url`);
  return r.value;
}

/** A message's key and signature: new peers refuse unsigned new messages (`bad_signature`). */
function signature(o: Record<string, unknown>): { key: Buffer; sig: Buffer; box_key: Buffer | null; prev: Buffer | null } {
  if (o.sig === undefined || o.sig === null || o.key === undefined || o.key === null) throw new ProtocolError('bad_signature', 'unsigned message (key and sig are required)');
  return { key: b64(o.key, 'key', KEY_BYTES), sig: b64(o.sig, 'sig', SIGNATURE_BYTES), box_key: o.box_key === undefined || o.box_key === null ? null : b64(o.box_key, 'box_key', KEY_BYTES), prev: o.prev === undefined || o.prev === null ? null : b64(o.prev, 'prev', 32) };
}

function seqOf(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(field, 'must be a non-negative integer');
  return v;
}

function haveMap(v: unknown): HaveMap {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('have', 'must be an object of origin: sequence');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_ORIGINS) throw bad('have', `more than ${MAX_ORIGINS} origins`);
  const out: HaveMap = Object.create(null) as HaveMap;
  for (const [k, s] of entries) {
    const seq = seqOf(s, `have.${k}`);
    // Beyond MAX_SEQ nobody can hold it: ignored (as if unknown) rather than failing a hello.
    if (seq <= MAX_SEQ) out[peerId(k, 'have')] = seq;
  }
  return out;
}

function optText(o: Record<string, unknown>, field: string, max: number): string | null {
  const v = o[field];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || [...v].length > max || !NO_CONTROLS.test(v)) throw bad(field, `must be text of at most ${max} characters without control characters`);
  return v;
}

function users(v: unknown, limits: Limits): PeerUser[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > MAX_USERS) throw bad('users', `must be a list of at most ${MAX_USERS} users`);
  return v.map((u) => {
    if (u === null || typeof u !== 'object') throw bad('users', 'each user must be an object');
    const r = (u as Record<string, unknown>).rooms;
    if (r !== undefined && (!Array.isArray(r) || r.length > limits.maxRoomsPerConnection)) throw bad('users.rooms', 'must be a list of rooms');
    return {
      username: checkName((u as Record<string, unknown>).username, 'users.username', limits.maxNameLength),
      rooms: ((r as unknown[] | undefined) ?? []).map((x) => checkName(x, 'users.rooms', limits.maxRoomLength)),
    };
  });
}

/** Validates a decoded object as a peer packet (throws `bad_packet`, `too_large` or `unknown_type`). */
export function parsePeerPacket(o: Record<string, unknown>, limits: Limits): PeerPacket {
  switch (o.type) {
    case 'peer-hello': {
      const version = seqOf(o.version, 'version');
      const port = o.port === undefined || o.port === null ? null : seqOf(o.port, 'port');
      if (port !== null && port > 65535) throw bad('port', 'must be a port number');
      const name = optText(o, 'name', 200) ?? '';
      const id = peerId(o.peer_id, 'peer_id');
      // An old (version 1) hello has no keys: it is answered with the version error, not this one.
      if (version !== PEER_PROTOCOL_VERSION) return { type: 'peer-hello', peer_id: id, name, version, port, have: haveMap(o.have), have_more: o.have_more === true, users: users(o.users, limits), key: Buffer.alloc(0), box_key: Buffer.alloc(0), challenge: Buffer.alloc(0) };
      const key = b64(o.key, 'key', KEY_BYTES);
      if (peerIdOf(key) !== id) throw bad('peer_id', 'is not the peer id of key');
      return {
        type: 'peer-hello', peer_id: id, name, version, port, have: haveMap(o.have), have_more: o.have_more === true, users: users(o.users, limits),
        key, box_key: b64(o.box_key, 'box_key', KEY_BYTES), challenge: b64(o.challenge, 'challenge', CHALLENGE_BYTES),
      };
    }
    case 'peer-auth':
      return { type: 'peer-auth', sig: b64(o.sig, 'sig', SIGNATURE_BYTES), mac: o.mac === undefined || o.mac === null ? null : b64(o.mac, 'mac', 32) };
    case 'peer-message': {
      if (typeof o.gid !== 'string' || !GID.test(o.gid)) throw bad('gid', 'must be 1 to 100 letters, digits or "-_:."');
      const seq = seqOf(o.seq, 'seq');
      if (seq < 1) throw bad('seq', 'starts at 1');
      const to = o.to === undefined || o.to === null || o.to === '' ? null : checkName(o.to, 'to', limits.maxNameLength);
      const sealed = o.box !== undefined && o.box !== null;
      // A DM travels sealed only: one in clear (as peers wrote before sealing) is refused, so
      // no peer stores or relays other people's DMs readable.
      if (to !== null && !sealed) throw bad('box', 'a direct message must be sealed (box and to_peer)');
      if (to === null && sealed) throw bad('to', 'a sealed message names its recipient');
      let content: string | null = null;
      let box: Buffer | null = null;
      if (sealed) {
        if ((o.content !== undefined && o.content !== null) || (o.subject !== undefined && o.subject !== null)) throw bad('content', 'a sealed message carries its content and subject in the box only');
        box = b64(o.box, 'box');
        // The largest box the content and subject limits allow (two readers and two spare slots).
        if (box.length > sealedSize(limits.maxContentBytes + 4 * limits.maxSubjectLength, 4)) throw new ProtocolError('too_large', `box is over the content limit of ${limits.maxContentBytes} bytes`);
      } else {
        const c = o.content;
        if (typeof c !== 'string' || c.length === 0) throw bad('content', 'must be a non-empty string');
        // Not text (it cannot be written as UTF-8): refused, never stored and relayed.
        if (LONE_SURROGATE.test(c)) throw bad('content', 'has a lone surrogate (not Unicode text)');
        if (Buffer.byteLength(c, 'utf8') > limits.maxContentBytes) throw new ProtocolError('too_large', `content is over ${limits.maxContentBytes} bytes`);
        content = c;
      }
      const ts = o.timestamp;
      if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) throw bad('timestamp', 'must be Unix seconds');
      const uid = o.uid === undefined || o.uid === null ? null : checkName(o.uid, 'uid', limits.maxUidLength);
      const room = o.room === undefined || o.room === null || o.room === '' ? DEFAULT_ROOM : checkName(o.room, 'room', limits.maxRoomLength);
      return {
        type: 'peer-message', gid: o.gid, origin: peerId(o.origin, 'origin'), seq, uid,
        username: checkName(o.username, 'username', limits.maxNameLength),
        subject: sealed ? null : optText(o, 'subject', limits.maxSubjectLength), content, room, to, timestamp: ts,
        to_peer: sealed ? peerId(o.to_peer, 'to_peer') : null, box,
        ...signature(o),
      };
    }
    case 'peer-synced':
      return { type: 'peer-synced', sent: o.sent === undefined ? 0 : seqOf(o.sent, 'sent') };
    case 'peer-have':
      return { type: 'peer-have', have: haveMap(o.have), more: o.more === true };
    case 'peer-users':
      return { type: 'peer-users', users: users(o.users, limits) };
    case 'ping':
    case 'pong':
      return o.data === undefined ? { type: o.type } : { type: o.type, data: o.data };
    case 'bye':
      return typeof o.reason === 'string' ? { type: 'bye', reason: o.reason.slice(0, 200) } : { type: 'bye' };
    case 'error':
      // Strings only: String() of an object such as {"toString": null} throws.
      return { type: 'error', code: typeof o.code === 'string' ? o.code.slice(0, 40) : '?', message: typeof o.message === 'string' ? o.message.slice(0, 400) : '' };
    default:
      if (typeof o.type !== 'string') throw bad('type', 'missing');
      throw new ProtocolError('unknown_type', `unknown peer packet type ${JSON.stringify(o.type.slice(0, 40))}`);
  }
}
