/**
 * Where lab93 keeps its data, and how those files are created.
 *
 * Everything lab93 writes on its own account (databases with direct messages and senders'
 * addresses, their WAL/SHM, TLS keys, login tokens, certificate pins) is private to the user
 * who runs it: folders are created 0700 and files 0600 *at creation*, never created open and
 * fixed up afterwards (a chmod after the fact leaves a window in which another local user may
 * open the file, and an open descriptor outlives the chmod). docs/security.md, "Files".
 */
import { closeSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Mode of every folder lab93 creates for its data. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every data file lab93 creates: databases, keys, tokens, pins, logs. */
export const PRIVATE_FILE_MODE = 0o600;

/** $XDG_DATA_HOME/lab93, by default ~/.local/share/lab93 (LAB93_DATA_DIR overrides). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAB93_DATA_DIR) return env.LAB93_DATA_DIR;
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'lab93');
}

export function serverDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), 'server.db');
}

/** The client's local history for one server: one SQLite file per host and port. */
export function clientDbPath(host: string, port: number, env: NodeJS.ProcessEnv = process.env): string {
  const safe = host.replace(/[^A-Za-z0-9._-]/g, '_');
  return join(dataDir(env), 'client', `${safe}_${port}.db`);
}

/** The client's certificate pins (trust on first use, src/client/pins.ts). */
export function pinsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), 'client', 'known-servers.json');
}

/** Where `lab93 cert` writes the server's certificate and key by default. */
export function tlsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), 'tls');
}

/**
 * Creates a folder (and any missing parents) 0700. A folder that exists already is left as it
 * is: it may be one the operator chose and shares on purpose (`--db /srv/lab93/chat.db`).
 */
export function ensurePrivateDir(dir: string): void {
  // mkdir's mode is masked by the umask, which only ever removes bits: 0700 stays 0700 or less.
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Makes sure `path` exists, creating it empty and 0600 (its folder 0700) when it does not. An
 * existing file keeps its mode. Called before a library opens the file with modes of its own:
 * SQLite creates a new database 0644, but gives its -wal and -shm files the mode of the
 * database file, so a database created here keeps all three private.
 */
export function ensurePrivateFile(path: string): void {
  ensurePrivateDir(dirname(path));
  // 'a': create if missing, never truncate; the mode applies only when the file is created.
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
}

/**
 * Writes a whole file atomically and privately: a new temporary file created 0600 with
 * O_EXCL (so it can never be someone else's file or link), then renamed over `path`. Readers
 * see the old content or the new, never half of it. For keys, tokens and pins.
 */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  ensurePrivateDir(dirname(path));
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw err;
  }
}
