/**
 * How many terminal columns text takes, and wrapping to a width with a hanging indent: long
 * messages wrap under their text, not under the timestamp (issue 11, item 7), and the screen
 * knows how many rows each printed line takes. Pure.
 *
 * Widths follow what terminals do (wcwidth): combining marks, joiners and variation selectors
 * take 0 columns; East Asian wide and fullwidth characters and most emoji take 2; the rest 1.
 * SGR colour sequences (ours) take none. Text from the network reaches here sanitised, so no
 * other escape sequence is left to measure.
 */

const SGR = /\x1b\[[0-9;]*m/g;
const ZERO = /[\p{Mn}\p{Me}\u200b-\u200d\u2060\ufe00-\ufe0f\u{e0100}-\u{e01ef}]/u;

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) || // Hangul Jamo
    (cp >= 0x2e80 && cp <= 0x303e) || // CJK radicals, punctuation
    (cp >= 0x3041 && cp <= 0x33ff) || // kana, CJK symbols
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || // Hangul syllables
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) || // fullwidth forms
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) || // emoji
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x1fa70 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

export function charWidth(ch: string): number {
  if (ZERO.test(ch)) return 0;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  return isWide(cp) ? 2 : 1;
}

/** Columns taken by `text` (one line; SGR sequences ignored). */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text.replace(SGR, '')) w += charWidth(ch);
  return w;
}

/**
 * Cuts `text` (plain, one line) into rows: the first at most `first` columns, the next ones at
 * most `rest`. Breaks after a space when one is on the row, otherwise inside the word. Spaces
 * at a break are dropped.
 */
export function wrapText(text: string, first: number, rest: number): string[] {
  const rows: string[] = [];
  let row = '';
  let w = 0;
  let limit = Math.max(1, first);
  let lastSpace = -1; // index in `row` just after the last space, and the width up to there
  let widthAtSpace = 0;
  for (const ch of text) {
    const cw = charWidth(ch);
    if (w + cw > limit && row !== '') {
      if (ch === ' ') {
        rows.push(row.trimEnd());
        row = '';
        w = 0;
        lastSpace = -1;
        limit = Math.max(1, rest);
        continue;
      }
      if (lastSpace > 0) {
        const carry = row.slice(lastSpace);
        rows.push(row.slice(0, lastSpace).trimEnd());
        row = carry;
        w -= widthAtSpace;
      } else {
        rows.push(row);
        row = '';
        w = 0;
      }
      lastSpace = -1;
      limit = Math.max(1, rest);
    }
    row += ch;
    w += cw;
    if (ch === ' ') {
      lastSpace = row.length;
      widthAtSpace = w;
    }
  }
  rows.push(row);
  return rows;
}

/** `text` cut to at most `width` columns, with "…" when something was cut. */
export function truncate(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}
