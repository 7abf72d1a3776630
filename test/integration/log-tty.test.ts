/**
 * Logs as a person at a terminal sees them, in a real pseudo-terminal (tmux): the start line,
 * then one readable line per event; the same commands piped into a file or program log JSON
 * lines; `--log-format` forces either.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ask } from '../fixtures/classic/harness.js';
import { ROOT } from '../helpers/spawn-server.js';
import { Tmux, tmuxUnavailable } from '../helpers/tmux.js';

const skip = tmuxUnavailable();
const CLI = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
let dir: string;
const sessions: Tmux[] = [];

function inTerminal(args: string[]): Tmux {
  const t = new Tmux();
  sessions.push(t);
  t.start([...CLI, ...args], { width: 220, height: 20, cwd: ROOT, env: { LAB93_DATA_DIR: dir, NO_COLOR: '1' } });
  return t;
}

const TIME = String.raw`\d\d:\d\d:\d\d`;

describe('logs on a terminal and in a pipe', { skip: skip ?? false }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab93-log-tty-'));
  });
  after(() => {
    for (const t of sessions) t.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lab93 server on a terminal: the start line, then one readable line per event; Ctrl-C stops', async () => {
    const db = join(dir, 'tty.db');
    const t = inTerminal(['server', '-a', '127.0.0.1', '-p', '0', '--no-announce', '--db', db]);
    const lines = await t.waitFor((l) => l.some((x) => x.includes('Ctrl-C stops')), 'the start line', 20_000);
    const startRe = new RegExp(String.raw`^lab93 server on 127\.0\.0\.1:(\d+) · database ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} · classic board on this port · not announced on the LAN · Ctrl-C stops$`);
    assert.match(lines[0]!, startRe, `the first line is the start line:\n${lines.join('\n')}`);
    assert.equal(lines.length, 1, `nothing else before it:\n${lines.join('\n')}`);
    const port = Number(startRe.exec(lines[0]!)![1]);

    assert.equal(await ask(port, 'POSTfrom a student%'), 'MSGPosting Message!%');
    const after = await t.waitFor((l) => l.some((x) => x.includes('classic post stored')), 'the event line');
    assert.match(after.find((x) => x.includes('classic post stored'))!, new RegExp(String.raw`^${TIME} \[classic\] classic post stored {2}id=2 remote=127\.0\.0\.1:\d+ bytes=14$`));
    assert.ok(!after.some((x) => x.startsWith('{')), 'no JSON on the terminal');

    t.press('C-c');
    // tmux adds its own "Pane is dead" line once the program has exited.
    // The screen is read again once the pane is dead: read before, it may miss the last line.
    await t.waitFor(() => t.dead(), 'the server to stop');
    const end = t.lines().filter((x) => x !== '' && !x.startsWith('Pane is dead'));
    // (The terminal itself echoes ^C where the cursor was.)
    assert.ok(end.some((x) => new RegExp(`^(\\^C)?${TIME} stopping {2}signal=SIGINT$`).test(x)), end.join('\n'));
    assert.match(end[end.length - 1]!, new RegExp(`^${TIME} server stopped$`));
  });

  it('lab93 classic and lab93 peer --headless print their start lines on a terminal', async () => {
    const classic = inTerminal(['classic', '-a', '127.0.0.1', '-p', '0', '--db', join(dir, 'board.db')]);
    const peer = inTerminal(['peer', '--headless', '--no-discovery', '-p', '0', '--name', 'relay', '--db', join(dir, 'peer.db')]);
    const c = await classic.waitFor((l) => l.some((x) => x.includes('Ctrl-C stops')), 'the classic start line', 20_000);
    assert.match(c[0]!, /^lab93 classic board on 127\.0\.0\.1:\d+ · database .*board\.db · Ctrl-C stops$/);
    const p = await peer.waitFor((l) => l.some((x) => x.includes('Ctrl-C stops')), 'the peer start line', 20_000);
    assert.match(p[0]!, /^lab93 peer [0-9a-z]+ \(relay\) on 0\.0\.0\.0:\d+ · store .*peer\.db · discovery off · Ctrl-C stops$/);
    classic.press('C-c');
    peer.press('C-c');
    await classic.waitFor(() => classic.dead(), 'the board to stop');
    await peer.waitFor(() => peer.dead(), 'the peer to stop');
  });

  it('--log-format json on a terminal prints JSON lines', async () => {
    const t = inTerminal(['server', '-a', '127.0.0.1', '-p', '0', '--no-announce', '--no-classic', '--log-format', 'json', '--db', join(dir, 'json.db')]);
    const lines = await t.waitFor((l) => l.some((x) => x.includes('"msg":"ready"')), 'the ready event', 20_000);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
    t.press('C-c');
    await t.waitFor(() => t.dead(), 'the server to stop');
  });

  it('piped, the server logs JSON lines, the ready event among them; --log-format pretty makes them readable', async () => {
    const piped = async (extra: string[]): Promise<string[]> => {
      const child = spawn(CLI[0]!, [...CLI.slice(1), 'server', '-a', '127.0.0.1', '-p', '0', '--no-announce', '--db', join(dir, `pipe${extra.length}.db`), ...extra], { cwd: ROOT, env: { ...process.env, LAB93_DATA_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
      const lines: string[] = [];
      const rl = createInterface({ input: child.stderr! });
      await new Promise<void>((resolve, reject) => {
        rl.on('line', (l) => {
          lines.push(l);
          if (l.includes('ready') || l.includes('Ctrl-C stops')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${lines.join('\n')}`)));
      });
      child.kill('SIGTERM');
      await once(child, 'close');
      return lines;
    };
    const json = await piped([]);
    const events = json.map((l) => JSON.parse(l) as Record<string, unknown>);
    const ready = events.find((e) => e.msg === 'ready')!;
    assert.equal(ready.role, 'server');
    assert.match(String(ready.listen), /^127\.0\.0\.1:\d+$/);
    assert.equal(ready.announce, false);
    assert.equal(ready.classic, true);
    assert.ok(events.some((e) => e.msg === 'listening' && typeof e.port === 'number'), 'the details stay in the JSON');
    assert.ok(events.some((e) => e.msg === 'server stopped'), 'the last line is not lost at exit');

    const pretty = await piped(['--log-format', 'pretty']);
    assert.match(pretty[0]!, /^lab93 server on 127\.0\.0\.1:\d+ · /);
    assert.match(pretty[pretty.length - 1]!, new RegExp(`^${TIME} server stopped$`));
  });
});
