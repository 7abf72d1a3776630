/**
 * `lab93 connect` against a server that sends the line of issue 8 that used to kill it, plain and
 * base64: in pipe mode (spawned) and in a real terminal (tmux), the user sees a one-line notice,
 * the messages after it, and can still chat; the process stays up.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, REPO } from '../helpers/client-cli.js';
import { FakeServer, serverMessage } from '../helpers/client-fake-server.js';
import { clientTempDir, removeTempDir } from '../helpers/client-server.js';
import { Tmux, tmuxUnavailable } from '../helpers/tmux.js';

const CRASH_LINE = "{'username': 'x', 'content': '\\U00110000'}";
/** Ignored (the decoders are total), or the connection closed by the guard (a decoder still throwing). */
const NOTICE = /(ignored a bad frame from the server \(.+\)|could not handle what the server sent \(.+\); reconnecting)/;

describe('lab93 connect against a server sending the crash line', () => {
  let dir: string;
  const fakes: FakeServer[] = [];

  /** A fake server that sends the crash line (base64, then plain) right after welcome, then a message. */
  async function hostileServer(): Promise<FakeServer> {
    const fake = await FakeServer.start();
    fakes.push(fake);
    fake.serve((conn) => {
      // On every connection: a terminal client's quiet login check comes first and must not
      // take them; the decoders are total, so they are notices, never a reason to reconnect.
      conn.sendRaw(Buffer.from(CRASH_LINE).toString('base64'));
      conn.sendRaw(CRASH_LINE);
      // Sent on every connection (same id, shown once): it arrives whether or not the guard closed the first.
      conn.send(serverMessage(1, 'hello after the crash lines'));
    });
    return fake;
  }

  const sentBy = (fake: FakeServer, content: string): boolean => fake.conns.some((c) => c.received.some((p) => p.type === 'message' && p.content === content));

  before(() => {
    dir = clientTempDir();
  });
  after(async () => {
    for (const f of fakes) await f.close();
    removeTempDir(dir);
  });

  it('pipe mode: a notice on stderr, the next message on stdout, a line typed after it is sent and acknowledged (exit 0)', async () => {
    const fake = await hostileServer();
    const run = runCli(['connect', `127.0.0.1:${fake.port}`, '--name', 'ada'], { LAB93_DATA_DIR: join(dir, 'pipe') });
    await run.waitLine((l) => /lobby bob: hello after the crash lines$/.test(l), 20_000);
    assert.match(run.stderr(), NOTICE);
    run.proc.stdin.end('still chatting\n');
    const { code, signal } = await run.exit;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, run.stderr());
    assert.ok(sentBy(fake, 'still chatting'), 'the line reached the server');
    const noticeLines = run.stderr().split('\n').filter((l) => NOTICE.test(l));
    assert.ok(noticeLines.length >= 1 && noticeLines.every((l) => l.length < 300), `one-line notices: ${JSON.stringify(noticeLines)}`);
  });

  const skip = tmuxUnavailable();
  if (skip) console.log(`# skipped: ${skip}`);
  it('terminal: a notice line, the next message, and chat goes on; the process stays up', { skip: skip ?? false }, async () => {
    const fake = await hostileServer();
    const t = new Tmux();
    try {
      t.start([process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'connect', `127.0.0.1:${fake.port}`, '--name', 'ada'], {
        width: 200, height: 30, cwd: REPO, env: { LAB93_DATA_DIR: join(dir, 'tui'), NO_COLOR: '1', TZ: 'UTC' },
      });
      const lines = await t.waitFor((l) => l.some((x) => x.endsWith('bob: hello after the crash lines')) && (l[l.length - 1] ?? '') === '#lobby>', 'the message after the crash lines', 20_000);
      assert.ok(lines.some((x) => x.startsWith('· ') && NOTICE.test(x)), `a notice line:\n${lines.join('\n')}`);
      t.type('still chatting');
      t.press('Enter');
      await t.waitFor((l) => l.some((x) => /^\d\d:\d\d ada: still chatting$/.test(x)), 'the line sent, not queued');
      await t.waitFor(() => sentBy(fake, 'still chatting'), 'the line at the server');
      assert.equal(t.dead(), false, 'the client is still running');
      t.type('/quit');
      t.press('Enter');
      await t.waitFor(() => t.dead(), 'the client to quit');
    } finally {
      t.kill();
    }
  });
});
