/**
 * Parses the Python literal of a flat dict of strings (and None/True/False/numbers), as the
 * original Lab-93 client sent it: `str({'username': 'bob', 'content': "it's"})`. The original
 * server replaced every ' with " and crashed on apostrophes; a real parser handles them.
 * Hand-written: no library parses Python literals, and the grammar needed is tiny. Returns
 * undefined for anything else.
 */
export function parsePyDict(text: string): Record<string, unknown> | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string | undefined => {
    const q = text[i];
    if (q !== "'" && q !== '"') return undefined;
    i++;
    let out = '';
    while (i < text.length && text[i] !== q) {
      const c = text[i++]!;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i++];
      const hex = (n: number): string | undefined => {
        const h = text.slice(i, i + n);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) return undefined;
        i += n;
        return String.fromCodePoint(parseInt(h, 16));
      };
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const ch = hex(e === 'x' ? 2 : e === 'u' ? 4 : 8);
        if (ch === undefined) return undefined;
        out += ch;
      } else return undefined;
    }
    if (text[i] !== q) return undefined;
    i++;
    return out;
  };
  const value = (): unknown => {
    const s = str();
    if (s !== undefined) return s;
    const m = /^(None|True|False|-?\d+(?:\.\d+)?)/.exec(text.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return m[0] === 'None' ? null : m[0] === 'True' ? true : m[0] === 'False' ? false : Number(m[0]);
  };
  ws();
  if (text[i++] !== '{') return undefined;
  const out: Record<string, unknown> = {};
  ws();
  if (text[i] === '}') return i + 1 === text.trimEnd().length ? out : undefined;
  for (;;) {
    ws();
    const k = str();
    if (k === undefined) return undefined;
    ws();
    if (text[i++] !== ':') return undefined;
    ws();
    const v = value();
    if (v === undefined) return undefined;
    out[k] = v;
    ws();
    const sep = text[i++];
    if (sep === '}') break;
    if (sep !== ',') return undefined;
  }
  ws();
  return i === text.length ? out : undefined;
}
