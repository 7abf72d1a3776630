/**
 * The terminal client's side of accounts (src/client/credentials.ts): the password asked once,
 * the token kept per server (0600, in a 0700 folder) and used from then on, a revoked token
 * forgotten, a refused login that stops instead of reconnecting forever, guests marked, and in
 * tmux: logging in with a password, then again without typing it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClientCredentials, checkLogin, tokenPath } from '../../src/client/credentials.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { formatMessage } from '../../src/client/format.js';
import type { ChatMessage } from '../../src/client/backend.js';
import { WireClient } from '../helpers/wire-client.js';
import { nextEvent } from '../helpers/client-server.js';
import { ROOT } from '../helpers/spawn-server.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { Tmux, tmuxUnavailable } from '../helpers/tmux.js';
import { startAuthServer, type AuthServer } from './auth-server.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('client: logging in', () => {
  let ts: AuthServer;
  let dir: string;
  before(async () => {
    ts = await startAuthServer({ pollMs: 50 });
    await ts.addUser('alice', 'wonderland');
    dir = tempDir('lab93-client-auth-');
  });
  after(async () => {
    await ts.stop();
    removeDir(dir);
  });

  const env = (): NodeJS.ProcessEnv => ({ LAB93_DATA_DIR: join(dir, 'data') });

  it('the password is asked once; the token is kept 0600 in a 0700 folder and used from then on', async () => {
    const file = tokenPath('127.0.0.1', ts.port, env());
    const creds = new ClientCredentials(file, 'alice');
    const prompts: string[] = [];
    const first = await checkLogin({ host: '127.0.0.1', port: ts.port, username: 'alice', credentials: creds, askPassword: async (p) => (prompts.push(p), 'wonderland') });
    assert.deepEqual(first, { ok: true, account: true, username: 'alice' });
    assert.deepEqual(prompts, [`Password for alice on 127.0.0.1: `]);
    assert.equal(mode(file), 0o600);
    assert.equal(mode(dirname(file)), 0o700);
    assert.equal(readFileSync(file, 'utf8').includes('wonderland'), false, 'the password is not kept');
    const again = await checkLogin({ host: '127.0.0.1', port: ts.port, username: 'alice', credentials: new ClientCredentials(file, 'alice'), askPassword: async () => assert.fail('asked for the password again') });
    assert.equal(again.ok, true);

    // The chat connection logs in with the token: its messages are verified.
    const conn = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: 'alice', dbPath: ':memory:', credentials: new ClientCredentials(file, 'alice') });
    const { c: bob } = await WireClient.login(ts.port, 'bob');
    await conn.start();
    await nextEvent(conn, 'synced');
    conn.send({ content: 'signed', room: 'lobby' });
    const m = await bob.next('message');
    assert.deepEqual([m.username, m.verified], ['alice', true]);
    // bob is a guest: now that accounts are in use here, the client marks him.
    bob.send({ type: 'message', uid: 'g1', content: 'from a guest' });
    const [got] = await nextEvent<[ChatMessage]>(conn, 'message');
    assert.equal(got.guest, true);
    assert.match(formatMessage(got, { currentRoom: 'lobby', timeZone: 'UTC' }), /^\d\d:\d\d bob \(guest\): from a guest$/);
    await Promise.all([conn.close(), bob.close()]);
  });

  it('/nick from an account to a guest name offers neither the old token nor the password; back again uses the saved token', async () => {
    const file = tokenPath('127.0.0.1', ts.port, env());
    const creds = new ClientCredentials(file, 'alice', 'wonderland');
    const conn = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: 'alice', dbPath: ':memory:', credentials: creds });
    const { c: bob } = await WireClient.login(ts.port, 'bob');
    await conn.start();
    await nextEvent(conn, 'synced');
    // As a guest name: logged in (not refused for alice's token), the message unverified.
    conn.rename('alice2');
    await nextEvent(conn, 'synced');
    conn.send({ content: 'as a guest', room: 'lobby' });
    const g = await bob.next('message');
    assert.deepEqual([g.username, g.verified], ['alice2', false]);
    // Back to alice: her saved token logs her in again, without the password.
    conn.rename('alice');
    await nextEvent(conn, 'synced');
    conn.send({ content: 'signed again', room: 'lobby' });
    const a = await bob.next('message');
    assert.deepEqual([a.username, a.verified], ['alice', true]);
    await Promise.all([conn.close(), bob.close()]);
  });

  it('a revoked token is forgotten and the password asked again; three wrong passwords give up', async () => {
    const file = tokenPath('127.0.0.1', ts.port, env());
    await ts.accounts.revokeTokens('alice');
    const creds = new ClientCredentials(file, 'alice');
    assert.notEqual(creds.token, null);
    const answers = ['nope', 'wonderland'];
    const prompts: string[] = [];
    const r = await checkLogin({ host: '127.0.0.1', port: ts.port, username: 'alice', credentials: creds, askPassword: async (p) => (prompts.push(p), answers.shift()!) });
    assert.equal(r.ok, true);
    assert.deepEqual(prompts, ['Password for alice on 127.0.0.1: ', 'Wrong password. Password for alice: ']);
    ts.clock.t += 60_000;
    await ts.accounts.revokeTokens('alice');
    const wrong = await checkLogin({ host: '127.0.0.1', port: ts.port, username: 'alice', credentials: new ClientCredentials(file, 'alice'), askPassword: async () => 'nope' });
    assert.deepEqual([wrong.ok, !wrong.ok && wrong.code], [false, 'auth_failed']);
    assert.equal(existsSync(file), false, 'no token left to try');
    ts.clock.t += 60_000;
  });

  it('a connection refused at hello stops with the reason instead of retrying forever', async () => {
    const conn = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: 'alice', dbPath: ':memory:', backoffInitialMs: 10, backoffMaxMs: 20 });
    const notices: string[] = [];
    conn.on('notice', (t: string) => notices.push(t));
    const refused = nextEvent<[string]>(conn, 'notice', (t) => t.startsWith('cannot log in'));
    await conn.start();
    assert.match((await refused)[0], /^cannot log in: alice is a registered name: log in with its password or token$/);
    const seen = notices.length;
    // Reconnecting (every 10-20 ms here) would be refused again, each time with a notice.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(notices.slice(seen), [], 'no further attempts');
    assert.equal(conn.state, 'offline');
    await conn.close();
  });

  it('lab93 send --password-stdin logs in once; the next send uses the saved token', async () => {
    const data = join(dir, 'send-data');
    // Not spawnSync: the server runs in this process and must keep answering.
    const run = (args: string[], input: string) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'send', '-a', '127.0.0.1', '-p', String(ts.port), '--name', 'alice', ...args], {
        cwd: ROOT, env: { ...process.env, LAB93_DATA_DIR: data }, stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      p.stderr!.on('data', (c: Buffer) => (stderr += c));
      p.stdin!.end(input);
      p.on('exit', (status) => resolve({ status, stderr }));
    });
    const first = await run(['--password-stdin', 'first, with the password'], 'wonderland\n');
    assert.equal(first.status, 0, first.stderr);
    assert.equal(mode(tokenPath('127.0.0.1', ts.port, { LAB93_DATA_DIR: data })), 0o600);
    const second = await run(['second, with the token'], '');
    assert.equal(second.status, 0, second.stderr);
    const [last] = await ts.store.history('lobby', null, 1);
    assert.deepEqual([last?.content, last?.verified], ['second, with the token', true]);
  });
});

const skip = tmuxUnavailable();
describe('client in a terminal: the password typed once', { skip: skip ?? false }, () => {
  it('asks without echo the first time, and not the second', async () => {
    const ts = await startAuthServer();
    const dir = tempDir('lab93-client-tty-');
    let t: Tmux | undefined;
    try {
      await ts.addUser('alice', 'wonderland');
      const start = (): Tmux => {
        const tm = new Tmux();
        tm.start([process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'connect', `127.0.0.1:${ts.port}`, '--name', 'alice'], {
          width: 90, height: 20, cwd: ROOT, env: { LAB93_DATA_DIR: join(dir, 'data'), NO_COLOR: '1', TZ: 'UTC' },
        });
        return tm;
      };
      t = start();
      await t.waitFor((l) => l.some((x) => x.includes('Password for alice on 127.0.0.1:')), 'the password prompt', 30_000);
      t.type('wonderland');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(t.lines().some((x) => x.includes('wonderland')), false, 'the password is not echoed');
      t.press('Enter');
      await t.waitFor((l) => l.some((x) => x.includes('· connected')), 'the chat', 30_000);
      t.type('/quit');
      t.press('Enter');
      await t.waitFor(() => t!.dead(), 'the client to exit');
      t.kill();
      t = start();
      const lines = await t.waitFor((l) => l.some((x) => x.includes('· connected')), 'the chat without a prompt', 30_000);
      assert.equal(lines.some((x) => x.includes('Password')), false);
    } finally {
      t?.kill();
      await ts.stop();
      removeDir(dir);
    }
  });
});
