/**
 * The command line's side of "one database, one owner" (src/store/owner-lock.ts): `lab93
 * server`, `lab93 classic` and a peer claim their SQLite file before opening it. A second owner
 * is refused with one line naming the first, status 1; a lock left by a crash is taken over
 * and the log says so.
 */
import type { Logger } from 'pino';
import { claimOwnership, describeOwner, type OwnerLock } from '../store/owner-lock.js';

export type OwnerRole = 'server' | 'classic' | 'peer';

/** The advice that follows the refusal: what to do instead. */
const ADVICE: Record<OwnerRole, string> = {
  server: 'stop it first, or give this server its own --db',
  classic: 'serve the board from that server instead: lab93 server --classic-port 8080',
  peer: 'stop it first, or give this peer its own --db',
};

/** This process's command line, as the owner record shows it; passwords in URLs are masked. */
export function commandLine(argv = process.argv.slice(2)): string {
  return ['lab93', ...argv].join(' ').replace(/(:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@');
}

/**
 * Claims `db` for this process or ends it: on refusal, one line on stderr and exit status 1.
 * The lock is released when the process exits (the kernel drops it even on SIGKILL).
 */
export function claimDatabase(db: string, log: Logger, role: OwnerRole): OwnerLock {
  const claim = claimOwnership(db, { command: commandLine() });
  if (!claim.ok) {
    process.stderr.write(`lab93: ${db} is in use by ${describeOwner(claim.owner)}; one database has one owner: ${ADVICE[role]}\n`);
    process.exit(1);
  }
  const { lock } = claim;
  if (lock.stale) {
    log.warn({ db, previous: lock.stale }, `took over the database: its last owner, ${describeOwner(lock.stale)}, ended without releasing it (it crashed or was killed)`);
  }
  process.once('exit', () => lock.release());
  return lock;
}
