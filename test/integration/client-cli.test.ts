import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { runCli } from '../helpers/client-cli.js';
import { clientTempDir, nextEvent, removeTempDir, startClientTestServer, type ClientTestServer } from '../helpers/client-server.js';

describe('lab93 send, tail and pipe mode (spawned CLI)', () => {
  let dir: string;
  let ts: ClientTestServer;
  let bob: RepeaterConnection;
  const bobSeen: ChatMessage[] = [];
  const env = (): Record<string, string> => ({ LAB93_DATA_DIR: join(dir, 'data') });

  before(async () => {
    dir = clientTempDir();
    ts = await startClientTestServer(join(dir, 'server.db'));
    bob = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: 'bob', dbPath: join(dir, 'bob.db'), rooms: ['lobby', 'builds'] });
    bob.on('message', (m: ChatMessage) => bobSeen.push(m));
    const synced = nextEvent(bob, 'synced');
    await bob.start();
    await synced;
  });
  after(async () => {
    await bob.close();
    await ts.stop();
    removeTempDir(dir);
  });

  it('send posts one message and exits 0 once it is stored', async () => {
    const got = nextEvent<[ChatMessage]>(bob, 'message', (m) => m.content === 'tests passed', 15_000);
    const run = runCli(['send', '-a', '127.0.0.1', '-p', String(ts.port), '--name', 'ci', '--subject', 'CI', '--room', 'builds', 'tests', 'passed'], env());
    const { code } = await run.exit;
    assert.equal(code, 0, run.stderr());
    const [m] = await got;
    assert.deepEqual({ u: m.username, s: m.subject, r: m.room }, { u: 'ci', s: 'CI', r: 'builds' });
    const stored = (await ts.store.history('builds', null, 10)).filter((x) => x.content === 'tests passed');
    assert.equal(stored.length, 1);
  });

  it('send fails at once, with the reason and a non-zero status, when the connection is refused', async () => {
    const free = await startClientTestServer(join(dir, 'gone.db'));
    const port = free.port;
    await free.stop();
    const started = Date.now();
    // The default timeout is 10 s: a refusal must not wait for it.
    const run = runCli(['send', '-a', `127.0.0.1:${port}`, 'hello?'], env());
    const { code } = await run.exit;
    assert.equal(code, 1);
    assert.equal(run.stderr(), `lab93 send: cannot connect to 127.0.0.1:${port}: connection refused: nothing listens on that port\n`);
    assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
  });

  it('send gives up after --timeout when the server accepts but never answers', async () => {
    const silent = net.createServer((s) => s.on('error', () => {}));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const run = runCli(['send', '-a', '127.0.0.1', '-p', String(port), '--timeout', '1', 'hello?'], env());
      const { code } = await run.exit;
      assert.equal(code, 1);
      assert.match(run.stderr(), /^lab93 send: not acknowledged by 127\.0\.0\.1:\d+ within 1 s\n$/);
    } finally {
      silent.close();
    }
  });

  it('send reports a message the server refuses', async () => {
    const run = runCli(['send', '-p', String(ts.port), 'x'.repeat(5000)], env());
    const { code } = await run.exit;
    assert.equal(code, 1);
    assert.match(run.stderr(), /refused the message: too_large/);
  });

  it('tail prints the missed backlog, then live messages, as JSON lines', async () => {
    const args = ['tail', '-a', '127.0.0.1', '-p', String(ts.port), '--name', 'watcher'];
    // A first run registers the watcher and its cursor.
    // tail is a quiet connection (no presence), so the server's own sessions tell when it is in.
    const watcherOnline = () => [...ts.server.sessions].some((x) => x.username === 'watcher' && x.state === 'ready');
    const first = runCli(args, env());
    await until(watcherOnline, 15_000);
    first.proc.kill('SIGTERM');
    assert.equal((await first.exit).code, 0);
    await until(() => !watcherOnline(), 5_000);

    for (const text of ['missed one', 'missed two']) {
      const acked = nextEvent(bob, 'acked');
      bob.send({ content: text, room: 'lobby' });
      await acked;
    }
    const second = runCli(args, env());
    await second.waitLine((l) => l.includes('missed two'), 15_000);
    const lines = second.stdoutLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l.content, l.username, l.missed]), [['missed one', 'bob', true], ['missed two', 'bob', true]]);
    bob.send({ content: 'live one', room: 'lobby', subject: 'hi' });
    const live = JSON.parse(await second.waitLine((l) => l.includes('live one'))) as Record<string, unknown>;
    assert.deepEqual([live.subject, live.missed, live.room, typeof live.id, typeof live.timestamp], ['hi', false, 'lobby', 'number', 'number']);
    second.proc.kill('SIGINT');
    assert.equal((await second.exit).code, 0);
  });

  it('tail, first run: the newest --last messages of each room first (missed: true), in id order, then live ones', async () => {
    for (const [text, room] of [['old lobby', 'lobby'], ['recent builds', 'builds'], ['recent lobby', 'lobby']]) {
      const acked = nextEvent(bob, 'acked');
      bob.send({ content: text!, room: room! });
      await acked;
    }
    const run = runCli(['tail', '-a', `127.0.0.1:${ts.port}`, '--name', 'newcomer', '--room', 'lobby,builds', '--last', '1'], env());
    await run.waitLine((l) => l.includes('recent lobby'), 15_000);
    bob.send({ content: 'live after start', room: 'builds' });
    await run.waitLine((l) => l.includes('live after start'));
    run.proc.kill('SIGTERM');
    assert.equal((await run.exit).code, 0);
    const lines = run.stdoutLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l.content, l.room, l.missed]), [['recent builds', 'builds', true], ['recent lobby', 'lobby', true], ['live after start', 'builds', false]]);
  });

  it('tail stops at once, status 1, with the reason, when nothing listens there', async () => {
    const free = await startClientTestServer(join(dir, 'gone2.db'));
    const port = free.port;
    await free.stop();
    const run = runCli(['tail', '-a', `127.0.0.1:${port}`], env());
    const { code } = await run.exit;
    assert.equal(code, 1);
    assert.equal(run.stderr(), `lab93 tail: cannot connect to 127.0.0.1:${port}: connection refused: nothing listens on that port\n`);
  });

  it('pipe mode --timeout: once the input has ended, an unreachable server is waited for that long; exit 1 naming what stayed unsent', async () => {
    const free = await startClientTestServer(join(dir, 'gone3.db'));
    const port = free.port;
    await free.stop();
    const started = Date.now();
    const run = runCli(['connect', `127.0.0.1:${port}`, '--name', 'cron', '--timeout', '1'], env());
    run.proc.stdin.end('backup started\nbackup done\n');
    const { code } = await run.exit;
    assert.equal(code, 1);
    const err = run.stderr().split('\n').filter((l) => !l.includes('offline'));
    assert.deepEqual(err, [
      `lab93: 127.0.0.1:${port} stayed unreachable for 1 s (connection refused: nothing listens on that port); giving up`,
      'lab93: 2 message(s) not sent; they stay queued and are sent the next time this runs against that server:',
      'lab93:   backup started',
      'lab93:   backup done',
      '',
    ]);
    assert.ok(Date.now() - started < 10_000);
    // The next run, with the server there, sends them.
    const back = await startClientTestServer(join(dir, 'gone3.db'), port);
    try {
      const again = runCli(['connect', `127.0.0.1:${port}`, '--name', 'cron'], env());
      again.proc.stdin.end();
      assert.equal((await again.exit).code, 0, again.stderr());
      assert.deepEqual((await back.store.history('lobby', null, 10)).map((m) => m.content), ['backup started', 'backup done']);
    } finally {
      await back.stop();
    }
  });

  it('pipe mode: each input line is a message, each message received one output line; exits after the acks', async () => {
    const run = runCli(['connect', `127.0.0.1:${ts.port}`, '--name', 'piper'], env());
    const first = nextEvent<[ChatMessage]>(bob, 'message', (m) => m.username === 'piper', 15_000);
    run.proc.stdin.write('line one\n');
    assert.equal((await first)[0].content, 'line one');
    bob.send({ content: 'hello piper\nsecond line', room: 'lobby', subject: 'q' });
    const line = await run.waitLine((l) => l.includes('hello piper'));
    assert.match(line, /^\d\d:\d\d:\d\d lobby bob \[q\]: hello piper\\nsecond line$/);
    const rest = new Promise<void>((resolve) => {
      const on = (m: ChatMessage): void => {
        if (m.username === 'piper' && m.content === 'line three') {
          bob.off('message', on);
          resolve();
        }
      };
      bob.on('message', on);
    });
    run.proc.stdin.end('line two\n\nline three\n');
    const { code } = await run.exit;
    assert.equal(code, 0, run.stderr());
    await rest;
    const fromPiper = bobSeen.filter((m) => m.username === 'piper').map((m) => m.content);
    assert.deepEqual(fromPiper, ['line one', 'line two', 'line three']);
    const stored = (await ts.store.history('lobby', null, 100)).filter((m) => m.username === 'piper');
    assert.equal(stored.length, 3);
  });
});

describe('pipe mode with nothing to send', () => {
  it('prints the missed backlog and exits when the input is empty', async () => {
    const dir = clientTempDir();
    const ts = await startClientTestServer(join(dir, 'server.db'));
    try {
      const env = { LAB93_DATA_DIR: join(dir, 'data') };
      const first = runCli(['connect', `127.0.0.1:${ts.port}`, '--name', 'reader'], env);
      first.proc.stdin.end();
      assert.equal((await first.exit).code, 0, first.stderr());
      await ts.store.append([{ uid: 'z1', username: 'bob', room: 'lobby', to: null, subject: null, content: 'while reader was away', timestamp: Date.now() / 1000 }]);
      const second = runCli(['connect', `127.0.0.1:${ts.port}`, '--name', 'reader'], env);
      second.proc.stdin.end();
      assert.equal((await second.exit).code, 0, second.stderr());
      assert.deepEqual(second.stdoutLines.map((l) => l.replace(/^\d\d:\d\d:\d\d /, '')), ['lobby bob: while reader was away']);
    } finally {
      await ts.stop();
      removeTempDir(dir);
    }
  });
});

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
