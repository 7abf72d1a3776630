/**
 * Parses the Python literal of a flat dict of strings (and None/True/False/numbers), as the
 * original Lab-93 client sent it: `str({'username': 'bob', 'content': "it's"})`. The original
 * server replaced every ' with " and crashed on apostrophes; a real parser handles them.
 *
 * Total: any text gives a dict or a typed refusal, never an exception. The string grammar is
 * Python 3's (Lexical analysis, "String and Bytes literals"): prefixes r/u/b (f-strings are not
 * literals), triple quotes, implicit concatenation ('a' 'b' is 'ab'), every escape. Refused:
 * `\N{...}` (we carry no table of Unicode names), `\U` above U+10FFFF (Python refuses it too),
 * byte strings (b'...' is not text), and surrogates (`'\ud800'` is a valid Python str but not
 * Unicode text; Python keeps even an escaped pair as two lone halves, so every surrogate escape
 * is refused). Hand-written: no library parses Python literals, and the grammar needed is small.
 */
import { loneSurrogate, surrogateReason } from './text.js';

export type PyDictResult =
  | { ok: true; value: Record<string, unknown> }
  /** bad_frame: not a dict literal we read; bad_packet: a dict holding what no packet may (bytes, surrogates). */
  | { ok: false; code: 'bad_frame' | 'bad_packet'; message: string };

/** A refusal, thrown inside the reader only and turned into a result at its one entry point. */
class PyFail {
  constructor(readonly code: 'bad_frame' | 'bad_packet', readonly message: string) {}
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = Object.freeze({
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
});
/** Decimal (with `_` separators, fraction, exponent) or 0x/0o/0b integers. */
const NUMBER = /(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][-+]?\d(?:_?\d)*)?)/y;
const IDENT_CHAR = /[\p{L}\p{N}_]/u;
const HEX = /^[0-9a-fA-F]+$/;

/** Parses `text` as a Python dict literal. */
export function parsePyDict(text: string): PyDictResult {
  const unit = loneSurrogate(text);
  if (unit !== -1) return { ok: false, code: 'bad_packet', message: `the text ${surrogateReason(unit)}` };
  try {
    return { ok: true, value: new Reader(text).dict() };
  } catch (e) {
    if (e instanceof PyFail) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

class Reader {
  private i = 0;
  constructor(private readonly s: string) {}

  private syntax(why: string): never {
    throw new PyFail('bad_frame', `not JSON, nor a Python dict literal: ${why} at character ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    for (;;) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') this.i++;
      else if (c === '\\' && (s[this.i + 1] === '\n' || s[this.i + 1] === '\r')) this.i += 2; // explicit line joining
      else return;
    }
  }

  dict(): Record<string, unknown> {
    const s = this.s;
    this.ws();
    if (s[this.i] !== '{') this.syntax("expected '{'");
    this.i++;
    // Own data properties, as JSON.parse makes them: a key "__proto__" must not set the prototype.
    const out: Record<string, unknown> = {};
    this.ws();
    if (s[this.i] === '}') this.i++;
    else {
      for (;;) {
        const key = this.strlit('a key');
        if (key === undefined) this.syntax('expected a string key');
        if (key.bytes) throw new PyFail('bad_packet', "a key is a byte string (b'...'), not text");
        this.ws();
        if (s[this.i] !== ':') this.syntax("expected ':'");
        this.i++;
        this.ws();
        Object.defineProperty(out, key.text, { value: this.value(key.text), writable: true, enumerable: true, configurable: true });
        this.ws();
        const sep = s[this.i];
        if (sep === '}') {
          this.i++;
          break;
        }
        if (sep !== ',') this.syntax("expected ',' or '}'");
        this.i++;
        this.ws();
        if (s[this.i] === '}') {
          this.i++; // a trailing comma, as Python allows
          break;
        }
      }
    }
    this.ws();
    if (this.i !== s.length) this.syntax("text after the closing '}'");
    return out;
  }

  private value(field: string): unknown {
    const str = this.strlit(field);
    if (str !== undefined) {
      if (str.bytes) throw new PyFail('bad_packet', `${field}: a byte string (b'...') is not text; send a str`);
      return str.text;
    }
    const s = this.s;
    for (const [word, v] of [['None', null], ['True', true], ['False', false]] as const) {
      if (s.startsWith(word, this.i) && !IDENT_CHAR.test(s[this.i + word.length] ?? '')) {
        this.i += word.length;
        return v;
      }
    }
    // One sign, as ast.literal_eval allows, possibly apart from its number ("- 1").
    const sign = s[this.i] === '-' || s[this.i] === '+' ? s[this.i++] : '';
    if (sign !== '') this.ws();
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(s);
    if (m === null) this.syntax('expected a string, None, True, False or a number');
    const lit = m[0];
    this.i += lit.length;
    if (IDENT_CHAR.test(s[this.i] ?? '') || s[this.i] === '.') this.syntax('malformed number');
    const isFloat = !/^0[xXoObB]/.test(lit) && /[.eE]/.test(lit);
    if (!isFloat && /^0[0-9_]*[1-9]/.test(lit)) this.syntax('leading zeros in a decimal integer');
    const n = Number(lit.replace(/_/g, ''));
    // Python's -0 is the integer 0; only a float keeps its sign (-0.0).
    return sign === '-' && (n !== 0 || isFloat) ? -n : n;
  }

  /** The prefix (lower case) and quote of a string starting here, or undefined. */
  private stringStart(): { prefix: string; at: number } | undefined {
    const s = this.s;
    let j = this.i;
    while (j < this.i + 2 && /[rRbBuUfF]/.test(s[j] ?? '')) j++;
    if (s[j] !== "'" && s[j] !== '"') return undefined;
    return { prefix: s.slice(this.i, j).toLowerCase(), at: j };
  }

  /** One string literal, implicit concatenation included; undefined when none starts here. */
  private strlit(field: string): { text: string; bytes: boolean } | undefined {
    let start = this.stringStart();
    if (start === undefined) return undefined;
    let text = '';
    let bytes: boolean | undefined;
    for (;;) {
      const p = start.prefix;
      if (p.includes('f')) this.syntax('an f-string is not a literal');
      if (p !== '' && !['r', 'u', 'b', 'br', 'rb'].includes(p)) this.syntax(`bad string prefix ${p}`);
      const isBytes = p.includes('b');
      if (bytes !== undefined && bytes !== isBytes) this.syntax('bytes and str cannot be concatenated');
      bytes = isBytes;
      this.i = start.at;
      text += this.piece(field, p.includes('r'), isBytes);
      const back = this.i;
      this.ws();
      const next = this.stringStart();
      if (next === undefined) {
        this.i = back;
        return { text, bytes };
      }
      start = next;
    }
  }

  /** The body of one quoted piece; `this.i` is at its opening quote. */
  private piece(field: string, raw: boolean, bytes: boolean): string {
    const s = this.s;
    const q = s[this.i]!;
    const triple = s.startsWith(q + q + q, this.i);
    this.i += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (this.i >= s.length) this.syntax('unterminated string');
      const c = s[this.i]!;
      if (c === q && (!triple || s.startsWith(q + q + q, this.i))) {
        this.i += triple ? 3 : 1;
        return out;
      }
      if (c === '\n' || c === '\r') {
        if (!triple) this.syntax('a line break inside a string');
        // Python reads source with universal newlines: \r\n and \r are \n, in strings too.
        out += '\n';
        this.i += c === '\r' && s[this.i + 1] === '\n' ? 2 : 1;
        continue;
      }
      if (bytes && c.charCodeAt(0) > 0x7f) this.syntax('a byte string holds only ASCII characters');
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const e = s[this.i + 1];
      if (e === undefined) this.syntax('unterminated string');
      if (raw) {
        // In a raw string the backslash stays, and the character after it cannot end the string
        // (a line break after it is kept too, as \n).
        if (e === '\n' || e === '\r') {
          out += '\\\n';
          this.i += e === '\r' && s[this.i + 2] === '\n' ? 3 : 2;
        } else {
          out += c + e;
          this.i += 2;
        }
        continue;
      }
      out += this.escape(field, e, bytes);
    }
  }

  /** One escape sequence (`this.i` at its backslash, `e` the character after it). */
  private escape(field: string, e: string, bytes: boolean): string {
    const s = this.s;
    if (e === '\n' || e === '\r') {
      this.i += e === '\r' && s[this.i + 2] === '\n' ? 3 : 2; // a backslash-newline continues the line
      return '';
    }
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      this.i += 2;
      return simple;
    }
    if (e >= '0' && e <= '7') {
      let j = this.i + 1;
      while (j < this.i + 4 && s[j]! >= '0' && s[j]! <= '7') j++;
      const v = parseInt(s.slice(this.i + 1, j), 8);
      this.i = j;
      return String.fromCharCode(v); // at most 0o777: never a surrogate
    }
    const width = e === 'x' ? 2 : bytes ? 0 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (width > 0) {
      const h = s.slice(this.i + 2, this.i + 2 + width);
      if (h.length !== width || !HEX.test(h)) this.syntax(`truncated \\${e} escape`);
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff) throw new PyFail('bad_frame', `${field}: \\${e}${h} is above U+10FFFF, the last Unicode code point`);
      if (cp >= 0xd800 && cp <= 0xdfff) throw new PyFail('bad_packet', `${field}: \\${e}${h} is a surrogate, not a character; send the character itself`);
      this.i += 2 + width;
      return String.fromCodePoint(cp);
    }
    if (e === 'N' && !bytes) {
      if (s[this.i + 2] !== '{') this.syntax('malformed \\N escape');
      throw new PyFail('bad_frame', `${field}: \\N{...} escapes are not supported; send the character itself`);
    }
    // Not an escape: Python keeps the backslash (with a warning).
    this.i += 1;
    return '\\';
  }
}
