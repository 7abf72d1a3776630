/**
 * What the protocol accepts as text (docs/protocol.md, "Text"). Every string on the wire must be
 * valid Unicode: UTF-8 bytes that decode strictly cannot hold a lone surrogate, but a JSON
 * `\ud800` escape or a Python `'\ud800'` can, and such a string has no UTF-8 form: storing it
 * would hand every reader (SQLite, a Python client's `encode()`, a terminal) text it cannot carry.
 */

/** With the `u` flag a surrogate pair matches as one astral code point, so only an unpaired half is `Cs`. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The first lone surrogate in `s` as a code unit, or -1 when `s` is valid Unicode. */
export function loneSurrogate(s: string): number {
  const m = LONE_SURROGATE.exec(s);
  return m === null ? -1 : m[0].charCodeAt(0);
}

/** `U+D800` style, as errors name code points. */
export function codePointName(cp: number): string {
  return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
}

/** The reason given for a string holding a lone surrogate. */
export function surrogateReason(unit: number): string {
  return `holds a lone surrogate ${codePointName(unit)}, which is not Unicode text`;
}
