/**
 * Checker reports in the manner of Autobahn|Testsuite: one row per case with what was expected,
 * what was observed, and the wire around it, decoded both ways. Pure data and formatting.
 */

export type Level = 'required' | 'optional';
export type Status = 'pass' | 'fail' | 'not attempted';

/** A case as data: what it checks and where a student reads about it. */
export interface CaseInfo {
  name: string;
  level: Level;
  /** What a passing program does, in one sentence. */
  expected: string;
  /** The most likely mistake when it fails. */
  mistake: string;
  /** The section of the docs to read, e.g. `docs/protocol.md#errors`. */
  section: string;
}

/** One line of a decoded transcript: `>` checker to program, `<` program to checker. */
export interface WireLine {
  conn: string;
  dir: '>' | '<' | '*';
  text: string;
}

export interface CaseResult extends CaseInfo {
  status: Status;
  observed: string;
  excerpt: WireLine[];
}

/** Why a case stopped: carries what was observed, to be shown as the row's `observed`. */
export class CaseFailure extends Error {}

/** Non-zero when a required case failed; optional ones and "not attempted" never fail the run. */
export function exitStatus(results: CaseResult[]): number {
  return results.some((r) => r.level === 'required' && r.status === 'fail') ? 1 : 0;
}

export function formatWire(lines: WireLine[]): string {
  return lines.map((l) => `    ${l.conn} ${l.dir} ${l.text}`).join('\n');
}

/** The report a student reads: a line per case, and for each failure the explanation and the wire. */
export function formatReport(title: string, results: CaseResult[]): string {
  const out: string[] = [title, ''];
  for (const r of results) {
    const mark = r.status === 'pass' ? 'PASS' : r.status === 'fail' ? 'FAIL' : 'N/A ';
    out.push(`${mark} ${r.name}${r.level === 'optional' ? ' (optional)' : ''}${r.status === 'not attempted' ? ': not attempted' : ''}`);
    if (r.status !== 'fail') continue;
    out.push(`     expected: ${r.expected}`);
    out.push(`     observed: ${r.observed}`);
    out.push(`     likely mistake: ${r.mistake}`);
    out.push(`     read: ${r.section}`);
    if (r.excerpt.length > 0) out.push('     wire (> sent by the checker, < received, base64 shown decoded):', formatWire(r.excerpt));
  }
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  out.push('', `${count('pass')} passed, ${count('fail')} failed, ${count('not attempted')} not attempted`);
  return out.join('\n') + '\n';
}
