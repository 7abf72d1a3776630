import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import { decodeFrame, encodeFrame, EncodedPacket, type FrameMode } from '../../src/protocol/frame.js';
import { parseClientPacket } from '../../src/protocol/packets.js';
import { sniff } from '../../src/protocol/sniff.js';
import { parsePyDict } from '../../src/protocol/pyliteral.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/transcripts/${name}`, import.meta.url));
const expected = JSON.parse(fixture('expected.json').toString());

/** Splits the transcript at every byte boundary into two reads and decodes every frame. */
function decodeAtEveryBoundary(bytes: Buffer, mode: FrameMode): unknown[][] {
  const results: unknown[][] = [];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const s = new LineSplitter(DEFAULT_LIMITS.maxFrameBytes);
    const out: unknown[] = [];
    for (const part of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
      const r = s.push(Buffer.from(part));
      assert.ok(r.ok);
      for (const line of r.lines) {
        const d = decodeFrame(line, mode);
        assert.ok(d.ok, `cut at ${cut}`);
        out.push(d.value);
      }
    }
    results.push(out);
  }
  return results;
}

describe('frame codec', () => {
  for (const [file, mode] of [['base64.txt', 'base64'], ['plain.txt', 'plain']] as const) {
    it(`golden ${mode} transcript decodes the same however the bytes are split`, () => {
      const bytes = fixture(file);
      assert.equal(sniff(bytes), mode);
      for (const out of decodeAtEveryBoundary(bytes, mode)) assert.deepEqual(out, expected);
    });
  }

  it('round-trips packets through both modes, non-ASCII and escapes included', () => {
    for (const p of expected) {
      for (const mode of ['base64', 'plain'] as const) {
        const frame = encodeFrame(p, mode);
        assert.equal(frame[frame.length - 1], 10);
        const d = decodeFrame(frame.subarray(0, -1), mode);
        assert.ok(d.ok);
        assert.deepEqual(d.value, p);
      }
    }
  });

  it('EncodedPacket gives the same bytes as encodeFrame, in either order of asking', () => {
    const p = expected[1];
    const a = new EncodedPacket(p);
    assert.deepEqual(a.frame('plain'), encodeFrame(p, 'plain'));
    assert.deepEqual(a.frame('base64'), encodeFrame(p, 'base64'));
    const b = new EncodedPacket(p);
    assert.deepEqual(b.frame('base64'), encodeFrame(p, 'base64'));
    assert.equal(b.frame('base64'), b.frame('base64'), 'encoded once');
  });

  it("accepts the original client's single-quoted dict", () => {
    const line = fixture('seed.txt').subarray(0, -1);
    assert.equal(sniff(line), 'base64');
    const d = decodeFrame(line, 'base64');
    assert.ok(d.ok);
    assert.deepEqual(d.value, { content: "it's", username: 'old' });
  });

  it('parses Python dict literals with both quote styles and escapes, and nothing else', () => {
    const py = (text: string) => {
      const r = parsePyDict(text);
      return r.ok ? r.value : r.code;
    };
    // What Python 3 prints for str({'a': "x\\y'z", 'b': 'say "hi"', 'c': None, 'd': 'café ☺\x07'}):
    const printed = String.raw`{'a': "x\\y'z", 'b': 'say "hi"', 'c': None, 'd': 'café ☺\x07'}`;
    assert.deepEqual(py(printed), { a: "x\\y'z", b: 'say "hi"', c: null, d: 'café ☺\u0007' });
    assert.deepEqual(py(String.raw`{'s': 'line\nbreak\u263a', 'n': 3, 't': True}`), { s: 'line\nbreak☺', n: 3, t: true });
    // Python keeps the backslash of what is not an escape: '\q' is a backslash and a q.
    assert.deepEqual(py(String.raw`{'a': '\q'}`), { a: '\\q' });
    for (const badText of [String.raw`{'a': 'open}`, `{'a' 'b'}`, `{'a': 'b'} trailing`, `{'a': os.system('x')}`, `['a']`]) {
      assert.equal(py(badText), 'bad_frame', badText);
    }
  });

  const bad: Array<[string, FrameMode, Buffer, string]> = [
    ['not base64', 'base64', Buffer.from('hello world'), 'bad_frame'],
    ['base64 with a bad length', 'base64', Buffer.from('eyJ'), 'bad_frame'],
    ['base64 of non-JSON', 'base64', Buffer.from(Buffer.from('{nope').toString('base64')), 'bad_frame'],
    ['base64 of invalid UTF-8', 'base64', Buffer.from(Buffer.from([0xc3, 0x28]).toString('base64')), 'bad_frame'],
    ['empty line', 'base64', Buffer.alloc(0), 'bad_frame'],
    ['base64 with a character outside the alphabet', 'base64', Buffer.from('eyJh*IjoxfQ=='), 'bad_frame'],
    ['base64 without its padding', 'base64', Buffer.from('eyJhIjoxfQ'), 'bad_frame'],
    ['base64 with non-zero padding bits (not canonical)', 'base64', Buffer.from('e30='.replace('0', '1')), 'bad_frame'],
    ['base64 with an embedded space', 'base64', Buffer.from('eyJh IjoxfQ=='), 'bad_frame'],
    ['plain invalid UTF-8', 'plain', Buffer.from([0x7b, 0xff, 0x7d]), 'bad_frame'],
    ['plain non-JSON', 'plain', Buffer.from('{"a":'), 'bad_frame'],
    ['JSON array', 'plain', Buffer.from('[1]'), 'bad_packet'],
    ['JSON null', 'plain', Buffer.from('null'), 'bad_packet'],
    ['JSON string', 'base64', Buffer.from(Buffer.from('"hi"').toString('base64')), 'bad_packet'],
  ];
  for (const [what, mode, line, code] of bad) {
    it(`rejects ${what} with ${code}`, () => {
      const d = decodeFrame(line, mode);
      assert.equal(d.ok, false);
      if (!d.ok) assert.equal(d.code, code);
    });
  }
});

describe('sniffing the first bytes', () => {
  it('tells base64, plain and classic apart, waiting when one byte is not enough', () => {
    assert.equal(sniff(Buffer.from('eyJ0')), 'base64');
    assert.equal(sniff(Buffer.from('{"type"')), 'plain');
    assert.equal(sniff(Buffer.from('e')), 'more');
    assert.equal(sniff(Buffer.alloc(0)), 'more');
    assert.equal(sniff(Buffer.from('GET%')), 'classic');
    assert.equal(sniff(Buffer.from('POSThello%')), 'classic');
    assert.equal(sniff(Buffer.from('ex')), 'classic');
  });
});

describe('packet validation', () => {
  const parse = (o: Record<string, unknown>) => parseClientPacket(o, DEFAULT_LIMITS);
  const code = (o: Record<string, unknown>) => {
    try {
      parse(o);
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof ProtocolError);
      return e.code;
    }
  };

  it('fills defaults: lobby room, null subject/to/uid, hello rooms', () => {
    assert.deepEqual(parse({ type: 'message', content: 'x' }), { type: 'message', uid: null, content: 'x', subject: null, room: 'lobby', to: null });
    assert.deepEqual(parse({ type: 'hello', username: 'bob' }), { type: 'hello', username: 'bob', since: null, rooms: ['lobby'] });
    assert.deepEqual(parse({ type: 'history', room: 'r', limit: 1e6 }), { type: 'history', room: 'r', before: null, limit: 1000 });
  });

  it('reads a typeless packet as the original client\'s', () => {
    assert.deepEqual(parse({ username: 'old', content: 'hi', subject: 'x' }), { type: 'seed', username: 'old', content: 'hi', subject: 'x' });
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing type', { content: 'x' }, 'bad_packet'],
    ['type not a string', { type: 5 }, 'bad_packet'],
    ['unknown type', { type: 'nuke' }, 'unknown_type'],
    ['username missing', { type: 'hello' }, 'bad_packet'],
    ['username with a space', { type: 'hello', username: 'a b' }, 'bad_packet'],
    ['username with ESC', { type: 'hello', username: 'a\u001b[2Jb' }, 'bad_packet'],
    ['username with a zero-width joiner', { type: 'hello', username: 'a\u200db' }, 'bad_packet'],
    ['username of 33 characters', { type: 'hello', username: 'x'.repeat(33) }, 'bad_packet'],
    ['username of 32 emoji', { type: 'hello', username: '😀'.repeat(32) }, 'ok'],
    ['since negative', { type: 'hello', username: 'a', since: -1 }, 'bad_packet'],
    ['since a float', { type: 'hello', username: 'a', since: 1.5 }, 'bad_packet'],
    ['rooms not a list', { type: 'hello', username: 'a', rooms: 'lobby' }, 'bad_packet'],
    ['33 rooms', { type: 'hello', username: 'a', rooms: Array.from({ length: 33 }, (_, i) => `r${i}`) }, 'too_many_rooms'],
    ['content missing', { type: 'message' }, 'bad_packet'],
    ['content empty', { type: 'message', content: '' }, 'bad_packet'],
    ['content of 4097 bytes', { type: 'message', content: 'x'.repeat(4097) }, 'too_large'],
    ['content of 4096 bytes', { type: 'message', content: 'x'.repeat(4096) }, 'ok'],
    ['subject with a newline', { type: 'message', content: 'x', subject: 'a\nb' }, 'bad_packet'],
    ['uid with a space', { type: 'message', content: 'x', uid: 'a b' }, 'bad_packet'],
    ['uid a number', { type: 'message', content: 'x', uid: 5 }, 'bad_packet'],
    ['to with a control char', { type: 'message', content: 'x', to: 'bob\u0007' }, 'bad_packet'],
    ['room of 65 characters', { type: 'join', room: 'r'.repeat(65) }, 'bad_packet'],
    ['history limit a string', { type: 'history', limit: '5' }, 'bad_packet'],
  ];
  for (const [what, obj, want] of cases) {
    it(`${what}: ${want}`, () => assert.equal(code(obj), want));
  }

  it('keeps the uid on errors about a message', () => {
    try {
      parse({ type: 'message', uid: 'mine', content: 'x'.repeat(5000) });
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof ProtocolError);
      assert.equal(e.uid, 'mine');
    }
  });
});
