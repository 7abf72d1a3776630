/**
 * Property tests of the frame layer: the line splitter, the frame codec and the sniffer are
 * total (any bytes give a value or a typed error), and the splitter's output does not depend on
 * how the bytes were cut into reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, MAX_JSON_DEPTH, type DecodeResult } from '../../src/protocol/frame.js';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import { sniff } from '../../src/protocol/sniff.js';
import { CLIENT_TYPES, PEER_TYPES, anyBytes, cuts, fuzzParams, hostileJsonText, hostileValue, mutated, splitAt } from '../helpers/arbitraries.js';

const MODES = ['plain', 'base64'] as const;

/** Deepest nesting of a decoded value (the top object is 1), and whether any string or key is not Unicode text. */
function inspect(v: unknown, depth = 1): { depth: number; lone: boolean } {
  if (typeof v === 'string') return { depth: depth - 1, lone: /\p{Cs}/u.test(v) };
  if (v === null || typeof v !== 'object') return { depth: depth - 1, lone: false };
  let out = { depth, lone: false };
  for (const [k, x] of Object.entries(v)) {
    const r = inspect(x, depth + 1);
    out = { depth: Math.max(out.depth, r.depth), lone: out.lone || r.lone || /\p{Cs}/u.test(k) };
  }
  return out;
}

/** A decode result is well-typed, and what it accepts is an object of Unicode text no deeper than the limit. */
function assertSane(d: DecodeResult): void {
  if (!d.ok) {
    assert.ok(d.code === 'bad_frame' || d.code === 'bad_packet', d.code);
    assert.equal(typeof d.message, 'string');
    assert.ok(!/\p{Cs}/u.test(d.message), 'the error message itself is Unicode text');
    return;
  }
  assert.ok(d.value !== null && typeof d.value === 'object' && !Array.isArray(d.value));
  const r = inspect(d.value);
  assert.ok(r.depth <= MAX_JSON_DEPTH, `depth ${r.depth}`);
  assert.equal(r.lone, false, 'no lone surrogate gets through');
}

const b64 = (s: string | Buffer) => Buffer.from(Buffer.from(s).toString('base64'));

describe('frame codec: total on any bytes', () => {
  it('arbitrary bytes, in both modes', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      for (const mode of MODES) assertSane(decodeFrame(bytes, mode));
      assertSane(decodeFrame(b64(bytes), 'base64'));
    }), fuzzParams(400));
  });

  it('hostile JSON in every field (deep nesting, huge and non-finite numbers, __proto__, lone surrogates, invisible and bidi characters), plain and base64', () => {
    fc.assert(fc.property(hostileJsonText([...CLIENT_TYPES, ...PEER_TYPES]), (text) => {
      const plain = decodeFrame(Buffer.from(text), 'plain');
      assertSane(plain);
      assert.deepEqual(decodeFrame(b64(text), 'base64'), plain, 'both modes agree');
      // A lone surrogate anywhere in the text's JSON is refused by name.
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      const r = inspect(parsed);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && r.lone && r.depth <= MAX_JSON_DEPTH) {
        assert.equal(plain.ok, false);
        if (!plain.ok) assert.match(plain.message, /lone surrogate U\+D[89A-F][0-9A-F]{2}/);
      }
    }), fuzzParams(300));
  });

  it('mutated valid frames (flipped, dropped, inserted, duplicated bytes)', () => {
    const valid = hostileJsonText(CLIENT_TYPES).map((t) => Buffer.from(t));
    fc.assert(fc.property(mutated(valid), mutated(valid.map((b) => b64(b))), (plain, base64) => {
      assertSane(decodeFrame(plain, 'plain'));
      assertSane(decodeFrame(base64, 'base64'));
    }), fuzzParams(300));
  });

  it('nesting: refused past the limit with bad_packet, accepted up to it', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('array' as const, 'object' as const), (depth, kind) => {
      // Written out rather than JSON.stringify'd: stringify itself overflows the stack a few thousand levels down.
      const [open, close] = kind === 'array' ? ['[', ']'] : ['{"a":', '}'];
      const d = decodeFrame(Buffer.from(`{"type":"ping","data":${open.repeat(depth)}1${close.repeat(depth)}}`), 'plain');
      // The packet is level 1, `data` level 2: `depth` more levels below it.
      if (depth + 1 <= MAX_JSON_DEPTH) assert.ok(d.ok);
      else assert.deepEqual([d.ok, !d.ok && d.code], [false, 'bad_packet']);
    }), fuzzParams(100));
  });

  it('round-trips any Unicode packet through both modes', () => {
    const text = fc.string({ unit: 'binary' });
    const packet = fc.dictionary(text, fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }), { maxKeys: 6 });
    fc.assert(fc.property(packet, (p) => {
      const want = JSON.parse(JSON.stringify(p));
      for (const mode of MODES) {
        const frame = encodeFrame(p, mode);
        assert.equal(frame.indexOf(10), frame.length - 1, 'one line');
        const d = decodeFrame(frame.subarray(0, -1), mode);
        assert.ok(d.ok, !d.ok ? d.message : '');
        assert.deepEqual(d.value, want);
      }
    }), fuzzParams(200));
  });

  it('the sniffer classifies any bytes, and asks for more only when one "e" is all there is', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      const k = sniff(bytes);
      assert.ok(['base64', 'plain', 'classic', 'tls', 'more'].includes(k));
      assert.equal(k === 'tls', bytes.length > 0 && bytes[0] === 0x16, 'TLS is told by its first byte, a handshake record');
      assert.equal(k === 'more', bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0x65));
    }), fuzzParams(300));
  });
});

describe('line splitter: the same lines however the bytes are split', () => {
  /** Lines out of `parts` (fed in order) until the first error; the error if any. */
  function run(parts: Buffer[], max: number): { lines: string[]; error: string | null } {
    const s = new LineSplitter(max);
    const lines: string[] = [];
    for (const p of parts) {
      const r = s.push(p);
      lines.push(...r.lines.map((l) => l.toString('latin1')));
      if (!r.ok) return { lines, error: r.error };
    }
    return { lines, error: null };
  }

  const stream = fc.array(fc.oneof(anyBytes, fc.constantFrom(Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from('\r'))), { maxLength: 8 }).map((a) => Buffer.concat(a));

  it('random reads: same lines, same error, and no line over the limit', () => {
    fc.assert(fc.property(stream, cuts(), fc.integer({ min: 0, max: 400 }), (bytes, points, max) => {
      const whole = run([bytes], max);
      assert.deepEqual(run(splitAt(bytes, points), max), whole);
      for (const l of whole.lines) assert.ok(l.length <= max);
      for (const l of whole.lines) assert.ok(!l.includes('\n'));
    }), fuzzParams(400));
  });

  it('every single byte boundary, and one byte per read', () => {
    fc.assert(fc.property(stream, fc.integer({ min: 0, max: 100 }), (bytes, max) => {
      const whole = run([bytes], max);
      for (let cut = 0; cut <= bytes.length; cut++) assert.deepEqual(run([bytes.subarray(0, cut), bytes.subarray(cut)], max), whole, `cut at ${cut}`);
      assert.deepEqual(run([...bytes].map((b) => Buffer.from([b])), max), whole, 'byte by byte');
    }), fuzzParams(60));
  });
});

describe('hostile values stay typed once decoded', () => {
  it('any JSON value as the whole frame: an object passes on, anything else is bad_packet', () => {
    fc.assert(fc.property(hostileValue, (v) => {
      const text = JSON.stringify(v);
      if (text === undefined) return;
      const d = decodeFrame(Buffer.from(text), 'plain');
      assertSane(d);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) assert.deepEqual([d.ok, !d.ok && d.code], [false, 'bad_packet']);
    }), fuzzParams(300));
  });
});
