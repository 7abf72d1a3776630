/**
 * Packet types of protocol v1 and their validation (docs/protocol.md, "Packets").
 * Validation is hand-written rather than schema-driven: it runs once per inbound frame on the
 * hot path, and each failure must name the field for the error frame.
 */
import { ProtocolError } from './errors.js';
import { DEFAULT_ROOM, type Limits } from './limits.js';
import { loneSurrogate, surrogateReason } from './text.js';

// ---- client to server -------------------------------------------------------------------
/**
 * `quiet`: a script's connection: it receives, but takes no part in presence or `who`.
 * `password` or `token`: log into the registered account of that name (docs/protocol.md, "Accounts").
 */
export interface HelloPacket { type: 'hello'; username: string; since: number | null; rooms: string[]; client?: string; quiet?: boolean; password?: string; token?: string }
/** A guest claims the name it is using (only where the server's registration is open). */
export interface RegisterPacket { type: 'register'; password: string }
/** `action`: an action line (`/me waves`), shown as "* alice waves"; present only when true. */
export interface SendPacket { type: 'message'; uid: string | null; content: string; subject: string | null; room: string; to: string | null; action?: boolean }
export interface JoinPacket { type: 'join'; room: string }
export interface LeavePacket { type: 'leave'; room: string }
export interface HistoryRequest { type: 'history'; room: string; before: number | null; limit: number }
export interface WhoRequest { type: 'who'; room: string }
/** The rooms with people in them and how many (`/rooms`). */
export interface RoomsRequest { type: 'rooms' }
export interface PingPacket { type: 'ping'; data?: unknown }
export interface PongPacket { type: 'pong'; data?: unknown }
export interface ByePacket { type: 'bye' }
/** The original Lab-93 client's packet: no type, just who and what. */
export interface SeedPacket { type: 'seed'; username: string; content: string; subject: string | null }

export type ClientPacket =
  | HelloPacket | SendPacket | JoinPacket | LeavePacket | HistoryRequest | WhoRequest | RoomsRequest
  | PingPacket | PongPacket | ByePacket | SeedPacket | RegisterPacket;
export type ClientPacketType = ClientPacket['type'];

// ---- server to client -------------------------------------------------------------------
/** A stored message as it travels to clients. */
export interface MessagePacket {
  type: 'message';
  id: number;
  uid: string | null;
  username: string;
  subject: string | null;
  content: string;
  room: string;
  to: string | null;
  timestamp: number;
  /** Sent by a connection logged into the sender's account (a guest's messages are not). */
  verified: boolean;
  /** An action line; present (true) only on action messages. */
  action?: boolean;
}
/** `account`: logged into a registered account (then with a session `token` for the next hello). */
export interface WelcomePacket { type: 'welcome'; username: string; last_id: number; users: string[]; rooms: string[]; server: string; protocol: number; account?: boolean; token?: string }
/** Answers `register`: the name is now an account, and this connection is logged into it. */
export interface RegisteredPacket { type: 'registered'; username: string; token: string }
export interface SyncedPacket { type: 'synced'; last_id: number; missed: number }
/**
 * `recipient_seen`: on the ack of a direct message, whether the server has ever seen the
 * recipient's name (online now, or a cursor kept for it): false lets a client warn about a typo.
 */
export interface AckPacket { type: 'ack'; uid: string | null; id: number; timestamp: number; duplicate?: boolean; recipient_seen?: boolean }
export interface HistoryPacket { type: 'history'; room: string; messages: MessagePacket[] }
export interface WhoPacket { type: 'who'; room: string; users: string[] }
/** A room and how many people (visible users, as `who` counts them) are in it now. */
export interface RoomCount { room: string; users: number }
/** `more`: rooms left out past the listed ones (the most populated are listed). */
export interface RoomsPacket { type: 'rooms'; rooms: RoomCount[]; more?: number }
export interface JoinedPacket { type: 'joined'; room: string; users: string[] }
export interface LeftPacket { type: 'left'; room: string }
export interface PresencePacket { type: 'presence'; room: string; username: string; status: 'online' | 'offline' }
export interface ErrorPacket { type: 'error'; code: string; message: string; uid?: string; retry_after_ms?: number }
export interface ServerByePacket { type: 'bye'; reason?: string }

export type ServerPacket =
  | MessagePacket | WelcomePacket | SyncedPacket | AckPacket | HistoryPacket | WhoPacket | RoomsPacket | JoinedPacket
  | LeftPacket | PresencePacket | ErrorPacket | PingPacket | PongPacket | ServerByePacket | RegisteredPacket;

// ---- validation ---------------------------------------------------------------------------
/** Names and rooms: printable, no whitespace, no control or format characters (no escapes, no bidi tricks). */
const NAME = /^[^\s\p{C}]+$/u;
/** Subjects: may hold spaces, never control or format characters, nor line or paragraph separators (one line). */
const NO_CONTROLS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;

function bad(field: string, why: string, uid?: string): ProtocolError {
  return new ProtocolError('bad_packet', `${field}: ${why}`, uid !== undefined ? { uid } : {});
}

/** Every string field must be Unicode text: a lone surrogate (only a `\u` escape makes one) is refused by name. */
function wellFormed(v: string, field: string, uid?: string): void {
  const unit = loneSurrogate(v);
  if (unit !== -1) throw bad(field, surrogateReason(unit), uid);
}

export function checkName(value: unknown, field: string, max: number, uid?: string): string {
  if (typeof value !== 'string') throw bad(field, 'must be a string', uid);
  if (value.length === 0) throw bad(field, 'must not be empty', uid);
  wellFormed(value, field, uid);
  if ([...value].length > max) throw bad(field, `longer than ${max} characters`, uid);
  if (!NAME.test(value)) throw bad(field, 'must not contain spaces or control characters', uid);
  return value;
}

function optString(obj: Record<string, unknown>, field: string, max: number, uid?: string): string | null {
  const v = obj[field];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw bad(field, 'must be a string', uid);
  wellFormed(v, field, uid);
  if ([...v].length > max) throw bad(field, `longer than ${max} characters`, uid);
  if (!NO_CONTROLS.test(v)) throw bad(field, 'must not contain control characters', uid);
  return v;
}

/** Longest password and token a client may send (the server's own tokens are 43 characters). */
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_TOKEN_LENGTH = 256;

/** A password: any characters (spaces too), never echoed in an error. */
function password(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(field, 'must be a non-empty string');
  if (v.length > MAX_PASSWORD_LENGTH) throw bad(field, `longer than ${MAX_PASSWORD_LENGTH} characters`);
  return v;
}

function optInt(obj: Record<string, unknown>, field: string): number | null {
  const v = obj[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(field, 'must be a non-negative integer');
  return v;
}

function room(obj: Record<string, unknown>, limits: Limits, uid?: string): string {
  const v = obj.room;
  if (v === undefined || v === null || v === '') return DEFAULT_ROOM;
  return checkName(v, 'room', limits.maxRoomLength, uid);
}

function content(obj: Record<string, unknown>, limits: Limits, uid?: string): string {
  const v = obj.content;
  if (typeof v !== 'string') throw bad('content', 'must be a string', uid);
  if (v.length === 0) throw bad('content', 'must not be empty', uid);
  // Controls, invisible and bidi characters are kept: content is free text (emoji sequences need
  // U+200D, right-to-left writing needs its marks), and receivers sanitize before display
  // (docs/protocol.md, "Text"). Only what is not text at all is refused.
  wellFormed(v, 'content', uid);
  if (Buffer.byteLength(v, 'utf8') > limits.maxContentBytes) {
    throw new ProtocolError('too_large', `content is over ${limits.maxContentBytes} bytes: split it into several messages`, uid !== undefined ? { uid } : {});
  }
  return v;
}

export type PacketResult = { ok: true; packet: ClientPacket } | { ok: false; error: ProtocolError };

/**
 * parseClientPacket as a total function: a packet or the ProtocolError that refuses it, never a
 * throw. An exception that is not a ProtocolError is a bug, and propagates to the session guard.
 */
export function decodeClientPacket(obj: Record<string, unknown>, limits: Limits): PacketResult {
  try {
    return { ok: true, packet: parseClientPacket(obj, limits) };
  } catch (err) {
    if (err instanceof ProtocolError) return { ok: false, error: err };
    throw err;
  }
}

/**
 * Turns a decoded JSON object into a typed client packet, or throws a ProtocolError
 * (`bad_packet`, `too_large`, `unknown_type`, `too_many_rooms`).
 */
export function parseClientPacket(obj: Record<string, unknown>, limits: Limits): ClientPacket {
  const type = obj.type;
  if (type === undefined) {
    if (typeof obj.username === 'string' && typeof obj.content === 'string') {
      return {
        type: 'seed',
        username: checkName(obj.username, 'username', limits.maxNameLength),
        content: content(obj, limits),
        subject: optString(obj, 'subject', limits.maxSubjectLength),
      };
    }
    throw bad('type', 'missing: every packet has a "type" (the first one is "hello")');
  }
  if (typeof type !== 'string') throw bad('type', 'must be a string');
  switch (type) {
    case 'message': {
      const uidRaw = obj.uid;
      let uid: string | null = null;
      if (uidRaw !== undefined && uidRaw !== null) {
        if (typeof uidRaw === 'string') wellFormed(uidRaw, 'uid');
        if (typeof uidRaw !== 'string' || uidRaw.length === 0 || uidRaw.length > limits.maxUidLength || !NAME.test(uidRaw)) {
          throw bad('uid', `must be a string of 1 to ${limits.maxUidLength} printable characters`);
        }
        uid = uidRaw;
      }
      const u = uid ?? undefined;
      const to = obj.to === undefined || obj.to === null || obj.to === '' ? null : checkName(obj.to, 'to', limits.maxNameLength, u);
      if (obj.action !== undefined && obj.action !== null && typeof obj.action !== 'boolean') throw bad('action', 'must be true or false', u);
      const send: SendPacket = { type, uid, content: content(obj, limits, u), subject: optString(obj, 'subject', limits.maxSubjectLength, u), room: room(obj, limits, u), to };
      if (obj.action === true) send.action = true;
      return send;
    }
    case 'hello': {
      const username = checkName(obj.username, 'username', limits.maxNameLength);
      const since = optInt(obj, 'since');
      let rooms: string[] = ['lobby'];
      if (obj.rooms !== undefined && obj.rooms !== null) {
        if (!Array.isArray(obj.rooms)) throw bad('rooms', 'must be a list of room names');
        if (obj.rooms.length > limits.maxRoomsPerConnection) throw new ProtocolError('too_many_rooms', `at most ${limits.maxRoomsPerConnection} rooms: name fewer in hello`);
        rooms = [...new Set(obj.rooms.map((r) => checkName(r, 'rooms', limits.maxRoomLength)))];
      }
      const client = optString(obj, 'client', 100);
      if (obj.quiet !== undefined && obj.quiet !== null && typeof obj.quiet !== 'boolean') throw bad('quiet', 'must be true or false');
      const hello: HelloPacket = { type, username, since, rooms };
      if (client !== null) hello.client = client;
      if (obj.quiet === true) hello.quiet = true;
      if (obj.password !== undefined && obj.password !== null) hello.password = password(obj.password, 'password');
      if (obj.token !== undefined && obj.token !== null) {
        if (typeof obj.token !== 'string' || obj.token.length === 0 || obj.token.length > MAX_TOKEN_LENGTH || !NAME.test(obj.token)) {
          throw bad('token', `must be a string of 1 to ${MAX_TOKEN_LENGTH} printable characters`);
        }
        hello.token = obj.token;
      }
      return hello;
    }
    case 'register':
      return { type, password: password(obj.password, 'password') };
    case 'join':
    case 'leave':
      return { type, room: room(obj, limits) };
    case 'history': {
      const limit = optInt(obj, 'limit') ?? 50;
      return { type, room: room(obj, limits), before: optInt(obj, 'before'), limit: Math.min(Math.max(limit, 1), limits.maxHistoryLimit) };
    }
    case 'who':
      return { type, room: room(obj, limits) };
    case 'rooms':
      return { type };
    case 'ping':
    case 'pong':
      return obj.data === undefined ? { type } : { type, data: obj.data };
    case 'bye':
      return { type };
    default:
      throw new ProtocolError('unknown_type', `unknown packet type ${JSON.stringify(type.slice(0, 40))}: the types are hello, message, join, leave, history, who, rooms, ping, pong, bye and register (docs/protocol.md, "Client to server")`);
  }
}
