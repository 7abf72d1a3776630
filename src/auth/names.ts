/**
 * Honest names (docs/protocol.md, "Names"): every username and room is normalised (NFKC) and
 * gets two keys, as ergo's irc/strings.go keeps them:
 *
 * - the **key**, its case-folded form: one account, one key (`Alice` and `alice` are one name);
 * - the **skeleton** (Unicode TR39, "Confusable Detection"): the key with every character
 *   mapped to its prototype in Unicode's confusables.txt (through the `unhomoglyph` package,
 *   MIT, whose data.json is generated from confusables.txt 13.0.0, © Unicode, Inc., under the
 *   Unicode License: https://www.unicode.org/license.txt), then folded again. Two names with one
 *   skeleton look alike: `аlice` (Cyrillic а), `a1ice` and `alice`.
 *
 * Unlike ergo, the skeleton is taken from the folded key, so names with one key always share a
 * skeleton and one comparison catches both; the price is that an upper-case I no longer stands
 * for a lower-case l.
 *
 * Names that cannot be shown honestly are refused outright: invisible (default-ignorable) or
 * blank-looking characters, combining marks with nothing to sit on, and a mix of scripts beyond
 * TR39's "Highly Restrictive" level. Pure code: no I/O.
 */
import unhomoglyph from 'unhomoglyph';
import { ProtocolError } from '../protocol/errors.js';
import { mixedScripts } from './scripts.js';

/** Names starting with this belong to the classic board (`classic@<address>`). */
export const CLASSIC_PREFIX = 'classic@';

/** A name as it will be used, with its identity key and its look-alike skeleton. */
export interface Name {
  /** NFKC-normalised: what is stored and shown. */
  name: string;
  /** Case-folded: equal keys are the same name. */
  key: string;
  /** TR39 skeleton of the key: equal skeletons look the same. */
  skeleton: string;
}

/** Printable, no whitespace, no control or format characters (as protocol/packets.ts). */
const NAME_CHARS = /^[^\s\p{C}]+$/u;
/**
 * Invisible characters (Default_Ignorable_Code_Point: U+034F, variation selectors such as
 * U+FE0F, U+3164 and the other Hangul fillers) and visible-as-nothing ones that are not
 * default-ignorable: U+2800 BRAILLE PATTERN BLANK, U+16FE4 KHITAN SMALL SCRIPT FILLER,
 * U+1D159 MUSICAL SYMBOL NULL NOTEHEAD.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800\u{16FE4}\u{1D159}]/u;
const MARK = /^\p{M}$/u;
/** More stacked marks than any language needs on one letter is a way to smear text over lines. */
const MAX_MARKS_IN_A_ROW = 4;

function hex(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Case folding, approximated with what JavaScript has: upper then lower case maps ß to ss and
 * every sigma to one form, which toLowerCase alone does not; NFKC around it keeps the result
 * normalised.
 */
export function foldCase(s: string): string {
  return s.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/** TR39 skeleton of a (folded) string: NFD, confusables mapped, NFD; folded again until stable. */
export function skeleton(s: string): string {
  let out = foldCase(s);
  for (let i = 0; i < 3; i++) {
    const next = foldCase(unhomoglyph(out.normalize('NFD'))).normalize('NFD');
    if (next === out) break;
    out = next;
  }
  return out;
}

/** The two keys of an already valid, normalised name. */
export function nameKeys(name: string): Name {
  const key = foldCase(name);
  return { name, key, skeleton: skeleton(key) };
}

function bad(field: string, why: string): ProtocolError {
  return new ProtocolError('bad_packet', `${field}: ${why}`);
}

/**
 * Normalises a username or room and refuses what cannot be shown honestly; throws `bad_packet`
 * naming the field and the reason. `max` counts characters after normalisation.
 */
export function checkName(raw: string, field: string, max: number): Name {
  const name = raw.normalize('NFKC');
  if (name.length === 0) throw bad(field, 'must not be empty');
  if ([...name].length > max) throw bad(field, `longer than ${max} characters`);
  // Normalisation can unfold a compatibility character into spaces (U+2474 is "(1)", fine; some
  // become a space): check the normalised form, not only what was sent.
  if (!NAME_CHARS.test(name)) throw bad(field, 'must not contain spaces or control characters');
  const invisible = INVISIBLE.exec(raw) ?? INVISIBLE.exec(name);
  if (invisible) throw bad(field, `contains an invisible or blank character (${hex(invisible[0])}); names must look like what they are`);
  const chars = [...name];
  if (MARK.test(chars[0]!)) {
    throw bad(field, chars.every((c) => MARK.test(c)) ? 'has only combining marks, nothing to see' : `begins with a combining mark (${hex(chars[0]!)}), which would join the text before it`);
  }
  let run = 0;
  for (const c of chars) {
    run = MARK.test(c) ? run + 1 : 0;
    if (run > MAX_MARKS_IN_A_ROW) throw bad(field, `stacks more than ${MAX_MARKS_IN_A_ROW} combining marks on one character`);
  }
  const mixed = mixedScripts(name);
  if (mixed) throw bad(field, `mixes ${mixed.join(' and ')} letters; a name in one script cannot hide a look-alike of another name`);
  return nameKeys(name);
}

/** True when the name claims the classic board's prefix (in any case or look-alike spelling). */
export function isReserved(n: Name): boolean {
  return n.key.startsWith(CLASSIC_PREFIX) || n.skeleton.startsWith(RESERVED_SKELETON);
}
const RESERVED_SKELETON = skeleton(CLASSIC_PREFIX);

/** A username: honest, and not the board's. */
export function checkUsername(raw: string, max: number, field = 'username'): Name {
  const n = checkName(raw, field, max);
  if (isReserved(n)) throw bad(field, `names starting with ${CLASSIC_PREFIX} are reserved for the classic board`);
  return n;
}
