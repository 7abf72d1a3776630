/**
 * Starting and stopping a server under test: through `sh -c 'ulimit -n …; exec …'` so that it may
 * hold 10,000 connections (Node cannot raise its own fd limit), its output in a log file, its
 * pid the server's own (exec), ready once its port accepts connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { fdHardLimit, waitForPort } from '../lib/proc.js';

export interface ServerHandle {
  /** Display name, e.g. "nats-server". */
  name: string;
  /** Protocol adapter the generator uses. */
  protocol: string;
  pid: number;
  port: number;
  /** The SQLite file, for servers that store messages. */
  dbPath?: string;
  log: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  dir: string;
  port: number;
  /** Directory for `node --cpu-prof` output (Node servers only). */
  profileDir?: string;
}

/** A server the bench can run side by side with lab93. */
export interface ServerKind {
  name: string;
  protocol: string;
  /** null when it can run here, else one line saying how to install it. */
  missing(): string | null;
  start(o: StartOptions): Promise<ServerHandle>;
}

export const ROOT = new URL('../..', import.meta.url).pathname;

export async function launch(name: string, protocol: string, argv: string[], o: StartOptions, env: NodeJS.ProcessEnv = {}): Promise<ServerHandle> {
  const log = join(o.dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child: ChildProcess = spawn('sh', ['-c', `ulimit -n ${fdHardLimit()} 2>/dev/null; exec "$0" "$@"`, ...argv], {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  let exited = false;
  const done = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  try {
    await waitForPort(o.port, '127.0.0.1', 20_000, () => !exited);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not start (see ${log}): ${(err as Error).message}`);
  }
  return {
    name,
    protocol,
    pid: child.pid!,
    port: o.port,
    log,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await done;
      clearTimeout(t);
    },
  };
}

/** Finds an executable on PATH or in the sbin directories Debian puts daemons in. */
export function which(cmd: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not there */
    }
  }
  return null;
}
