import { homedir } from 'node:os';
import { join } from 'node:path';

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
