import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chooseMode } from '../../src/cli/mode.js';
import { UsageError } from '../../src/cli/usage.js';
import { ROOT } from '../helpers/spawn-server.js';

describe('the original command line', () => {
  it('chooses the mode from -r/-b/-m/-s/-c', () => {
    assert.equal(chooseMode({ repeater: true, server: true }), 'server');
    assert.equal(chooseMode({ repeater: true, client: true }), 'client');
    assert.equal(chooseMode({ mode: 'repeater', server: true }), 'server');
    assert.equal(chooseMode({ broadcast: true }), 'broadcast');
    assert.equal(chooseMode({ mode: 'broadcast' }), 'broadcast');
  });

  const mistakes: Array<[string[], RegExp]> = [
    [[], /choose a mode: -r\/--repeater .* -b\/--broadcast/],
    [['-r'], /-s\/--server .* -c\/--client/],
    [['-r', '-b'], /-r\/--repeater and -b\/--broadcast cannot be used together/],
    [['-m', 'broadcast', '-r'], /-r\/--repeater and -b\/--broadcast cannot be used together/],
    [['-r', '-s', '-c'], /-s\/--server and -c\/--client cannot be used together/],
    [['-m', 'chat'], /-m\/--mode must be "repeater" or "broadcast", not "chat"/],
    [['-b', '-s'], /belong to repeater mode/],
    [['-c'], /needs a mode: add -r\/--repeater/],
    [['-r', '-s', '-p', 'eighty'], /-p\/--port must be a port number/],
    // A peer's limit, refused before anything starts (before the terminal check of -b too).
    [['-b', '--link-frame-burst', '0'], /--link-frame-burst must be at least 1, not "0"/],
    [['peer', '--link-timeout', 'soon'], /--link-timeout must be a number of seconds above 0, not "soon"/],
  ];
  /** Mistakes of the mode itself, which chooseMode refuses (the others are the flags' values). */
  const modeMistake = (args: string[]): boolean => !args.includes('-p') && !args.some((a) => a.startsWith('--link-'));
  for (const [args, message] of mistakes) {
    it(`lab93 ${args.join(' ') || '(nothing)'}: one clear line, exit status 2`, () => {
      if (modeMistake(args)) assert.throws(() => chooseMode(parse(args)), UsageError);
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^lab93: /);
      assert.match(lines[0]!, message);
    });
  }

  it('--help shows examples and exits 0', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /-r, --repeater/);
  });
});

function parse(args: string[]): Parameters<typeof chooseMode>[0] {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-r') o.repeater = true;
    else if (a === '-b') o.broadcast = true;
    else if (a === '-s') o.server = true;
    else if (a === '-c') o.client = true;
    else if (a === '-m') o.mode = args[++i];
  }
  return o;
}
