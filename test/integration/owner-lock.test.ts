/**
 * One database, one owner, with real processes: a second `lab93 server`, a standalone
 * `lab93 classic` or a second peer on a database in use is refused with one line naming the
 * owner; `lab93 log` still reads it; the lock of a SIGKILLed owner is taken over and the log
 * says so; an orderly stop leaves nothing to take over.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ask } from '../fixtures/classic/harness.js';
import { spawnServer, ROOT } from '../helpers/spawn-server.js';
import { PeerProc } from '../helpers/peer-proc.js';
import { claimOwnership, readOwner, recordPath } from '../../src/store/owner-lock.js';

let dir: string;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, LAB93_DATA_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('one owner per database', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab93-owner-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second server and a standalone classic board with one line naming the owner; lab93 log still reads', async () => {
    const db = join(dir, 'busy.db');
    const owner = await spawnServer(['--no-announce', '--db', db]);
    try {
      const named = new RegExp(`^lab93: ${escape(db)} is in use by pid ${owner.proc.pid} \\(lab93 server -a 127\\.0\\.0\\.1 -p 0 --no-announce --db ${escape(db)}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\); one database has one owner: `);

      const second = await run(['server', '-a', '127.0.0.1', '-p', '0', '--no-announce', '--db', db]);
      assert.equal(second.code, 1);
      assert.equal(second.stderr.split('\n').length, 2, `one line: ${second.stderr}`);
      assert.match(second.stderr, named);
      assert.match(second.stderr, /stop it first, or give this server its own --db\n$/);

      const classic = await run(['classic', '-a', '127.0.0.1', '-p', '0', '--db', db]);
      assert.equal(classic.code, 1);
      assert.equal(classic.stderr.split('\n').length, 2, `one line: ${classic.stderr}`);
      assert.match(classic.stderr, named);
      assert.match(classic.stderr, /serve the board from that server instead: lab93 server --classic-port 8080\n$/);

      // The owner is unharmed, and the operator's read-only view works beside it.
      assert.equal(await ask(owner.port, 'POSTstill the only owner%'), 'MSGPosting Message!%');
      const log = await run(['log', '--db', db]);
      assert.equal(log.code, 0, log.stderr);
      assert.match(log.stdout, /'still the only owner'\n$/);
    } finally {
      owner.proc.kill('SIGTERM');
      assert.equal((await owner.exit()).code, 0);
    }
    assert.equal(existsSync(recordPath(db)), false, 'an orderly stop removes the owner record');
  });

  it('takes over the lock of a SIGKILLed owner and says so; after an orderly stop there is nothing to take over', async () => {
    const db = join(dir, 'crash.db');
    const first = await spawnServer(['--no-announce', '--db', db]);
    assert.equal(readOwner(db)?.pid, first.proc.pid, 'the record names the running owner');
    assert.equal(await ask(first.port, 'POSTbefore the crash%'), 'MSGPosting Message!%');
    first.proc.kill('SIGKILL');
    assert.equal((await first.exit()).signal, 'SIGKILL');

    const second = await spawnServer(['--no-announce', '--db', db]);
    try {
      const took = second.logs.map((l) => JSON.parse(l) as { level: number; msg: string; previous?: { pid: number } }).find((j) => j.msg.startsWith('took over the database'));
      assert.ok(took, `a takeover line in the log: ${second.logs.join('\n')}`);
      assert.equal(took.level, 40, 'logged as a warning');
      assert.equal(took.previous?.pid, first.proc.pid);
      assert.match(took.msg, new RegExp(`its last owner, pid ${first.proc.pid} \\(lab93 server .*\\), ended without releasing it \\(it crashed or was killed\\)`));
      assert.equal(readOwner(db)?.pid, second.proc.pid);
      assert.equal(await ask(second.port, 'GET1%'), "MSG[(2, 'before the crash')]%");
    } finally {
      second.proc.kill('SIGTERM');
      assert.equal((await second.exit()).code, 0);
    }

    const third = await spawnServer(['--no-announce', '--db', db]);
    try {
      assert.ok(!third.logs.some((l) => l.includes('took over')), `no takeover after an orderly stop: ${third.logs.join('\n')}`);
    } finally {
      third.proc.kill('SIGTERM');
      await third.exit();
    }
  });

  it('refuses a second peer, and a server, on a peer store in use', async () => {
    const db = join(dir, 'peer.db');
    const peer = new PeerProc({ name: 'owner', port: 0, args: ['--no-discovery', '--db', db] });
    try {
      await peer.ready();
      const second = await run(['peer', '--headless', '--no-discovery', '-p', '0', '--db', db]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`^lab93: ${escape(db)} is in use by pid ${peer.proc.pid} \\(lab93 peer --headless .*\\); one database has one owner: stop it first, or give this peer its own --db\\n$`));
      const server = await run(['server', '-a', '127.0.0.1', '-p', '0', '--no-announce', '--db', db]);
      assert.equal(server.code, 1);
      assert.match(server.stderr, new RegExp(`is in use by pid ${peer.proc.pid} `));
    } finally {
      await peer.stop();
    }
  });

  it('in one process: a held claim refuses the next; released, it can be claimed again', () => {
    const db = join(dir, 'inproc.db');
    const a = claimOwnership(db, { command: 'test a' });
    assert.ok(a.ok);
    const b = claimOwnership(db, { command: 'test b', retries: 0 });
    assert.equal(b.ok, false);
    assert.equal(!b.ok && b.owner?.command, 'test a');
    a.lock.release();
    a.lock.release();
    const c = claimOwnership(db, { command: 'test c' });
    assert.ok(c.ok);
    assert.equal(c.lock.stale, null, 'released properly: nothing stale');
    assert.equal(JSON.parse(readFileSync(recordPath(db), 'utf8')).command, 'test c');
    c.lock.release();
  });
});
