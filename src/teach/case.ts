/** Running cases: each is data (CaseInfo) plus a small function that throws CaseFailure. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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

/** A student's ARGS with `{host}` and `{port}` replaced by the checker's address. */
export function programArgs(args: string[], port: number): string[] {
  return args.map((a) => a.replaceAll('{host}', '127.0.0.1').replaceAll('{port}', String(port)));
}

/**
 * Starts a student's program against the checker on `port` (docs/teaching.md): LAB93_HOST and
 * LAB93_PORT set for programs that read them, Python's output unbuffered so what it prints is
 * seen as it prints it. Its stdin is a pipe: end it for a program that gets no input.
 */
export function spawnProgram(command: string, args: string[], port: number): ChildProcessWithoutNullStreams {
  return spawn(command, args, { env: { ...process.env, LAB93_HOST: '127.0.0.1', LAB93_PORT: String(port), PYTHONUNBUFFERED: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
}
