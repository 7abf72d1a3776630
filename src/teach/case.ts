/** Running cases: each is data (CaseInfo) plus a small function that throws CaseFailure. */
import { CaseFailure, type CaseInfo, type CaseResult } from './report.js';
import { Transcript } from './probe.js';

/** Thrown when a case cannot start because something it builds on failed: "not attempted". */
export class NotAttempted extends Error {}

export interface CaseEnv {
  t: Transcript;
  /** A short tag unique to this run, so names and contents never collide with earlier runs. */
  tag: string;
}

export interface Case<E extends CaseEnv> extends CaseInfo {
  run(env: E): Promise<void>;
}

/** Runs cases one after another; a case's failure never stops the others. */
export async function runCases<E extends CaseEnv>(cases: Case<E>[], makeEnv: (t: Transcript) => E, only?: string[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const { run, ...info } = c;
    const t = new Transcript();
    if (only && only.length > 0 && !only.includes(c.name)) continue;
    try {
      await run(makeEnv(t));
      results.push({ ...info, status: 'pass', observed: 'as expected', excerpt: [] });
    } catch (err) {
      if (err instanceof NotAttempted) results.push({ ...info, status: 'not attempted', observed: err.message, excerpt: t.tail() });
      else results.push({ ...info, status: 'fail', observed: err instanceof CaseFailure ? err.message : `the checker could not go on: ${(err as Error).message}`, excerpt: t.tail() });
    } finally {
      t.closeAll();
    }
  }
  return results;
}

export function fail(observed: string): never {
  throw new CaseFailure(observed);
}

export function show(p: unknown): string {
  return p === null || p === undefined ? 'nothing (timed out or closed)' : JSON.stringify(p);
}

/**
 * Time a student's program gets to start, at least, on top of the checks' own waits: starting an
 * interpreter (python3, node with a loader) on a loaded lab machine can take seconds.
 */
export const START_MS = 15_000;
