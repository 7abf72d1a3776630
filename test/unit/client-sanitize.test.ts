import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { safeJson, sanitize, sanitizeLine } from '../../src/client/sanitize.js';

/** Nothing that a terminal could take as a control may survive. */
function assertInert(s: string): void {
  assert.doesNotMatch(s, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, `control left in ${JSON.stringify(s)}`);
  assert.doesNotMatch(s, /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/, `bidi control left in ${JSON.stringify(s)}`);
}

describe('sanitize: text from the network is inert on a terminal', () => {
  const cases: Array<[string, string, string]> = [
    ['plain text stays', 'hello, wörld ✓ 日本 👋🏽', 'hello, wörld ✓ 日本 👋🏽'],
    ['CSI colour', 'a\x1b[31mred\x1b[0m b', 'ared b'],
    ['CSI clear screen and cursor home', '\x1b[2J\x1b[Hgotcha', 'gotcha'],
    ['CSI with private parameters', 'x\x1b[?1049hy\x1b[?25l', 'xy'],
    ['CSI cursor up that would overwrite earlier lines', 'one\x1b[3Aover', 'oneover'],
    ['truncated CSI at the end', 'end\x1b[12;', 'end'],
    ['OSC title with BEL', 'a\x1b]0;pwned\x07b', 'ab'],
    ['OSC 52 clipboard write with ST', 'a\x1b]52;c;cm0gLXJmIH4=\x1b\\b', 'ab'],
    ['OSC 8 hyperlink', '\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\', 'click'],
    ['unterminated OSC swallows the rest', 'safe\x1b]0;title and more', 'safe'],
    ['DCS string', 'a\x1bPq#0;2;0;0;0\x1b\\b', 'ab'],
    ['APC and PM strings', 'a\x1b_hidden\x1b\\b\x1b^pm\x1b\\c', 'abc'],
    ['charset switch and reset', 'a\x1b(0b\x1bcc\x1b7d\x1b8', 'abcd'],
    ['lone ESC', 'a\x1bb', 'a'],
    ['8-bit CSI', 'a\u009b31mb', 'ab'],
    ['8-bit OSC until ST', 'a\u009d0;t\u009cb', 'ab'],
    ['other C1 controls', 'a\u0085b\u008dc', 'abc'],
    ['C0 controls: bell, backspace, form feed, DEL', 'a\x07b\x08c\x0cd\x7fe\x00f', 'abcdef'],
    ['bidi override (Trojan Source)', 'ab\u202edcba\u202c', 'abdcba'],
    ['bidi isolates and marks', '\u2066a\u2067b\u2068c\u2069\u200e\u200f\u061c', 'abc'],
    ['tab becomes a space', 'a\tb', 'a b'],
    ['lone surrogate becomes U+FFFD', 'a\ud800b', 'a\ufffdb'],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const out = sanitize(input, { multiline: true });
      assert.equal(out, expected);
      assertInert(out);
    });
  }

  it('keeps line breaks in content, normalising CR, CRLF and U+2028', () => {
    assert.equal(sanitize('a\r\nb\rc\u2028d\ne', { multiline: true }), 'a\nb\nc\nd\ne');
  });

  it('turns line breaks into spaces for one-line fields', () => {
    assert.equal(sanitizeLine('bob\nFAKE: hi\r'), 'bob FAKE: hi ');
  });

  it('leaves emoji sequences with zero-width joiners alone', () => {
    const family = '👨\u200d👩\u200d👧';
    assert.equal(sanitize(family), family);
  });

  it('survives random garbage: nothing dangerous is ever left', () => {
    let seed = 93;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const alphabet = ['\x1b', '[', ']', 'P', '\\', '\x07', '\x9b', '\x9c', '\x9d', ';', '0', '9', 'm', 'A', 'x', '\n', '\r', '\u202e', '\ud83d', 'é', '\x00', '?', ' '];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 30);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      assertInert(sanitize(s, { multiline: true }).replace(/\n/g, ''));
      assertInert(sanitizeLine(s));
    }
  });

  it('safeJson keeps the data but escapes what a terminal would act on', () => {
    const value = { content: 'a\x1b[2J\u202e\u0085\u2028b' };
    const line = safeJson(value);
    assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u202e\u2028]/);
    assert.deepEqual(JSON.parse(line), value);
  });
});
