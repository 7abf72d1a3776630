/**
 * parseServerPacket by example: what a client accepts from a server, what it ignores and how a
 * refusal names the field (the property tests beside it show it never throws).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeServerPacketError, parseServerPacket, type ServerPacketResult } from '../../src/protocol/server-packets.js';

const msg = { type: 'message', id: 58, uid: 'a1b2c3', username: 'alice', subject: 'greetings', content: 'hello', room: 'lobby', to: null, timestamp: 1795300012.5, verified: true };

function invalid(r: ServerPacketResult): string {
  assert.equal(r.kind, 'invalid', JSON.stringify(r));
  return r.kind === 'invalid' ? describeServerPacketError(r.error) : '';
}

describe('parseServerPacket', () => {
  it('accepts every packet of docs/protocol.md as printed there', () => {
    const docs = [
      msg,
      { type: 'welcome', username: 'alice', last_id: 57, users: ['alice', 'bob'], rooms: ['lobby', 'lab'], server: 'lab93', protocol: 1 },
      { type: 'synced', last_id: 57, missed: 1 },
      { type: 'ack', uid: 'a1b2c3', id: 58, timestamp: 1795300012.5 },
      { type: 'ack', uid: 'a1b2c3', id: 58, timestamp: 1795300012.5, duplicate: true },
      { type: 'history', room: 'lobby', messages: [msg] },
      { type: 'who', room: 'lobby', users: ['alice'] },
      { type: 'joined', room: 'lab', users: ['alice'] },
      { type: 'left', room: 'lab' },
      { type: 'presence', room: 'lobby', username: 'bob', status: 'offline' },
      { type: 'ping' },
      { type: 'pong', data: 7 },
      { type: 'error', code: 'too_large', message: 'content is over 4096 bytes', uid: 'a1b2c3' },
      { type: 'bye', reason: 'shutting down' },
    ];
    for (const p of docs) {
      const r = parseServerPacket(p);
      assert.equal(r.kind, 'packet', JSON.stringify(p));
    }
    assert.deepEqual(parseServerPacket(msg), { kind: 'packet', packet: msg });
    // A server without accounts sends no `verified`: nobody is verified there.
    const { verified: _, ...unverified } = msg;
    assert.deepEqual(parseServerPacket(unverified), { kind: 'packet', packet: { ...msg, verified: false } });
  });

  it('ignores unknown types and unknown fields', () => {
    assert.deepEqual(parseServerPacket({ type: 'typing', username: 'bob' }), { kind: 'ignored', type: 'typing' });
    const r = parseServerPacket({ ...msg, colour: 'red', __proto__x: 1 });
    assert.deepEqual(r, { kind: 'packet', packet: msg });
  });

  it('names the field that is wrong', () => {
    assert.equal(invalid(parseServerPacket({ ...msg, id: -1 })), 'message: id: must be a non-negative integer');
    assert.equal(invalid(parseServerPacket({ ...msg, id: 2 ** 53 })), 'message: id: must be a non-negative integer');
    assert.equal(invalid(parseServerPacket({ ...msg, timestamp: 1e300 })), 'message: timestamp: must be a time in Unix seconds');
    assert.equal(invalid(parseServerPacket({ ...msg, username: { nested: true } })), 'message: username: must be a string');
    assert.equal(invalid(parseServerPacket({ ...msg, username: 'x\ud800' })), 'message: username: is not well-formed Unicode (a lone surrogate)');
    assert.equal(invalid(parseServerPacket({ type: 'history', room: 'lobby', messages: [msg, { ...msg, content: 5 }] })), 'history: messages[1].content: must be a string');
    assert.equal(invalid(parseServerPacket({ type: 'presence', room: 'lobby', username: 'bob', status: 'away' })), 'presence: status: must be "online" or "offline"');
    assert.equal(invalid(parseServerPacket({ type: 'welcome' })), 'welcome: last_id: must be a non-negative integer');
  });

  it('refuses what is not a typed object: the seed packet a server must never send, lists, primitives', () => {
    assert.equal(invalid(parseServerPacket({ username: 'x', content: '\u{10FFFF}' })), 'type: missing');
    assert.equal(invalid(parseServerPacket([msg])), 'packet: must be a JSON object');
    assert.equal(invalid(parseServerPacket(null)), 'packet: must be a JSON object');
    assert.equal(invalid(parseServerPacket({ type: 7 })), 'type: must be a non-empty string');
  });

  it('reads own fields only: __proto__ and constructor are data, nothing is inherited', () => {
    const withProto = JSON.parse('{"type":"left","__proto__":{"room":"evil"}}');
    assert.equal(invalid(parseServerPacket(withProto)), 'left: room: must be a string');
    const ctor = JSON.parse('{"type":"synced","constructor":{"x":1},"last_id":3}');
    assert.deepEqual(parseServerPacket(ctor), { kind: 'packet', packet: { type: 'synced', last_id: 3, missed: 0 } });
  });

  it('repairs lone surrogates in texts (U+FFFD, as UTF-8 would carry them) and bounds their size', () => {
    const r = parseServerPacket({ ...msg, content: 'a\ud800b', subject: '\udc00' });
    assert.equal(r.kind === 'packet' && r.packet.type === 'message' ? [r.packet.content, r.packet.subject].join('|') : '', 'a\ufffdb|\ufffd');
    assert.equal(invalid(parseServerPacket({ ...msg, content: 'é'.repeat(600) }, { maxNameLength: 10, maxTextBytes: 1000 })), 'message: content: longer than 1000 bytes');
    assert.equal(invalid(parseServerPacket({ ...msg, username: 'x'.repeat(11) }, { maxNameLength: 10, maxTextBytes: 1000 })), 'message: username: longer than 10 characters');
  });

  it('keeps a ping data only when it is a small primitive (it is echoed back)', () => {
    assert.deepEqual(parseServerPacket({ type: 'ping', data: 'r1' }), { kind: 'packet', packet: { type: 'ping', data: 'r1' } });
    assert.deepEqual(parseServerPacket({ type: 'ping', data: [[[[]]]] }), { kind: 'packet', packet: { type: 'ping' } });
    assert.deepEqual(parseServerPacket({ type: 'ping', data: 'x'.repeat(1000) }), { kind: 'packet', packet: { type: 'ping' } });
  });

  it('an error without a message reads as its code', () => {
    assert.deepEqual(parseServerPacket({ type: 'error', code: 'internal' }), { kind: 'packet', packet: { type: 'error', code: 'internal', message: 'internal' } });
  });

  it('reads the everyday additions: action lines, recipient_seen on a direct message\'s ack, the rooms answer', () => {
    assert.deepEqual(parseServerPacket({ ...msg, action: true }), { kind: 'packet', packet: { ...msg, action: true } });
    assert.deepEqual(parseServerPacket({ ...msg, action: false }), { kind: 'packet', packet: msg }, 'no flag on an ordinary message');
    assert.equal(invalid(parseServerPacket({ ...msg, action: 'yes' })), 'message: action: must be true or false');
    const ack = { type: 'ack', uid: 'a1b2c4', id: 59, timestamp: 1795300013.1, recipient_seen: false };
    assert.deepEqual(parseServerPacket(ack), { kind: 'packet', packet: ack });
    const rooms = { type: 'rooms', rooms: [{ room: 'lobby', users: 12 }, { room: 'physics', users: 3 }] };
    assert.deepEqual(parseServerPacket(rooms), { kind: 'packet', packet: rooms });
    assert.deepEqual(parseServerPacket({ ...rooms, more: 4 }), { kind: 'packet', packet: { ...rooms, more: 4 } });
    assert.equal(invalid(parseServerPacket({ type: 'rooms', rooms: [{ room: 'lobby', users: -1 }] })), 'rooms: rooms[0].users: must be a non-negative integer');
    assert.equal(invalid(parseServerPacket({ type: 'rooms', rooms: ['lobby'] })), 'rooms: rooms[0]: must be an object');
    assert.equal(invalid(parseServerPacket({ type: 'rooms' })), 'rooms: rooms: must be a list of rooms');
  });
});
