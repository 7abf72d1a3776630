/** A command-line mistake: printed as one line, exit status 2 (the original crashed on these). */
export class UsageError extends Error {}

export function parsePort(value: string, flag = '-p/--port'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a port number from 0 to 65535, not "${value}"`);
  return n;
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number, not "${value}"`);
  return n;
}

/** "host", "host:port", "[v6]:port" */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) return { host: v6[1]!, port: v6[2] ? parsePort(v6[2]) : defaultPort };
  const i = value.lastIndexOf(':');
  if (i > 0 && value.indexOf(':') === i) return { host: value.slice(0, i), port: parsePort(value.slice(i + 1)) };
  return { host: value, port: defaultPort };
}

/** Edit distance with transpositions (optimal string alignment): "conect" is 1 from "connect". */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to a mistyped `word` (at most 2 edits, and fewer than half its letters), or null. */
export function suggest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestDistance && dist <= 2 && dist < Math.max(2, c.length / 2)) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}

/** What commander's Option exposes to help (commander's own type is not needed for this). */
export interface HelpOption {
  description: string;
  argChoices?: string[];
  defaultValue?: unknown;
  defaultValueDescription?: string;
  required?: boolean;
  optional?: boolean;
  envVar?: string;
  isBoolean(): boolean;
}

/**
 * An option's help text with its choices, default and environment variable, written as people
 * read them: `(choices: full, normal; default full; env LAB93_PORT)`, values without JSON quotes,
 * merged into a description that already ends in "(default …)" rather than a second bracket.
 */
export function plainOptionDescription(o: HelpOption): string {
  const extra: string[] = [];
  if (o.argChoices) extra.push(`choices: ${o.argChoices.join(', ')}`);
  const showDefault = o.defaultValue !== undefined && (o.required || o.optional || (o.isBoolean() && typeof o.defaultValue === 'boolean'));
  if (showDefault) extra.push(`default ${o.defaultValueDescription ?? String(o.defaultValue)}`);
  if (o.envVar !== undefined) extra.push(`env ${o.envVar}`);
  if (extra.length === 0) return o.description;
  if (/\([^()]*\)$/.test(o.description)) return `${o.description.slice(0, -1)}; ${extra.join('; ')})`;
  return `${o.description} (${extra.join('; ')})`;
}
