/**
 * The command line: `lab93 classic` runs the board alone, `lab93 server` serves it on the chat
 * port and on --classic-port, limits come from flags and LAB93_CLASSIC_* variables, and
 * `lab93 log` shows the operator who posted what.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ask } from '../fixtures/classic/harness.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
let dir: string;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, LAB93_DATA_DIR: dir, ...extra };
  for (const k of Object.keys(e)) if (k.startsWith('LAB93_CLASSIC_') && !(k in extra)) delete e[k];
  return e;
}

interface Running { child: ChildProcess; ports: Map<string, number>; stderr: () => string }

/** Starts the CLI and waits until it logged every `listening` message named. */
async function start(args: string[], waitFor: string[], extraEnv: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: process.cwd(), env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  const ports = new Map<string, number>();
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const line of d.split('\n')) {
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg && j.port !== undefined) ports.set(j.msg, j.port);
        } catch {
          /* not a log line */
        }
      }
      if (waitFor.every((m) => ports.has(m))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, ports, stderr: () => err };
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill('SIGTERM');
  const [code] = (await once(r.child, 'exit')) as [number | null];
  return code;
}

function run(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: process.cwd(), env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('lab93 classic, lab93 server and lab93 log', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab93-classic-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lab93 classic runs the board alone; lab93 log shows who posted', async () => {
    const db = join(dir, 'alone.db');
    const r = await start(['classic', '--port', '0', '--address', '127.0.0.1', '--db', db, '--request-timeout', '0.2'], ['classic board listening']);
    const port = r.ports.get('classic board listening')!;
    try {
      assert.equal(await ask(port, 'POSTfrom the command line%'), 'MSGPosting Message!%');
      assert.equal(await ask(port, 'GET%'), "MSG[(1, 'Server has Started'), (2, 'from the command line')]%");
      assert.equal(await ask(port, 'GE'), 'ERRTimeout!%', '--request-timeout 0.2 applies');
    } finally {
      assert.equal(await stop(r), 0, 'stops cleanly on SIGTERM');
    }
    const log = await run(['log', '--db', db]);
    assert.equal(log.code, 0, log.stderr);
    const lines = log.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}#1 {2}- {2}server -> lobby {2}'Server has Started'$/);
    assert.match(lines[1]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}#2 {2}127\.0\.0\.1:\d+ {2}classic@127\.0\.0\.1 -> lobby {2}'from the command line'$/);
    const json = await run(['log', '--db', db, '--json', '-n', '1', '--remote', '127.0.0.1']);
    const j = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(j.id, 2);
    assert.equal(j.username, 'classic@127.0.0.1');
    assert.equal(j.content, 'from the command line');
    assert.match(String(j.remote), /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof j.timestamp, 'number');
  });

  it('lab93 server answers the board on the chat port and on --classic-port', async () => {
    const db = join(dir, 'server.db');
    const r = await start(['server', '--port', '0', '--classic-port', '0', '--address', '127.0.0.1', '--db', db], ['listening', 'classic board listening']);
    try {
      assert.equal(await ask(r.ports.get('listening')!, 'POSTon the chat port%'), 'MSGPosting Message!%');
      assert.equal(await ask(r.ports.get('classic board listening')!, 'GET1%'), "MSG[(2, 'on the chat port')]%");
    } finally {
      assert.equal(await stop(r), 0);
    }
  });

  it('limits come from LAB93_CLASSIC_* variables; --no-classic turns the board off', async () => {
    const r = await start(['server', '--port', '0', '--address', '127.0.0.1', '--db', join(dir, 'full.db')], ['listening'], { LAB93_CLASSIC_MAX_MESSAGES: '1' });
    try {
      assert.equal(await ask(r.ports.get('listening')!, 'POSTone too many%'), 'ERRBoard Full%');
    } finally {
      await stop(r);
    }
    const off = await start(['server', '--no-classic', '--port', '0', '--address', '127.0.0.1', '--db', join(dir, 'off.db')], ['listening']);
    try {
      const reply = await ask(off.ports.get('listening')!, 'GET%');
      assert.equal(JSON.parse(reply).code, 'bad_frame');
    } finally {
      await stop(off);
    }
  });

  it('mistakes are one line and status 2', async () => {
    const bad = await run(['classic', '--rate', 'lots']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'lab93: --rate must be a whole number, not "lots"\n');
    const t = await run(['server', '--classic-request-timeout', '0']);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /--classic-request-timeout must be a number of seconds above 0/);
    const none = await run(['log', '--db', join(dir, 'missing.db')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no database at/);
  });
});

