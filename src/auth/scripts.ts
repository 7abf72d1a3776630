/**
 * Which writing systems a name uses (Unicode TR39, "Mixed-Script Detection"), so a name that
 * mixes, say, Latin and Cyrillic letters can be refused before it imitates another name.
 *
 * JavaScript regular expressions know each character's Script_Extensions but cannot list them,
 * so the script names are listed here; a name this Node's Unicode does not know is dropped at
 * load (a test checks that every letter of the running Unicode version is covered).
 */

const SCRIPT_NAMES = [
  'Adlam', 'Ahom', 'Anatolian_Hieroglyphs', 'Arabic', 'Armenian', 'Avestan', 'Balinese', 'Bamum',
  'Bassa_Vah', 'Batak', 'Bengali', 'Beria_Erfe', 'Bhaiksuki', 'Bopomofo', 'Brahmi', 'Braille', 'Buginese',
  'Buhid', 'Canadian_Aboriginal', 'Carian', 'Caucasian_Albanian', 'Chakma', 'Cham', 'Cherokee',
  'Chorasmian', 'Coptic', 'Cuneiform', 'Cypriot', 'Cypro_Minoan', 'Cyrillic', 'Deseret',
  'Devanagari', 'Dives_Akuru', 'Dogra', 'Duployan', 'Egyptian_Hieroglyphs', 'Elbasan', 'Elymaic',
  'Ethiopic', 'Garay', 'Georgian', 'Glagolitic', 'Gothic', 'Grantha', 'Greek', 'Gujarati',
  'Gunjala_Gondi', 'Gurmukhi', 'Gurung_Khema', 'Han', 'Hangul', 'Hanifi_Rohingya', 'Hanunoo',
  'Hatran', 'Hebrew', 'Hiragana', 'Imperial_Aramaic', 'Inscriptional_Pahlavi',
  'Inscriptional_Parthian', 'Javanese', 'Kaithi', 'Kannada', 'Katakana', 'Kawi', 'Kayah_Li',
  'Kharoshthi', 'Khitan_Small_Script', 'Khmer', 'Khojki', 'Khudawadi', 'Kirat_Rai', 'Lao', 'Latin',
  'Lepcha', 'Limbu', 'Linear_A', 'Linear_B', 'Lisu', 'Lycian', 'Lydian', 'Mahajani', 'Makasar',
  'Malayalam', 'Mandaic', 'Manichaean', 'Marchen', 'Masaram_Gondi', 'Medefaidrin', 'Meetei_Mayek',
  'Mende_Kikakui', 'Meroitic_Cursive', 'Meroitic_Hieroglyphs', 'Miao', 'Modi', 'Mongolian', 'Mro',
  'Multani', 'Myanmar', 'Nabataean', 'Nag_Mundari', 'Nandinagari', 'New_Tai_Lue', 'Newa', 'Nko',
  'Nushu', 'Nyiakeng_Puachue_Hmong', 'Ogham', 'Ol_Chiki', 'Ol_Onal', 'Old_Hungarian', 'Old_Italic',
  'Old_North_Arabian', 'Old_Permic', 'Old_Persian', 'Old_Sogdian', 'Old_South_Arabian', 'Old_Turkic',
  'Old_Uyghur', 'Oriya', 'Osage', 'Osmanya', 'Pahawh_Hmong', 'Palmyrene', 'Pau_Cin_Hau', 'Phags_Pa',
  'Phoenician', 'Psalter_Pahlavi', 'Rejang', 'Runic', 'Samaritan', 'Saurashtra', 'Sharada',
  'Shavian', 'Siddham', 'Sidetic', 'SignWriting', 'Sinhala', 'Sogdian', 'Sora_Sompeng', 'Soyombo', 'Sundanese',
  'Sunuwar', 'Syloti_Nagri', 'Syriac', 'Tagalog', 'Tagbanwa', 'Tai_Le', 'Tai_Tham', 'Tai_Viet', 'Tai_Yo',
  'Takri', 'Tamil', 'Tangsa', 'Tangut', 'Telugu', 'Thaana', 'Thai', 'Tibetan', 'Tifinagh', 'Tirhuta',
  'Todhri', 'Tolong_Siki', 'Toto', 'Tulu_Tigalari', 'Ugaritic', 'Vai', 'Vithkuqi', 'Wancho', 'Warang_Citi', 'Yezidi',
  'Yi', 'Zanabazar_Square',
];

const SCRIPTS: ReadonlyArray<readonly [string, RegExp]> = SCRIPT_NAMES.flatMap((name) => {
  try {
    return [[name, new RegExp(`^\\p{scx=${name}}$`, 'u')] as const];
  } catch {
    return [];
  }
});

/** Common and Inherited characters (digits, punctuation, most combining marks) go with any script. */
const ANY_SCRIPT = /^[\p{scx=Zyyy}\p{scx=Zinh}]$/u;

/** The scripts this Node's Unicode knows, for the coverage test. */
export const KNOWN_SCRIPTS: readonly string[] = SCRIPTS.map(([n]) => n);

/**
 * TR39's augmented script sets: Han with Hiragana and Katakana is one writing system (Japanese),
 * Han with Hangul another (Korean), Han with Bopomofo a third.
 */
function augment(set: Set<string>): Set<string> {
  if (set.has('Han')) set.add('Hanb').add('Jpan').add('Kore');
  if (set.has('Hiragana') || set.has('Katakana')) set.add('Jpan');
  if (set.has('Hangul')) set.add('Kore');
  if (set.has('Bopomofo')) set.add('Hanb');
  return set;
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}

const cache = new Map<number, readonly string[] | null>();
const CACHE_MAX = 4096;

/** A character's scripts (Script_Extensions), or null for a Common or Inherited one. */
export function scriptsOf(ch: string): readonly string[] | null {
  const cp = ch.codePointAt(0)!;
  const hit = cache.get(cp);
  if (hit !== undefined) return hit;
  let out: readonly string[] | null;
  if (ANY_SCRIPT.test(ch)) out = null;
  else {
    const found = SCRIPTS.filter(([, re]) => re.test(ch)).map(([n]) => n);
    // A character of a script this list lacks still counts as a script of its own.
    out = found.length > 0 ? found : [`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`];
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(cp, out);
  return out;
}

/** Latin mixed with Han and the Japanese kana, with Han and Bopomofo, or with Han and Hangul (TR39 "Highly Restrictive"). */
const ALLOWED_MIXES: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

/**
 * The scripts a name mixes when it mixes more than TR39's "Highly Restrictive" level allows,
 * or null when it is written in one script (or an allowed mix). Digits and punctuation mix with
 * anything.
 */
export function mixedScripts(name: string): string[] | null {
  // Printable ASCII is Latin and Common only: the common case costs one test.
  if (/^[\x21-\x7e]*$/.test(name)) return null;
  let resolved: Set<string> | null = null;
  const sets: Array<readonly string[]> = [];
  for (const ch of name) {
    const s = scriptsOf(ch);
    if (s === null) continue;
    sets.push(s);
    const mine = augment(new Set(s));
    resolved = resolved === null ? mine : intersect(resolved, mine);
  }
  if (resolved === null || resolved.size > 0) return null;
  if (ALLOWED_MIXES.some((mix) => sets.every((set) => set.some((s) => mix.has(s))))) return null;
  // For the message: each character's first script (a shared Indic digit has several).
  return [...new Set(sets.map((set) => set[0]!))];
}
