/**
 * Command-line manners (issue 11, items 3 and 4): a misspelt command gets a suggestion, a stray
 * word after -r -c is explained, help texts say what an option means for that command and print
 * defaults without quotes, every client flag is in --help, and piping into -b is refused clearly.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suggest } from '../../src/cli/usage.js';
import { REPO } from '../helpers/client-cli.js';
import { clientTempDir, removeTempDir } from '../helpers/client-server.js';

/** Runs the CLI; many at once, since each start costs a second or two of TypeScript loading. */
const lab93 = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });

describe('command-line manners', () => {
  const mistakes: Array<[string[], string]> = [
    [['conect', 'lab-pc'], "lab93: unknown command 'conect' (did you mean connect?)"],
    [['sned', 'hi'], "lab93: unknown command 'sned' (did you mean send?)"],
    [['frobnicate'], "lab93: unknown command 'frobnicate': lab93 --help lists the commands"],
    [['-r', '-c', 'lab-pc'], "lab93: 'lab-pc' is not an option: name the server with -a HOST (lab93 -r -c -a lab-pc)"],
    [['send', '-a', 'lab-pc:6000', '-p', '7000', 'hi'], 'lab93: lab-pc:6000 and -p 7000 name two ports: give the port once'],
  ];
  it('mistakes: one line each, status 2', async () => {
    const runs = await Promise.all(mistakes.map(([args]) => lab93(args)));
    runs.forEach((r, i) => {
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `${mistakes[i]![1]}\n`, `lab93 ${mistakes[i]![0].join(' ')}`);
    });
  });

  it('suggests only what is close', () => {
    assert.equal(suggest('conect', ['server', 'connect', 'send']), 'connect');
    assert.equal(suggest('tial', ['tail', 'log']), 'tail');
    assert.equal(suggest('xyz', ['tail', 'log']), null);
  });

  it('help says what each option means for that command, and prints defaults without quotes', async () => {
    const commands = [[], ['server'], ['connect'], ['send'], ['tail'], ['peer']];
    const runs = await Promise.all(commands.map((cmd) => lab93([...cmd, '--help'])));
    const [root, , connect, send, tail] = runs.map((r, i) => {
      assert.equal(r.status, 0, r.stderr);
      const text = r.stdout.replace(/\s+/g, ' ');
      assert.doesNotMatch(text, /(default|choices|env):? "/, `quotes in lab93 ${commands[i]!.join(' ')} --help`);
      return text;
    }) as [string, string, string, string, string, string];
    assert.match(send, /--room <room> room to post to \(default lobby; env LAB93_ROOM\)/);
    assert.match(send, /-a, --address <host\[:port\]> server to post to, HOST or HOST:PORT/);
    assert.match(tail, /--room <room> rooms to follow, comma-separated/);
    assert.match(tail, /--last <n> first run only/);
    assert.match(connect, /--room <room> room to start in/);
    assert.match(connect, /--timeout <seconds> piped input: .* \(default 30; 0 waits for ever\)/);
    assert.match(connect, /--no-bell /);
    assert.match(root, /--no-bell /);
    assert.match(root, /--synchronous <mode> .*\(choices: full, normal; default full\)/);
  });

  it('the README starts the server on a port as npm wants it: npm start -- -p PORT', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    assert.match(readme, /npm start -- -p PORT/);
  });

  it('piping into lab93 -b is refused with what to do instead (a peer that exits at once would reach nobody)', () => {
    const dir = clientTempDir();
    try {
      const r = spawnSync('sh', ['-c', `printf 'hello\\n' | "${process.execPath}" --import tsx src/cli/main.ts -b --no-discovery -p 0`], {
        cwd: REPO, encoding: 'utf8', timeout: 20_000, env: { ...process.env, LAB93_DATA_DIR: dir },
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^lab93: piped input is not sent in broadcast mode: .*lab93 connect PEER-HOST:PORT.*--headless/);
    } finally {
      removeTempDir(dir);
    }
  });
});
