/**
 * parseServerPacket is total (issue 8, item 2): whatever JSON a server sends, in whatever field,
 * the client gets a packet, `ignored` or `invalid`, never an exception. And what it accepts keeps
 * the invariants the client relies on (safe integer ids, finite times, well-formed names), so
 * nothing downstream (the local store, the cursor, the screen) meets a value it cannot take.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_SERVER_PACKET_LIMITS, parseServerPacket, type ServerPacketResult, type ValidServerPacket } from '../../src/protocol/server-packets.js';

const RUNS = { numRuns: 400 };

/** Strings as a hostile server writes them: any code unit, lone surrogates, bidi, escapes, long runs. */
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 }).map((units) => String.fromCharCode(...units)),
  fc.constantFrom('', '\ud800', '\udc00', 'a\udbff', '\u202e', '\u2066x\u2069', '\x1b[2J', '\0', '__proto__', 'constructor', 'x'.repeat(300), 'é'.repeat(5000)),
);

/** Numbers that break naive code: huge, tiny, negative zero, past 2^53, non-finite (JSON.parse('1e400') is Infinity). */
const hostileNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e308, -1e308, 5e-324, Infinity, -Infinity, Number.NaN, 8.64e12, 8.64e12 + 1),
);

const KEYS = fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'type', 'id', 'room', 'users', 'messages', 'data'));

/** Arbitrary JSON-like values; objects built with defineProperty so `__proto__` is an own key, as JSON.parse makes it. */
const { value: hostileJson } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), hostileNumber, hostileString,
    fc.array(tie('value'), { maxLength: 5 }),
    tie('object'),
  ),
  object: fc.array(fc.tuple(KEYS, tie('value')), { maxLength: 6 }).map(ownObject),
}));

function ownObject(entries: Array<[string, unknown]>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

/** Deep nesting as JSON.parse builds it (it does not recurse, so 100,000 levels parse fine). */
const deep = (depth: number, open: string, leaf: string, close: string): unknown => JSON.parse(open.repeat(depth) + leaf + close.repeat(depth));

const VALID: Record<string, Record<string, unknown>> = {
  message: { type: 'message', id: 1, uid: 'u', username: 'bob', subject: null, content: 'hi', room: 'lobby', to: null, timestamp: 1, verified: false },
  welcome: { type: 'welcome', username: 'ada', last_id: 3, users: ['ada'], rooms: ['lobby'], server: 'lab93', protocol: 1 },
  synced: { type: 'synced', last_id: 3, missed: 0 },
  ack: { type: 'ack', uid: 'u', id: 4, timestamp: 2 },
  history: { type: 'history', room: 'lobby', messages: [] },
  who: { type: 'who', room: 'lobby', users: ['ada'] },
  joined: { type: 'joined', room: 'lab', users: [] },
  left: { type: 'left', room: 'lab' },
  presence: { type: 'presence', room: 'lobby', username: 'bob', status: 'online' },
  error: { type: 'error', code: 'internal', message: 'oops' },
  ping: { type: 'ping' },
  pong: { type: 'pong' },
  bye: { type: 'bye', reason: 'bye' },
};
const TYPES = Object.keys(VALID);

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkName(v: unknown, what: string): void {
  assert.equal(typeof v, 'string', what);
  const s = v as string;
  assert.ok(s.length > 0 && s.length <= DEFAULT_SERVER_PACKET_LIMITS.maxNameLength && !LONE.test(s), `${what}: ${JSON.stringify(s)}`);
}
function checkText(v: unknown, what: string): void {
  assert.equal(typeof v, 'string', what);
  assert.ok(!LONE.test(v as string) && Buffer.byteLength(v as string) <= DEFAULT_SERVER_PACKET_LIMITS.maxTextBytes, what);
}
const checkId = (v: unknown, what: string): void => assert.ok(Number.isSafeInteger(v) && (v as number) >= 0, `${what}: ${String(v)}`);

/** The invariants every accepted packet keeps: what the connection, the store and the screen rely on. */
function checkAccepted(p: ValidServerPacket): void {
  const checkMessage = (m: Record<string, unknown>): void => {
    checkId(m.id, 'id');
    checkName(m.username, 'username');
    checkName(m.room, 'room');
    for (const k of ['uid', 'to']) if (m[k] !== null) checkName(m[k], k);
    checkText(m.content, 'content');
    if (m.subject !== null) checkText(m.subject, 'subject');
    assert.ok(Number.isFinite(m.timestamp) && Math.abs(m.timestamp as number) <= 8.64e12, 'timestamp');
  };
  switch (p.type) {
    case 'message':
      return checkMessage(p as unknown as Record<string, unknown>);
    case 'history':
      checkName(p.room, 'room');
      return p.messages.forEach((m) => checkMessage(m as unknown as Record<string, unknown>));
    case 'welcome':
    case 'synced':
      return checkId(p.last_id, 'last_id');
    case 'ack':
      checkId(p.id, 'id');
      return assert.ok(Number.isFinite(p.timestamp));
    case 'who':
    case 'joined':
      checkName(p.room, 'room');
      return p.users.forEach((u) => checkName(u, 'user'));
    case 'error':
      checkName(p.code, 'code');
      return checkText(p.message, 'message');
    case 'ping':
      if (p.data !== undefined) assert.ok(p.data === null || ['string', 'number', 'boolean'].includes(typeof p.data));
      return;
    default:
      return;
  }
}

function checkResult(r: ServerPacketResult): void {
  assert.ok(r.kind === 'packet' || r.kind === 'ignored' || r.kind === 'invalid');
  if (r.kind === 'packet') {
    checkAccepted(r.packet);
    // What is accepted survives JSON (the store, an echoed pong) and is accepted again unchanged.
    assert.deepEqual(parseServerPacket(JSON.parse(JSON.stringify(r.packet))), r);
  }
  if (r.kind === 'invalid') assert.ok(r.error.message.length > 0 && r.error.message.length < 400, 'a one-line reason');
}

describe('parseServerPacket is total (property tests)', () => {
  it('any JSON value at all', () => {
    fc.assert(fc.property(hostileJson, (v) => checkResult(parseServerPacket(v))), RUNS);
  });

  it('a known packet with any JSON in any of its fields (or a field added)', () => {
    const field = fc.oneof(KEYS, fc.constantFrom('id', 'uid', 'username', 'subject', 'content', 'room', 'to', 'timestamp', 'last_id', 'missed', 'users', 'rooms', 'messages', 'status', 'code', 'message', 'data', 'reason', 'duplicate'));
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.array(fc.tuple(field, hostileJson), { minLength: 1, maxLength: 3 }), (type, changes) => {
        const o = ownObject(Object.entries(VALID[type]!));
        for (const [k, v] of changes) if (k !== 'type') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        checkResult(parseServerPacket(o));
      }),
      RUNS,
    );
  });

  it('a history page whose messages are any JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(hostileJson, fc.record({ id: hostileNumber, username: hostileString, content: hostileString, timestamp: hostileNumber })), { maxLength: 5 }), (messages) => {
        checkResult(parseServerPacket({ type: 'history', room: 'lobby', messages }));
      }),
      RUNS,
    );
  });

  it('valid messages with any printable text are accepted as they are', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 32 }), fc.string({ unit: 'grapheme', maxLength: 200 }), fc.double({ min: 0, max: 4e9, noNaN: true }), (id, username, content, timestamp) => {
        const p = { ...VALID.message, id, username, content, timestamp };
        assert.deepEqual(parseServerPacket(p), { kind: 'packet', packet: p });
      }),
      RUNS,
    );
  });

  it('deep nesting (100,000 levels) in every field of every type', () => {
    const nests = [deep(100_000, '[', '', ']'), deep(100_000, '{"a":', '0', '}'), deep(100_000, '{"__proto__":', '{}', '}')];
    for (const type of TYPES) {
      for (const k of [...Object.keys(VALID[type]!).filter((x) => x !== 'type'), 'data', 'messages']) {
        for (const n of nests) checkResult(parseServerPacket({ ...VALID[type]!, [k]: n }));
      }
      for (const n of nests) checkResult(parseServerPacket({ type: 'history', room: 'lobby', messages: [n] }));
    }
    for (const n of nests) checkResult(parseServerPacket(n));
  });
});
