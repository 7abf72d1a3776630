/** Runs the lab93 CLI from source as a child process and follows its output line by line. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface CliRun {
  proc: ChildProcessWithoutNullStreams;
  stdoutLines: string[];
  stderr(): string;
  /** Resolves with the first stdout line (past or future) that matches; fails after `ms`. */
  waitLine(pred: (line: string) => boolean, ms?: number): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runCli(args: string[], env: Record<string, string>): CliRun {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const stdoutLines: string[] = [];
  let partial = '';
  let err = '';
  let waiters: Array<() => void> = [];
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    stdoutLines.push(...parts);
    wake();
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      wake();
      resolve({ code, signal });
    });
  });
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  return {
    proc,
    stdoutLines,
    stderr: () => err,
    exit,
    async waitLine(pred, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (let i = 0; ; ) {
        for (; i < stdoutLines.length; i++) if (pred(stdoutLines[i]!)) return stdoutLines[i]!;
        if (exited) throw new Error(`process exited before the line came; stderr: ${err}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for a line; got ${JSON.stringify(stdoutLines)}; stderr: ${err}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
}
