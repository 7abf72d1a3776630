/**
 * One database, one owner (docs/operations.md, "One owner per database"). A second process
 * writing to a server's SQLite file would store messages that the running server never
 * publishes: its chat users would see them only in history, or after a restart. So the
 * processes that serve a database (`lab93 server`, `lab93 classic`, a peer) claim it first.
 *
 * Two files beside the database:
 * - `<db>.lock`, an empty SQLite file on which the owner holds a write transaction (`BEGIN
 *   IMMEDIATE`, never committed) for as long as it runs. SQLite takes it with an fcntl lock,
 *   so the claim is atomic, and the kernel drops it when the process ends in any way, SIGKILL
 *   included: a crash never leaves a lock that must be guessed stale from a pid.
 * - `<db>.owner`, a small JSON record (pid, host, command, start time), written after the lock
 *   is held and removed on an orderly exit. It names the owner in the refusal; found while the
 *   lock is free, it tells that the last owner ended without releasing (crash, SIGKILL).
 *
 * Readers (`lab93 log`, backups) take no part: they open the database read-only and are never
 * refused. The lock file is never deleted: unlinking a lock file others may hold open is how
 * two processes end up owning "the same" lock.
 */
import Database from 'better-sqlite3';
import { readFileSync, rmSync } from 'node:fs';
import { ensurePrivateFile, writePrivateFile } from '../config/paths.js';
import { hostname } from 'node:os';

export interface OwnerRecord {
  pid: number;
  host: string;
  /** What runs, e.g. `lab93 server -p 5190` (for the person reading the refusal). */
  command: string;
  /** When the owner started, ISO 8601. */
  since: string;
}

export interface OwnerLock {
  readonly record: OwnerRecord;
  /** The record of a previous owner that ended without releasing the database; it is taken over. */
  readonly stale: OwnerRecord | null;
  /** Removes the record and drops the lock; safe to call twice. */
  release(): void;
}

export type OwnerClaim = { ok: true; lock: OwnerLock } | { ok: false; owner: OwnerRecord | null };

export interface ClaimOptions {
  command: string;
  pid?: number;
  host?: string;
  now?: () => Date;
  /** How often to reread the record of a live owner that has not written it yet (default 5, 40 ms apart). */
  retries?: number;
}

export function lockPath(db: string): string {
  return `${db}.lock`;
}

export function recordPath(db: string): string {
  return `${db}.owner`;
}

/** The owner record beside `db`, or null when there is none or it cannot be read. */
export function readOwner(db: string): OwnerRecord | null {
  let text: string;
  try {
    text = readFileSync(recordPath(db), 'utf8');
  } catch {
    return null;
  }
  try {
    const r = JSON.parse(text) as Partial<OwnerRecord>;
    if (typeof r.pid !== 'number' || typeof r.host !== 'string' || typeof r.command !== 'string' || typeof r.since !== 'string') return null;
    return { pid: r.pid, host: r.host, command: r.command, since: r.since };
  } catch {
    return null;
  }
}

/** True when the record names a process of this host that no longer exists. */
function gone(r: OwnerRecord, host: string): boolean {
  if (r.host !== host) return false;
  try {
    process.kill(r.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Claims `db` for this process, or says who holds it. `:memory:` databases are never shared,
 * so they are always granted. Synchronous: it runs once, before the store opens.
 */
export function claimOwnership(db: string, o: ClaimOptions): OwnerClaim {
  const host = o.host ?? hostname();
  const record: OwnerRecord = { pid: o.pid ?? process.pid, host, command: o.command, since: (o.now ?? (() => new Date()))().toISOString() };
  if (db === ':memory:') return { ok: true, lock: { record, stale: null, release() {} } };
  // The first file lab93 makes beside a new database: its folder is created private here (0700),
  // and the lock and owner record 0600, like the database they guard (docs/security.md).
  ensurePrivateFile(lockPath(db));
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting for it.
  const conn = new Database(lockPath(db), { timeout: 0 });
  try {
    // Nothing is ever written to it: no journal file beside it, even after a SIGKILL.
    conn.pragma('journal_mode = MEMORY');
    conn.exec('BEGIN IMMEDIATE');
  } catch (err) {
    conn.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    return { ok: false, owner: liveOwner(db, host, o.retries ?? 5) };
  }
  const stale = readOwner(db);
  writePrivateFile(recordPath(db), JSON.stringify(record) + '\n');
  let held = true;
  return {
    ok: true,
    lock: {
      record,
      stale,
      release() {
        if (!held) return;
        held = false;
        // The record first, while the lock is still ours: a process that finds the lock free
        // and a record left would report a crash that did not happen.
        const now = readOwner(db);
        if (now && now.pid === record.pid && now.since === record.since) rmSync(recordPath(db), { force: true });
        if (conn.open) {
          if (conn.inTransaction) conn.exec('ROLLBACK');
          conn.close();
        }
      },
    },
  };
}

/**
 * The record of the process holding the lock. Right after it took the lock, the owner may not
 * have written its record yet (the file is missing, or still names a dead predecessor): reread
 * a few times before giving up on naming it.
 */
function liveOwner(db: string, host: string, retries: number): OwnerRecord | null {
  for (let i = 0; ; i++) {
    const r = readOwner(db);
    if (r && !gone(r, host)) return r;
    if (i >= retries) return null;
    sleepSync(40);
  }
}

/** `pid 1234 (lab93 server -p 5190, since 2025-03-14 09:12:31)`, with the host when it is another. */
export function describeOwner(r: OwnerRecord | null, host = hostname()): string {
  if (r === null) return 'another process (it left no record of itself)';
  const since = new Date(r.since);
  const when = Number.isNaN(since.getTime()) ? r.since : localTime(since);
  return `pid ${r.pid}${r.host === host ? '' : ` on ${r.host}`} (${r.command}, since ${when})`;
}

/** `2025-03-14 09:12:31` in local time: what the person at the terminal compares with their clock. */
export function localTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
