/**
 * Python 3's `repr` of a str, and of a list of (int, str) tuples, byte for byte: the classic
 * board answers GET with `repr(rows)` and student clients parse it with `ast.literal_eval`
 * (docs/classic-board.md, "GET").
 *
 * Python's rules (Objects/unicodeobject.c, unicode_repr):
 * - the quote is `'` unless the text holds a `'` and no `"`, then it is `"`;
 * - `\\`, the chosen quote, `\t`, `\n`, `\r` are escaped by a backslash;
 * - every other character that is not printable (str.isprintable: categories Cc, Cf, Cs, Co,
 *   Cn, Zl, Zp and Zs except the ASCII space) becomes `\xNN`, `\uNNNN` or `\UNNNNNNNN`,
 *   lowercase hex, the shortest form that fits; printable non-ASCII stays as it is.
 * Hand-written rather than a library: it runs once per listed message on GET's hot path and no
 * maintained npm package reproduces Python's choice of quote and escapes.
 */

/** Characters that may need an escape; the space is the one printable separator. */
const NEEDS_ESCAPE = /[\\'"]|(?! )[\p{C}\p{Z}]/gu;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escape(ch: string, quote: string): string {
  switch (ch) {
    case '\\':
      return '\\\\';
    case '\t':
      return '\\t';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case "'":
    case '"':
      return ch === quote ? '\\' + ch : ch;
  }
  const cp = ch.codePointAt(0)!;
  if (cp < 0x100) return '\\x' + hex(cp, 2);
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/** True when Python's str.isprintable() holds for this one code point. */
export function isPythonPrintable(cp: number): boolean {
  if (cp === 0x20) return true;
  return !/[\p{C}\p{Z}]/u.test(String.fromCodePoint(cp));
}

/** `repr(s)` as Python 3 writes it. Lone surrogates (possible in JS strings) come out as `\udXXX`, as in Python. */
export function pyReprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  return quote + s.replace(NEEDS_ESCAPE, (ch) => escape(ch, quote)) + quote;
}

/** One `(id, 'text')` tuple as Python writes it inside a list. */
export function pyReprTuple(id: number, text: string): string {
  return `(${id}, ${pyReprStr(text)})`;
}

/** `repr(rows)` for a list of (int, str) tuples, e.g. `[(1, 'Server has Started')]`. */
export function pyReprTupleList(rows: Iterable<readonly [number, string]>): string {
  const parts: string[] = [];
  for (const [id, text] of rows) parts.push(pyReprTuple(id, text));
  return `[${parts.join(', ')}]`;
}
