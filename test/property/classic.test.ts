/**
 * Property tests of the classic board's `%` codec (src/protocol/classic.ts): the splitter gives
 * the same requests and the same overload however the bytes are split (with and without KEEP%'s
 * newline trimming), and parseRequest reads any bytes as a typed request.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClassicSplitter, parseRequest, encodeList } from '../../src/protocol/classic.js';
import { anyBytes, cuts, fuzzParams, hostileString, splitAt } from '../helpers/arbitraries.js';
import { checkProperty } from '../helpers/fuzz-vectors.js';

/** Streams that look like board traffic: commands, `%`, line breaks, and random bytes between. */
const stream = fc
  .array(fc.oneof(anyBytes, fc.constantFrom('POST', 'GET', 'KEEP', '%', '\n', '\r\n', 'GET12', 'POSTé', '\xff').map((s) => Buffer.from(s, s === '\xff' ? 'latin1' : 'utf8'))), { maxLength: 10 })
  .map((a) => Buffer.concat(a));

function run(parts: Buffer[], maxPending: number, trim: boolean): { requests: string[]; overloaded: boolean } {
  const s = new ClassicSplitter(maxPending);
  if (trim) s.trimNewlines();
  const requests: string[] = [];
  let overloaded = false;
  for (const p of parts) {
    const r = s.push(p);
    requests.push(...r.requests.map((b) => b.toString('latin1')));
    overloaded = r.overloaded;
    if (overloaded) break;
  }
  return { requests, overloaded };
}

describe('classic splitter: the same requests however the bytes are split', () => {
  it('random reads, small and default limits, with and without KEEP% trimming', () => {
    checkProperty(fc.property(stream, cuts(), fc.constantFrom(1, 5, 40, 4000), fc.boolean(), (bytes, points, max, trim) => {
      const whole = run([bytes], max, trim);
      assert.deepEqual(run(splitAt(bytes, points), max, trim), whole);
      for (const r of whole.requests) assert.ok(!r.includes('%') && r.length < max);
    }), fuzzParams(400), ([bytes]) => ({ decoder: 'classic', bytes }));
  });

  it('every single byte boundary, and one byte per read', () => {
    fc.assert(fc.property(stream, fc.constantFrom(3, 40, 4000), fc.boolean(), (bytes, max, trim) => {
      const whole = run([bytes], max, trim);
      for (let cut = 0; cut <= bytes.length; cut++) assert.deepEqual(run([bytes.subarray(0, cut), bytes.subarray(cut)], max, trim), whole, `cut at ${cut}`);
      assert.deepEqual(run([...bytes].map((b) => Buffer.from([b])), max, trim), whole, 'byte by byte');
    }), fuzzParams(60));
  });
});

describe('classic requests: any bytes read as a typed request', () => {
  it('POST text is strict UTF-8 (or invalid-utf8), GET takes only digits, anything else is unknown', () => {
    checkProperty(fc.property(fc.oneof(anyBytes, stream), (body) => {
      const r = parseRequest(body);
      const ascii = body.toString('latin1');
      switch (r.type) {
        case 'post':
          assert.ok(ascii.startsWith('POST'));
          assert.ok(!/\p{Cs}/u.test(r.text), 'no lone surrogate');
          assert.ok(Buffer.from(r.text, 'utf8').equals(body.subarray(4)), 'the text is exactly the bytes sent');
          return;
        case 'invalid-utf8':
          return assert.ok(ascii.startsWith('POST'));
        case 'get':
          assert.ok(ascii.startsWith('GET'));
          assert.ok(r.newest === null || (Number.isSafeInteger(r.newest) && r.newest >= 0));
          return;
        case 'keep':
          return assert.equal(ascii, 'KEEP');
        case 'unknown':
          return assert.ok(!ascii.startsWith('POST') && !ascii.startsWith('GET') && ascii !== 'KEEP');
      }
    }), fuzzParams(500), ([bytes]) => ({ decoder: 'classic', bytes }));
  });

  it("GET's answer is one `%`-terminated line of Python repr for any stored text, lone surrogates included", () => {
    // The board turns a chat message's `%` into `％` before listing it (gateway/board.ts).
    const text = hostileString.map((t) => t.replaceAll('%', '\uff05'));
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), text), { maxLength: 5 }), (rows) => {
      const out = encodeList(rows).toString('utf8');
      assert.ok(out.startsWith('MSG[') && out.endsWith(']%'));
      assert.equal(out.indexOf('%'), out.length - 1, 'no % before the end: the client reads up to the first one');
    }), fuzzParams(200));
  });
});
