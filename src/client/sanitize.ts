/**
 * Makes text from the network safe to print on a terminal. A chat message, a username, a room,
 * a server error text: all of it is somebody else's input, and a terminal obeys what it prints.
 * An escape sequence could clear the screen, move the cursor over earlier lines, set the window
 * title, plant an OSC 52 clipboard write or an OSC 8 link, or report back into the input stream;
 * a bidi override could make `rm -rf` look like something else. So we strip:
 *
 * - 7-bit escape sequences: CSI (`ESC [`), OSC (`ESC ]` … BEL/ST), DCS/SOS/PM/APC (`ESC P/X/^/_`
 *   … ST), and every other `ESC` + intermediates + final (charset switches, RIS, DECSC …);
 *   an unterminated string sequence swallows the rest of the text (showing its payload would be
 *   the attack);
 * - their 8-bit C1 forms (0x9B CSI, 0x9D OSC, 0x90 DCS …) and every other C0/C1 control
 *   (tab becomes a space; CR, CRLF and U+2028/U+2029 become a newline where newlines are kept);
 * - bidirectional overrides, embeddings, isolates and marks;
 * - lone surrogates (U+FFFD instead: a terminal may misdecode them).
 *
 * Hand-written rather than a dependency: a few regular expressions, and the exact list matters.
 */

/** String sequences (OSC, DCS, SOS, PM, APC), 7-bit or 8-bit introducer, up to BEL or ST or the end. */
const STRING_SEQ = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)/g;
/** CSI (7-bit or 8-bit): parameters, intermediates, final; a truncated one goes too. */
const CSI_SEQ = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?/g;
/** Any other escape: ESC, intermediates, one final byte (or a lone ESC). */
const OTHER_ESC = /\x1b[ -/]*[0-~]?/g;
/** C0 (except tab and newline), DEL and C1 controls. */
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** Bidi: ALM, LRM, RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export interface SanitizeOptions {
  /** Keep line breaks (message content); otherwise they become spaces (names, rooms, subjects). */
  multiline?: boolean;
}

/** Strips terminal control characters and escape sequences from text received over the network. */
export function sanitize(text: string, opts: SanitizeOptions = {}): string {
  let s = text
    .replace(STRING_SEQ, '')
    .replace(CSI_SEQ, '')
    .replace(OTHER_ESC, '')
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROLS, '')
    .replace(BIDI, '')
    .replace(LONE_SURROGATE, '\ufffd');
  if (!opts.multiline) s = s.replace(/\n/g, ' ');
  return s;
}

/** One line of text: names, rooms, subjects, server notices. */
export function sanitizeLine(text: string): string {
  return sanitize(text, { multiline: false });
}

/**
 * JSON for printing: JSON.stringify already escapes C0 controls; this also escapes DEL, C1,
 * bidi controls and the line separators, so the data survives intact and nothing reaches the
 * terminal raw.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
