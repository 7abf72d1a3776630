/** `lab93 check server`: runs the v1 or the classic cases against a running server. */
import { randomBytes } from 'node:crypto';
import { runCases } from './case.js';
import { CLASSIC_CASES } from './classic-cases.js';
import { formatReport, type CaseResult } from './report.js';
import { SERVER_CASES } from './server-cases.js';

export interface CheckServerOptions {
  host: string;
  port: number;
  classic?: boolean;
  /** How long to wait for each answer, in ms (default 2000). */
  waitMs?: number;
  /** Only these cases (by name). */
  only?: string[];
}

export async function checkServer(o: CheckServerOptions): Promise<{ results: CaseResult[]; report: string }> {
  const tag = randomBytes(3).toString('hex');
  const base = { host: o.host, port: o.port, tag, wait: o.waitMs ?? 2000 };
  const results = o.classic
    ? await runCases(CLASSIC_CASES, (t) => ({ ...base, t }), o.only)
    : await runCases(SERVER_CASES, (t) => ({ ...base, t }), o.only);
  const title = `lab93 check server${o.classic ? ' --classic' : ''} ${o.host}:${o.port}`;
  return { results, report: formatReport(title, results) };
}
