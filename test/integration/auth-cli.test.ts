/**
 * `lab93 user …` (src/cli/user.ts) on the server's database, as an operator uses it: from a
 * pipe with --password-stdin, from a terminal prompt that does not echo, while the server runs
 * (a new password, a logout or a deletion ends the account's sessions), and `lab93 server
 * --guests no --registration open` as a real process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { userAdd, userDel, userList, userLogout, userPasswd, type UserIo } from '../../src/cli/user.js';
import { UsageError } from '../../src/cli/usage.js';
import { SqliteAccountStore } from '../../src/auth/sqlite.js';
import { verifyPassword } from '../../src/auth/password.js';
import { WireClient } from '../helpers/wire-client.js';
import { ROOT, spawnServer } from '../helpers/spawn-server.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { startAuthServer, type AuthServer } from './auth-server.js';

function lab93(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, ...(input !== undefined ? { input } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fake terminal: `typed` arrives as keystrokes once the prompt asks; what is echoed is recorded. */
function terminal(typed: string): UserIo & { out: string; err: string; raw: boolean[] } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[], setRawMode(v: boolean) { this.raw.push(v); } });
  const io = {
    stdin,
    out: '',
    err: '',
    raw: stdin.raw,
    stdout: { write: (s: string) => (io.out += s) },
    stderr: {
      write: (s: string) => {
        io.err += s;
        // Answer each prompt as a person would: key by key.
        if (/: $/.test(s)) {
          const line = typed.split('\n')[0]!;
          typed = typed.slice(line.length + 1);
          setImmediate(() => {
            for (const ch of `${line}\r`) stdin.write(ch);
          });
        }
      },
    },
  };
  return io;
}

/** Everything written to stderr by piped() runs, in order. */
const errors: string[] = [];

/** Standard input from a pipe holding `input`; output kept. */
function piped(input: string): UserIo & { out: string } {
  const stdin = new PassThrough();
  stdin.end(input);
  const o = { out: '', stdin, stdout: { write: (s: string) => (o.out += s) }, stderr: { write: (s: string) => errors.push(s) } };
  return o;
}

describe('lab93 user', () => {
  let dir: string;
  let db: string;
  before(() => {
    dir = tempDir('lab93-user-');
    db = join(dir, 'server.db');
  });
  after(() => removeDir(dir));

  it('as a process: add from a pipe, list, and a clear usage error without a terminal', async () => {
    const add = lab93(['user', 'add', 'Alice', '--operator', '--password-stdin', '--db', db], 'wonderland\n');
    assert.equal(add.status, 0, add.stderr);
    assert.equal(add.stdout, 'added Alice (operator)\n');
    const list = piped('');
    assert.equal(await userList({ db }, list), 0);
    assert.match(list.out, /^NAME\s+ROLE\s+CREATED\s+TOKENS\nAlice\s+operator\s+\d{4}-\d\d-\d\d\s+0\n$/);
    assert.equal(list.out.includes('wonderland'), false);
    // No terminal and no --password-stdin: one line and status 2 rather than a hang.
    const noTty = lab93(['user', 'add', 'dave', '--db', db], '');
    assert.deepEqual([noTty.status, noTty.stderr], [2, 'lab93: no terminal to ask for the password on: pipe it in with --password-stdin\n']);
  });

  it('refuses what it cannot do with one line naming why', async () => {
    const path = join(dir, 'refusals.db');
    assert.equal(await userAdd('alice', { db: path, passwordStdin: true }, piped('wonderland\n')), 0);
    for (const [fn, status, message] of [
      [() => userAdd('ALICE', { db: path, passwordStdin: true }, piped('whatever1')), 1, /^lab93: alice is registered already\n$/],
      [() => userAdd('A1ice', { db: path, passwordStdin: true }, piped('whatever1')), 1, /^lab93: A1ice looks like the registered name alice\n$/],
      [() => userAdd('carol', { db: path, passwordStdin: true }, piped('short')), 1, /^lab93: the password must have at least 8 characters\n$/],
      [() => userPasswd('nobody', { db: path, passwordStdin: true }, piped('whatever1')), 1, /there is no account named nobody/],
      [() => userDel('nobody', { db: path }, piped('')), 1, /there is no account named nobody/],
      [() => userLogout('nobody', { db: path }, piped('')), 1, /there is no account named nobody/],
    ] as Array<[() => Promise<number>, number, RegExp]>) {
      const before = errors.length;
      assert.equal(await fn(), status);
      assert.match(errors.slice(before).join(''), message);
    }
    await assert.rejects(userAdd('classic@10.0.0.1', { db: path }, piped('')), (e: Error) => e instanceof UsageError && /reserved for the classic board/.test(e.message));
    await assert.rejects(userAdd('al\u3164ice', { db: path }, piped('')), (e: Error) => e instanceof UsageError && /NAME: contains an invisible or blank character \(U\+3164\)/.test(e.message));
    const out = piped('');
    assert.equal(await userLogout('ALICE', { db: path }, out), 0);
    assert.equal(out.out, 'alice: 0 tokens revoked; its open sessions end\n');
  });

  it('asks twice on a terminal without echoing, and refuses two different answers', async () => {
    const path = join(dir, 'tty.db');
    const io = terminal('s3cret passphrase\ns3cret passphrase\n');
    assert.equal(await userAdd('erin', { db: path }, io), 0);
    assert.equal(io.err, 'New password for erin: \nAgain: \n', 'the prompts, and nothing typed, appear');
    assert.deepEqual(io.raw, [true, false, true, false], 'raw mode on while typing, off after');
    const store = new SqliteAccountStore(path);
    assert.equal(await verifyPassword('s3cret passphrase', (await store.get('erin'))!.passwordHash), true);
    await store.close();
    const typo = terminal('first try one\nsecond try two\n');
    assert.equal(await userPasswd('erin', { db: path }, typo), 1);
    assert.match(typo.err, /lab93: the passwords do not match\n$/);
  });
});

describe('lab93 user while the server runs', () => {
  let ts: AuthServer;
  const io = () => piped('');
  before(async () => {
    ts = await startAuthServer({ pollMs: 50 });
  });
  after(() => ts.stop());

  it('a new password, a logout and a deletion each end the account\'s open sessions', async () => {
    const pipe = piped;
    assert.equal(await userAdd('frank', { db: ts.dbPath, passwordStdin: true }, pipe('frankfrank')), 0);
    // The server is not told: it reads the account at login, and notices changes by polling.
    for (const [what, act] of [
      ['passwd', () => userPasswd('frank', { db: ts.dbPath, passwordStdin: true }, pipe('frankfrank'))],
      ['logout', () => userLogout('frank', { db: ts.dbPath }, io())],
      ['del', () => userDel('frank', { db: ts.dbPath }, io())],
    ] as const) {
      const { c } = await WireClient.login(ts.port, 'frank', { password: 'frankfrank' });
      assert.equal(await act(), 0, what);
      await c.closedPromise;
      assert.equal(c.all('error').at(-1)?.code, 'auth_required', what);
    }
    const o = io();
    assert.equal(await userList({ db: ts.dbPath }, o), 0);
    assert.equal(o.out, 'no accounts\n');
  });
});

describe('lab93 server --guests no --registration open', () => {
  it('as a real process: guests refused, accounts admitted, registration answered', async () => {
    const dir = tempDir('lab93-user-srv-');
    const db = join(dir, 'server.db');
    assert.equal(await userAdd('gail', { db, passwordStdin: true }, piped('gailgail')), 0);
    const srv = await spawnServer(['--db', db, '--no-announce', '--no-classic', '--guests', 'no', '--registration', 'open']);
    try {
      const c = await WireClient.connect(srv.port);
      c.send({ type: 'hello', username: 'guest' });
      assert.equal((await c.next('error')).code, 'auth_required');
      const { c: g, welcome } = await WireClient.login(srv.port, 'gail', { password: 'gailgail' });
      assert.equal(welcome.account, true);
      g.send({ type: 'register', password: 'whatever123' });
      assert.match((await g.next('error')).message, /logged into the account gail already/);
      await g.close();
      assert.equal(srv.logs.some((l) => l.includes('gailgail')), false, 'the password is never logged');
    } finally {
      srv.proc.kill('SIGTERM');
      await srv.exit();
      removeDir(dir);
    }
  });
});
