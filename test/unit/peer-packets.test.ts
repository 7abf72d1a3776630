/**
 * Peer packets: validation is total (any JSON object gives a packet or a ProtocolError, never
 * another throw), and a have map of any size crosses in frames under the limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HaveCollector, fitUsers, pageHave } from '../../src/peer/have-pages.js';
import { MAX_SEQ, parsePeerPacket, type HaveMap } from '../../src/peer/packets.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';

const TYPES = ['peer-hello', 'peer-message', 'peer-synced', 'peer-have', 'peer-users', 'ping', 'pong', 'bye', 'error', 'hello', '__proto__', 'constructor'];
const KEYS = ['type', 'peer_id', 'name', 'version', 'port', 'have', 'have_more', 'more', 'users', 'username', 'rooms', 'gid', 'origin', 'seq', 'uid', 'subject', 'content', 'room', 'to', 'timestamp', 'sent', 'reason', 'code', 'message', 'data', '__proto__', 'constructor', 'toString'];

/** Strings a hostile peer would try: lone surrogates, controls, bidi, huge, plain. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\ud800', 'a\udc00b', '\u202e', '\u0000', '\u001b[2J', '__proto__', 'constructor', 'abcd1234', 'x'.repeat(5000)),
);
const leaf = fc.oneof(nasty, fc.double(), fc.integer(), fc.constantFrom(2 ** 53 - 1, 2 ** 53, MAX_SEQ + 1, -1, 1e308, Number.MAX_VALUE), fc.boolean(), fc.constant(null));
const json = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), tie('v'), { maxKeys: 5 })),
})).v;
/** An object with a packet's keys, filled with anything. */
const packetish = fc.record({ type: fc.oneof(fc.constantFrom(...TYPES), leaf) }).chain((base) =>
  fc.dictionary(fc.constantFrom(...KEYS), json, { maxKeys: 12 }).map((rest) => {
    // JSON.parse makes "__proto__" an own key; so does this.
    const o: Record<string, unknown> = JSON.parse(JSON.stringify(rest));
    o.type = base.type;
    return o;
  }),
);

test('any object a peer may send gives a packet or a ProtocolError, never anything else', () => {
  fc.assert(
    fc.property(packetish, (o) => {
      try {
        const p = parsePeerPacket(o, DEFAULT_LIMITS);
        // What comes out can always be sent on (one frame, JSON-safe).
        encodeFrame(p, 'base64');
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }),
    { numRuns: 1000 },
  );
});

test('regression vectors found by the property above', () => {
  // String() of {"toString": null} throws a TypeError: an error frame's fields are read as strings only.
  assert.deepEqual(parsePeerPacket(JSON.parse('{"type":"error","code":{"toString":null},"message":{"valueOf":1}}'), DEFAULT_LIMITS), { type: 'error', code: '?', message: '' });
});

test('a seq above MAX_SEQ in a have map is ignored (not a bad hello); content with a lone surrogate is refused', () => {
  const hello = parsePeerPacket({ type: 'peer-hello', peer_id: 'abcd1234', version: 1, have: { abcd1234: 3, eeeeeeee: MAX_SEQ + 1, ffffffff: MAX_SEQ }, have_more: true }, DEFAULT_LIMITS);
  assert.ok(hello.type === 'peer-hello');
  assert.deepEqual({ ...hello.have }, { abcd1234: 3, ffffffff: MAX_SEQ });
  assert.equal(hello.have_more, true);
  const page = parsePeerPacket({ type: 'peer-have', have: { abcd1234: 1 }, more: 'yes' }, DEFAULT_LIMITS);
  assert.ok(page.type === 'peer-have' && page.more === false, 'only true is more');
  const m = { type: 'peer-message', gid: 'g', origin: 'abcd1234', seq: 1, username: 'u', timestamp: 1, key: 'A'.repeat(43), sig: 'A'.repeat(86) };
  assert.throws(() => parsePeerPacket({ ...m, content: 'a\ud800b' }, DEFAULT_LIMITS), (e: unknown) => e instanceof ProtocolError && e.code === 'bad_packet');
  assert.equal((parsePeerPacket({ ...m, content: 'ok \ud83d\ude00' }, DEFAULT_LIMITS) as { content: string }).content, 'ok \ud83d\ude00');
  // New peers refuse unsigned new messages.
  const { key: _k, sig: _s, ...unsigned } = m;
  assert.throws(() => parsePeerPacket({ ...unsigned, content: 'x' }, DEFAULT_LIMITS), (e: unknown) => e instanceof ProtocolError && e.code === 'bad_signature');
});

test('a direct message travels sealed only: box and to_peer, no content nor subject, a box within the limits', () => {
  const m = { type: 'peer-message', gid: 'g', origin: 'abcd1234', seq: 1, username: 'u', timestamp: 1, key: 'A'.repeat(43), sig: 'A'.repeat(86), to: 'bob' };
  const box = Buffer.alloc(200, 7).toString('base64url');
  const p = parsePeerPacket({ ...m, to_peer: 'vsl3vsl3', box }, DEFAULT_LIMITS);
  assert.ok(p.type === 'peer-message');
  assert.deepEqual([p.to, p.to_peer, p.content, p.subject, p.box?.length], ['bob', 'vsl3vsl3', null, null, 200]);
  const refused = (o: object, code: string, field: RegExp): void =>
    assert.throws(() => parsePeerPacket(o as Record<string, unknown>, DEFAULT_LIMITS), (e: unknown) => e instanceof ProtocolError && e.code === code && field.test(e.message), JSON.stringify(o).slice(0, 120));
  refused({ ...m, content: 'in clear' }, 'bad_packet', /^box: .*sealed/);
  refused({ ...m, to_peer: 'vsl3vsl3', box, content: 'both' }, 'bad_packet', /^content:/);
  refused({ ...m, to_peer: 'vsl3vsl3', box, subject: 'both' }, 'bad_packet', /^content:/);
  refused({ ...m, box }, 'bad_packet', /^to_peer:/);
  refused({ ...m, to: null, to_peer: 'vsl3vsl3', box }, 'bad_packet', /^to:/);
  refused({ ...m, to_peer: 'vsl3vsl3', box: `${box}=` }, 'bad_packet', /^box:/);
  refused({ ...m, to_peer: 'vsl3vsl3', box: Buffer.alloc(DEFAULT_LIMITS.maxContentBytes * 2).toString('base64url') }, 'too_large', /box/);
  // A room message has neither.
  const room = parsePeerPacket({ ...m, to: null, content: 'hi' }, DEFAULT_LIMITS);
  assert.ok(room.type === 'peer-message' && room.box === null && room.to_peer === null);
});

test('a have map of any size crosses in frames under the limit, own origin first, nothing lost', () => {
  const id = (i: number): string => `o${String(i).padStart(63, '0')}`;
  for (const n of [0, 1, 250, 5000]) {
    const entries: Array<[string, number]> = Array.from({ length: n }, (_, i) => [id(i), MAX_SEQ - i]);
    entries.push(['__proto__', 7], ['selfselfself', 3]);
    const pages = pageHave(entries, 'selfselfself');
    assert.equal(Object.keys(pages[0]!)[0], 'selfselfself');
    const c = new HaveCollector();
    pages.forEach((page, i) => {
      const hello = { type: 'peer-hello', peer_id: 'x'.repeat(64), name: 'n'.repeat(200), version: 1, port: 65535, have: page, have_more: i < pages.length - 1, users: [] };
      assert.ok(encodeFrame(hello, 'base64').length <= DEFAULT_LIMITS.maxFrameBytes, `page ${i} of ${n} fits`);
      // Through the wire and back, as the other side reads it.
      const back = parsePeerPacket(JSON.parse(JSON.stringify({ type: 'peer-have', have: page })), DEFAULT_LIMITS);
      c.add((back as { have: HaveMap }).have);
    });
    assert.deepEqual(new Map(entries), c.have);
  }
});

test('a collector keeps at most its bound of origins; users are cut to fit one frame', () => {
  const c = new HaveCollector(3);
  c.add({ aaaa: 1, bbbb: 2 });
  c.add({ aaaa: 5, cccc: 3, dddd: 4 });
  assert.deepEqual([...c.have], [['aaaa', 5], ['bbbb', 2], ['cccc', 3]]);
  assert.equal(c.dropped, 1);
  const users = Array.from({ length: 1000 }, (_, i) => ({ username: `user${i}`, rooms: Array.from({ length: 32 }, (_, r) => `room-${r}-${'r'.repeat(50)}`) }));
  const fitted = fitUsers(users);
  assert.ok(fitted.users.length > 0 && fitted.left > 0);
  assert.deepEqual(fitted.users, users.slice(0, fitted.users.length));
  assert.ok(encodeFrame({ type: 'peer-users', users: fitted.users }, 'base64').length <= DEFAULT_LIMITS.maxFrameBytes);
});
