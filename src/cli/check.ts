/**
 * `lab93 check server HOST:PORT [--classic]` and `lab93 check client -- CMD [ARGS…]`: the
 * teaching lab's conformance checker (docs/teaching.md). Exit status 1 when a required case fails.
 */
import type { Command } from 'commander';
import { DEFAULT_PORT } from '../protocol/limits.js';
import { checkClient } from '../teach/check-client.js';
import { checkBoardClient } from '../teach/check-board-client.js';
import { checkServer } from '../teach/check-server.js';
import { exitStatus } from '../teach/report.js';
import { parseHostPort, parsePositiveInt } from './usage.js';

export function registerCheckCommand(program: Command): void {
  const check = program.command('check').description('check a program you wrote against the protocol (docs/teaching.md)');
  check
    .command('server')
    .description('check a chat server (protocol v1), or with --classic a board, and report case by case')
    .argument('<server>', `HOST[:PORT] (port ${DEFAULT_PORT} unless given)`)
    .option('--classic', 'check the classic % board, byte for byte against the original')
    .option('--wait <ms>', 'how long to wait for each answer', '2000')
    .option('--only <names>', 'run only these cases (comma-separated)')
    .action(async (arg: string, f: { classic?: boolean; wait: string; only?: string }) => {
      const { host, port } = parseHostPort(arg, DEFAULT_PORT);
      const { results, report } = await checkServer({
        host, port, classic: f.classic === true, waitMs: parsePositiveInt(f.wait, '--wait'),
        ...(f.only ? { only: f.only.split(',') } : {}),
      });
      process.stdout.write(report);
      process.exitCode = exitStatus(results);
    });
  check
    .command('client')
    .description('run your client against a scripted server and report case by case; {host} and {port} in ARGS are replaced')
    .argument('<command...>', 'the program and its arguments, after --')
    .option('--classic', 'a board client: run once per case, with a MESSAGE appended when it should post')
    .option('--wait <ms>', 'how long to wait for each answer', '2000')
    .action(async (cmd: string[], f: { wait: string; classic?: boolean }) => {
      const o = { command: cmd[0]!, args: cmd.slice(1), waitMs: parsePositiveInt(f.wait, '--wait') };
      const { results, report } = f.classic === true ? await checkBoardClient(o) : await checkClient(o);
      process.stdout.write(report);
      process.exitCode = exitStatus(results);
    });
}
