/** Runs `lab93 server` as a real process (from source, through tsx) and finds its port in the log. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  proc: ChildProcess;
  port: number;
  logs: string[];
  /** Resident memory of the server process, in bytes (Linux /proc). */
  rss(): number;
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const ROOT = new URL('../..', import.meta.url).pathname;

/** Servers still running when the test process exits (a failed assertion mid-test) are killed. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** `wrap` runs the server through another command, e.g. ['prlimit', '--nofile=256:256', '--']. */
export async function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []): Promise<ServerProcess> {
  const argv = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'server', '-a', '127.0.0.1', '-p', '0', ...args];
  const proc = spawn(wrap[0] ?? argv[0]!, [...wrap.slice(1), ...(wrap.length > 0 ? argv : argv.slice(1))], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  const exited = once(proc, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: proc.stderr! });
    const t = setTimeout(() => reject(new Error(`server did not start: ${logs.join('\n')}`)), 15000);
    rl.on('line', (line) => {
      logs.push(line);
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening') {
          clearTimeout(t);
          resolve(j.port);
        }
      } catch {
        /* not a log line */
      }
    });
    void exited.then(({ code }) => reject(new Error(`server exited with ${code}: ${logs.join('\n')}`)));
  });
  return {
    proc,
    port,
    logs,
    rss: () => Number(readFileSync(`/proc/${proc.pid}/statm`, 'utf8').split(' ')[1]) * 4096,
    exit: () => exited,
  };
}
