import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isPythonPrintable, pyReprStr, pyReprTupleList } from '../../src/protocol/pyrepr.js';

/** Python's own answers, written by test/fixtures/classic/gen-pyrepr.py. */
const py = JSON.parse(readFileSync(new URL('../fixtures/classic/pyrepr.json', import.meta.url), 'utf8')) as {
  python: string;
  unidata_version: string;
  unprintable: Array<[number, number]>;
  unassigned: Array<[number, number]>;
  vectors: Array<[string, string]>;
  lists: Array<[Array<[number, string]>, string]>;
};

function inRanges(ranges: Array<[number, number]>): (cp: number) => boolean {
  const set = new Uint8Array(0x110000);
  for (const [a, b] of ranges) set.fill(1, a, b + 1);
  return (cp) => set[cp] === 1;
}

test('the quote and the escapes are the ones Python picks', () => {
  const cases: Array<[string, string]> = [
    ['', "''"],
    ["it's", `"it's"`],
    ['say "hi"', `'say "hi"'`],
    [`both ' and "`, `'both \\' and "'`],
    ['back\\slash', "'back\\\\slash'"],
    ['tab\there\nnew\rret', "'tab\\there\\nnew\\rret'"],
    ['\x00\x1b\x7f\x85\xa0\xad', "'\\x00\\x1b\\x7f\\x85\\xa0\\xad'"],
    ['café 日本語 😀 Ω', "'café 日本語 😀 Ω'"],
    ['\u200b\u2028\u3000\ufeff\ue000', "'\\u200b\\u2028\\u3000\\ufeff\\ue000'"],
    ['\u{f0000}\u{e0001}', "'\\U000f0000\\U000e0001'"],
    ['lone \ud800 surrogate', "'lone \\ud800 surrogate'"],
  ];
  for (const [text, repr] of cases) assert.equal(pyReprStr(text), repr, JSON.stringify(text));
});

const unassignedInPython = inRanges(py.unassigned);
/** Texts holding a character Unicode assigned after Python's database: Node (newer) prints it, Python escapes it. */
const newerThanPython = (text: string): boolean => [...text].some((ch) => {
  const cp = ch.codePointAt(0)!;
  return unassignedInPython(cp) && isPythonPrintable(cp);
});

test(`agrees with Python ${py.python}'s repr on ${py.vectors.length} random texts`, () => {
  let compared = 0;
  for (const [text, repr] of py.vectors) {
    // A Python str may hold a high and a low surrogate side by side; in JS they are one character.
    if (newerThanPython(text) || /\\ud[89ab][0-9a-f]{2}\\ud[c-f]/.test(repr)) continue;
    compared++;
    assert.equal(pyReprStr(text), repr, JSON.stringify(text));
  }
  assert.ok(compared > py.vectors.length * 0.9, `only ${compared} comparable`);
});

test('lists of (id, text) tuples come out as Python writes them', () => {
  assert.equal(pyReprTupleList([]), '[]');
  assert.equal(pyReprTupleList([[1, 'Server has Started'], [2, 'HelloDere!']]), "[(1, 'Server has Started'), (2, 'HelloDere!')]");
  for (const [rows, repr] of py.lists) if (!rows.some(([, t]) => newerThanPython(t))) assert.equal(pyReprTupleList(rows), repr);
});

test(`str.isprintable agrees with Python (Unicode ${py.unidata_version}) on every code point it has assigned`, () => {
  const unprintable = inRanges(py.unprintable);
  const unassigned = unassignedInPython;
  let checked = 0;
  const wrong: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    // Code points Python's Unicode database leaves unassigned may have been assigned in the newer
    // Unicode Node ships; there we follow Node's (newer) answer, as a newer Python would.
    if (unassigned(cp)) continue;
    checked++;
    if (isPythonPrintable(cp) === unprintable(cp)) wrong.push(cp.toString(16));
  }
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} code points differ`);
  assert.ok(checked > 280_000);
});
