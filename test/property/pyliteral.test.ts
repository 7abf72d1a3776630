/**
 * Property tests of the Python-literal fallback (src/protocol/pyliteral.ts): a model of Python's
 * string literals (every escape, quote style, triple quotes, raw strings, implicit concatenation)
 * that must parse back to the value it was written from; the refusals (\N{...}, \U above
 * U+10FFFF, surrogates, byte strings); totality on any text; and, where python3 is installed,
 * agreement with Python's own ast.literal_eval on valid and mutated literals.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { parsePyDict, type PyDictResult } from '../../src/protocol/pyliteral.js';
import { pyReprStr } from '../../src/protocol/pyrepr.js';
import { HOSTILE_KEYS, INVISIBLE, fuzzParams, ownObject, pyEscapes } from '../helpers/arbitraries.js';

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.oneof(fc.constantFrom(...INVISIBLE), fc.constantFrom("'", '"', '\\', '\n', '\r', '0', '7', '{', '}', '😀', 'é')), { maxLength: 8 }).map((a) => a.join('')),
);

interface Piece { q: "'" | '"'; triple: boolean; prefix: '' | 'u' | 'U'; sep: string }
const pieceStyle = fc.record({
  q: fc.constantFrom("'" as const, '"' as const),
  triple: fc.boolean(),
  prefix: fc.constantFrom('' as const, 'u' as const, 'U' as const),
  sep: fc.constantFrom('', ' ', '\t', '\\\n', '\n  '),
});

/** Python source for the str `value`: split into 1-3 implicitly concatenated pieces, each character written as itself or as one of its escapes. */
function pySource(value: string): fc.Arbitrary<string> {
  const chars = [...value];
  return fc
    .record({
      splits: fc.array(fc.nat(chars.length), { maxLength: 2 }),
      styles: fc.array(pieceStyle, { minLength: 3, maxLength: 3 }),
      picks: fc.array(fc.nat(), { minLength: chars.length, maxLength: chars.length }),
      continuations: fc.array(fc.nat(chars.length), { maxLength: 2 }),
    })
    .map(({ splits, styles, picks, continuations }) => {
      const bounds = [...new Set([0, ...splits, chars.length])].sort((a, b) => a - b);
      const pieces: string[] = [];
      for (let p = 0; p + 1 < bounds.length || pieces.length === 0; p++) {
        const [from, to] = [bounds[p] ?? 0, bounds[p + 1] ?? 0];
        const st: Piece = styles[p % 3]!;
        const quote = st.triple ? st.q.repeat(3) : st.q;
        let body = '';
        for (let i = from; i < to; i++) {
          const c = chars[i]!;
          const next = chars[i + 1] ?? '';
          const options = pyEscapes(c).filter((e) => !/^\\[0-7]{1,2}$/.test(e) || !/^[0-7]/.test(i + 1 < to ? next : ''));
          // Written as itself unless it would end the string, start an escape or break the line.
          if (c !== '\\' && c !== st.q && c !== '\r' && (st.triple || c !== '\n')) options.push(c);
          body += options[picks[i]! % options.length];
          if (continuations.includes(i)) body += '\\\n'; // a backslash-newline adds nothing
        }
        pieces.push(st.prefix + quote + body + quote + st.sep);
      }
      return pieces.join('').replace(/(\\\n|\s)+$/, '');
    });
}

type Entry = [string, unknown, string];
const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.tuple(fc.oneof(text, fc.constantFrom(...HOSTILE_KEYS)), text).chain(([k, v]) => fc.tuple(fc.constant(k), pySource(k), pySource(v)).map(([key, ks, vs]): Entry => [key, v, `${ks}: ${vs}`])),
  fc.tuple(text, fc.constantFrom<[unknown, string]>([null, 'None'], [true, 'True'], [false, 'False'], [0, '0'], [-7, '-7'], [1000, '1_000'], [0.5, '.5'], [-2.5e-3, '-2.5e-3'], [255, '0xff'], [8, '0o10'], [5, '0b101'], [0, '-0'], [-0, '-0.0']))
    .chain(([k, [v, src]]) => pySource(k).map((ks): Entry => [k, v, `${ks}: ${src}`])),
);

/** A dict literal and the value it stands for (later keys win, as in Python). */
const dictSource = fc.tuple(fc.array(entry, { maxLength: 5 }), fc.boolean(), fc.constantFrom('', ' ', '\n')).map(([entries, trailingComma, ws]) => ({
  source: `${ws}{${ws}${entries.map((e) => e[2]).join(`,${ws} `)}${trailingComma && entries.length > 0 ? ',' : ''}${ws}}${ws}`,
  value: ownObject(entries.map(([k, v]) => [k, v])),
}));

function ok(r: PyDictResult): Record<string, unknown> {
  assert.ok(r.ok, !r.ok ? `${r.code}: ${r.message}` : '');
  return r.value;
}

describe('Python literals: every way of writing a string reads back as that string', () => {
  it('escapes, quotes, triple quotes, implicit concatenation, line continuations, numbers, None/True/False, hostile keys', () => {
    fc.assert(fc.property(dictSource, ({ source, value }) => {
      assert.deepStrictEqual(ok(parsePyDict(source)), value, source);
    }), fuzzParams(300));
  });

  it("str(dict) as Python prints it (pyrepr's repr) reads back as the dict", () => {
    fc.assert(fc.property(fc.array(fc.tuple(text, text), { maxLength: 4 }), (pairs) => {
      const source = `{${pairs.map(([k, v]) => `${pyReprStr(k)}: ${pyReprStr(v)}`).join(', ')}}`;
      assert.deepStrictEqual(ok(parsePyDict(source)), ownObject(pairs));
    }), fuzzParams(300));
  });

  it('raw strings keep their backslashes, and a quote after a backslash does not end them', () => {
    const rawBody = fc.array(fc.constantFrom('a', ' ', '\\a', '\\n', "\\'", '\\\\', '\\x', '"', 'é'), { maxLength: 6 }).map((a) => a.join(''));
    fc.assert(fc.property(rawBody, fc.constantFrom('r', 'R'), (body, r) => {
      assert.deepStrictEqual(ok(parsePyDict(`{'k': ${r}'${body}'}`)), { k: body });
    }), fuzzParams(200));
  });
});

describe('Python literals: refusals are typed', () => {
  const poisoned = (poison: string) => dictSource.chain(({ source }) => fc.constant(source.replace(/,?\s*}\s*$/, '') + (source.includes(':') ? ', ' : '') + `'evil': 'a${poison}zz'}`));
  const cases: Array<[string, fc.Arbitrary<string>, string, RegExp]> = [
    ['\\U above U+10FFFF', fc.integer({ min: 0x110000, max: 0xffffffff }).map((cp) => `\\U${cp.toString(16).padStart(8, '0')}`), 'bad_frame', /evil: \\U[0-9a-f]{8} is above U\+10FFFF/],
    ['a surrogate escape', fc.tuple(fc.integer({ min: 0xd800, max: 0xdfff }), fc.boolean()).map(([cp, big]) => (big ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16)}`)), 'bad_packet', /evil: .* is a surrogate/],
    ['\\N{...}', fc.constantFrom('\\N{BULLET}', '\\N{LATIN SMALL LETTER A}', '\\N{}'), 'bad_frame', /evil: \\N\{\.\.\.\} escapes are not supported/],
    ['a truncated \\x, \\u or \\U', fc.constantFrom('\\x', '\\x4', '\\u12', '\\U0001f60', '\\xZZ'), 'bad_frame', /truncated/],
  ];
  for (const [what, poison, code, message] of cases) {
    it(`${what}: ${code}`, () => {
      fc.assert(fc.property(poison.chain(poisoned), (source) => {
        const r = parsePyDict(source);
        assert.deepEqual([r.ok, !r.ok && r.code], [false, code], source);
        if (!r.ok) assert.match(r.message, message);
      }), fuzzParams(100));
    });
  }

  it("byte strings (b'', rb'', concatenated bytes) are bad_packet; bytes concatenated with str is bad_frame", () => {
    fc.assert(fc.property(fc.constantFrom('b', 'B', 'rb', 'bR', 'Br', 'RB'), fc.boolean(), (p, twice) => {
      const r = parsePyDict(`{'content': ${p}'abc'${twice ? ` ${p}'def'` : ''}}`);
      assert.deepEqual([r.ok, !r.ok && r.code], [false, 'bad_packet']);
      if (!r.ok) assert.match(r.message, /content: a byte string/);
      const mixed = parsePyDict(`{'content': 'abc' ${p}'def'}`);
      assert.deepEqual([mixed.ok, !mixed.ok && mixed.code], [false, 'bad_frame']);
    }), fuzzParams(50));
  });

  it("f-strings, sets, lists, calls and unknown prefixes are not dict literals we read", () => {
    for (const src of ["{'a': f'x'}", "{'a'}", "{'a': ['x']}", "{'a': ('x',)}", "{'a': len('x')}", "{'a': x'y'}", "{'a': 1j}", "{'a': 01}", "{'a': 1 2}", "{'a': 'b',,}", '{,}', "{'a': 'b'}}"]) {
      const r = parsePyDict(src);
      assert.deepEqual([r.ok, !r.ok && r.code], [false, 'bad_frame'], src);
    }
  });
});

/** Python-significant characters for mutating sources. */
const MUTATIONS = ["'", '"', '\\', '{', '}', ':', ',', 'r', 'b', 'u', 'f', 'N', 'x', 'u', 'U', '0', '7', ' ', '\n', '\r', '\t', '\ud800', '\u202e', '😀', '\0'];
const mutatedSource = fc.tuple(dictSource, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...MUTATIONS), fc.constantFrom('insert', 'replace', 'delete')), { minLength: 1, maxLength: 3 })).map(([{ source }, edits]) => {
  let s = source;
  for (const [at, ch, op] of edits) {
    const i = s.length === 0 ? 0 : at % s.length;
    s = op === 'insert' ? s.slice(0, i) + ch + s.slice(i) : op === 'replace' ? s.slice(0, i) + ch + s.slice(i + 1) : s.slice(0, i) + s.slice(i + 1);
  }
  return s;
});

describe('Python literals: total on any text', () => {
  function assertSane(r: PyDictResult): void {
    if (!r.ok) {
      assert.ok(r.code === 'bad_frame' || r.code === 'bad_packet');
      assert.equal(typeof r.message, 'string');
      return;
    }
    for (const [k, v] of Object.entries(r.value)) {
      assert.ok(!/\p{Cs}/u.test(k));
      assert.ok(v === null || ['string', 'number', 'boolean'].includes(typeof v), typeof v);
      if (typeof v === 'string') assert.ok(!/\p{Cs}/u.test(v), 'no lone surrogate gets through');
    }
    assert.equal(Object.getPrototypeOf(r.value), Object.prototype, 'a __proto__ key never sets the prototype');
  }
  it('arbitrary text', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string().map((s) => `{${s}}`)), (s) => assertSane(parsePyDict(s))), fuzzParams(500));
  });
  it('mutated valid literals', () => {
    fc.assert(fc.property(mutatedSource, (s) => assertSane(parsePyDict(s))), fuzzParams(500));
  });
});

// ---- the reference: Python itself ---------------------------------------------------------
const ORACLE = String.raw`
import ast, json, sys, warnings
warnings.simplefilter('ignore')
def conv(x):
    if x is None or isinstance(x, bool): return {'v': x}
    if isinstance(x, int): return {'n': str(x)}
    if isinstance(x, float): return {'n': repr(x)}
    if isinstance(x, str):
        try: x.encode('utf-8')
        except UnicodeEncodeError: return {'surrogate': True}
        return {'s': x}
    return {'other': type(x).__name__}
out = []
for line in sys.stdin:
    try:
        v = ast.literal_eval(json.loads(line))
    except Exception:
        out.append(None)
        continue
    out.append([[conv(k), conv(x)] for k, x in v.items()] if isinstance(v, dict) else {'kind': type(v).__name__})
print(json.dumps(out))
`;

describe('Python literals: the same answers as ast.literal_eval', () => {
  const py = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' });
  const skip = py.status === 0 ? false : 'python3 is not installed, so the reference cannot run';
  it('valid and mutated literals: accepted by both with the same value, or refused by both', { skip }, () => {
    const params = fuzzParams(400);
    const sources: string[] = fc.sample(fc.oneof(dictSource.map((d) => d.source), mutatedSource), { numRuns: Math.min(5000, params.numRuns!), ...(params.seed !== undefined ? { seed: params.seed } : {}) });
    // Python cannot read NUL in source text; we may (it is harmless inside a string). Whitespace
    // around the dict is trimmed: Python's indentation rules make "{}\n " an error, which a
    // frame (one line) cannot hold and which is not worth copying.
    const usable = sources.filter((s) => !s.includes('\0') && !/\p{Cs}/u.test(s)).map((s) => s.trim());
    const res = spawnSync('python3', ['-c', ORACLE], { input: usable.map((s) => JSON.stringify(s)).join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(res.status, 0, res.stderr);
    const answers = JSON.parse(res.stdout) as Array<null | { kind: string } | Array<[Record<string, any>, Record<string, any>]>>;
    assert.equal(answers.length, usable.length);
    usable.forEach((src, i) => {
      const ours = parsePyDict(src);
      const theirs = answers[i];
      const label = `${JSON.stringify(src)} -> ours ${JSON.stringify(ours)}, Python ${JSON.stringify(theirs)}`;
      if (theirs === null || !Array.isArray(theirs)) return assert.equal(ours.ok, false, label);
      const outside = theirs.some(([k, v]) => !('s' in k) || 'other' in v || 'surrogate' in v);
      if (outside) return assert.equal(ours.ok, false, label);
      if (src.includes('\\N{') && !ours.ok) return; // refused on purpose
      assert.ok(ours.ok, label);
      const want = ownObject(theirs.map(([k, v]) => [k.s as string, 'n' in v ? Number(String(v.n).replace(/^(-?)inf$/, '$1Infinity')) : 's' in v ? v.s : v.v]));
      assert.deepStrictEqual(ours.value, want, label);
    });
  });
});
