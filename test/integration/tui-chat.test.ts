/**
 * The terminal client in a real pseudo-terminal (tmux): what a user sees and types.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { REPO } from '../helpers/client-cli.js';
import { clientTempDir, nextEvent, removeTempDir, sayAcked, startBob, startClientTestServer, type ClientTestServer } from '../helpers/client-server.js';
import { Tmux, tmuxUnavailable } from '../helpers/tmux.js';

const skip = tmuxUnavailable();
if (skip) console.log(`# skipped: ${skip}`);

describe('terminal client in a pseudo-terminal', { skip: skip ?? false }, () => {
  let dir: string;
  let ts: ClientTestServer;
  let bob: RepeaterConnection;
  let t: Tmux;
  const WIDTH = 80;

  const startAlice = (): void => {
    t?.kill();
    t = new Tmux();
    t.start([process.execPath, '--import', 'tsx', 'src/cli/main.ts', '-r', '-c', '-a', '127.0.0.1', '-p', String(ts.port), '--name', 'alice'], {
      width: WIDTH, height: 30, cwd: REPO, env: { LAB93_DATA_DIR: join(dir, 'data'), NO_COLOR: '1', TZ: 'UTC' },
    });
  };
  const promptLine = (lines: string[]): string => lines[lines.length - 1] ?? '';
  const bobSays = (content: string, extra: { subject?: string; room?: string; to?: string } = {}): Promise<void> => sayAcked(bob, content, extra);

  before(async () => {
    dir = clientTempDir();
    ts = await startClientTestServer(join(dir, 'server.db'));
    bob = await startBob(ts.port, dir);
  });
  after(async () => {
    t?.kill();
    await bob.close();
    await ts.stop();
    removeTempDir(dir);
  });

  it('typing: a line typed and sent reaches the room and is shown formatted, the prompt is ready again', async () => {
    const aliceHere = nextEvent(bob, 'presence', (p: { username: string }) => p.username === 'alice', 15_000);
    startAlice();
    await t.waitFor((l) => l.some((x) => x.includes('· connected')) && promptLine(l) === '#lobby>', 'the client to connect', 15_000);
    await aliceHere;
    const got = nextEvent<[ChatMessage]>(bob, 'message');
    t.type('hello bob');
    t.press('Enter');
    assert.equal((await got)[0].content, 'hello bob');
    const lines = await t.waitFor((l) => l.some((x) => /^\d\d:\d\d alice: hello bob$/.test(x)), 'the sent message');
    assert.equal(promptLine(lines), '#lobby>');
    assert.ok(!lines.some((x) => x.startsWith('#lobby> hello bob')), 'the raw echo of the typed line was replaced by the message');
  });

  it('receiving while typing: the partial input stays intact and is sent whole', async () => {
    t.type('half typed');
    await t.waitFor((l) => promptLine(l) === '#lobby> half typed', 'the partial input');
    await bobSays('interrupting you', { subject: 'lab3' });
    await bobSays('two lines\nof content');
    await bobSays('\x1b[2J\x1b[Hscreen wiped?\x1b]0;pwned\x07');
    const lines = await t.waitFor((l) => l.some((x) => x.endsWith('bob: screen wiped?')), 'the messages');
    assert.equal(promptLine(lines), '#lobby> half typed', 'the input line is intact, below the new messages');
    assert.deepEqual(t.cursor(), { x: '#lobby> half typed'.length, y: lines.length - 1 }, 'the cursor is still at the end of the input');
    const i = lines.findIndex((x) => x.endsWith('bob [lab3]: interrupting you'));
    assert.ok(i > 0, 'subject shown');
    assert.equal(lines[i + 1]!.replace(/^\d\d:\d\d /, ''), 'bob: two lines');
    assert.equal(lines[i + 2], '           of content', 'continuation lines are indented under the text');
    assert.ok(lines.some((x) => x.includes('alice: hello bob')), 'the escape sequence did not clear the screen');

    const got = nextEvent<[ChatMessage]>(bob, 'message');
    t.type(' and finished');
    t.press('Enter');
    assert.equal((await got)[0].content, 'half typed and finished');
  });

  it('a long input wrapping over two rows survives an incoming message', async () => {
    const long = 'x'.repeat(WIDTH + 20);
    t.type(long);
    await t.waitFor((l) => l.join('').endsWith(long), 'the long input');
    await bobSays('while you type a lot');
    const lines = await t.waitFor((l) => l.some((x) => x.endsWith('bob: while you type a lot')), 'the message');
    assert.equal(lines.slice(-2).join(''), `#lobby> ${long}`);
    assert.ok(lines[lines.length - 3]!.endsWith('bob: while you type a lot'), 'the message sits right above the input');
    const got = nextEvent<[ChatMessage]>(bob, 'message');
    t.press('Enter');
    assert.equal((await got)[0].content, long);
    await t.waitFor((l) => promptLine(l) === '#lobby>', 'an empty prompt');
  });

  it('commands: /who lists the room, /join switches room, other rooms are named', async () => {
    t.type('/who');
    t.press('Enter');
    await t.waitFor((l) => l.some((x) => x === '· in #lobby: alice, bob'), '/who output');
    t.type('/join physics');
    t.press('Enter');
    await t.waitFor((l) => promptLine(l) === '#physics>', 'the prompt in #physics');
    assert.deepEqual(await bob.who('physics'), ['alice', 'bob']);
    await bobSays('over in the lobby');
    await t.waitFor((l) => l.some((x) => /^\d\d:\d\d #lobby bob: over in the lobby$/.test(x)), 'the room named on a message from another room');
    t.type('/frobnicate');
    t.press('Enter');
    const unknown = await t.waitFor((l) => l.some((x) => x.includes('unknown command /frobnicate')), 'the unknown command line');
    assert.ok(unknown.includes('· unknown command /frobnicate: /help lists them'));
    assert.ok(!unknown.some((x) => x.includes('/join <room>')), 'not the whole help');
    t.type('/scan');
    t.press('Enter');
    await t.waitFor((l) => l.some((x) => x.includes('/scan belongs to broadcast mode')), 'the /scan explanation');
  });

  it('reconnect: the prompt says offline and counts the queue, then goes back online and delivers it once', async () => {
    const port = ts.port;
    await ts.stop();
    await t.waitFor((l) => promptLine(l).startsWith('#physics (offline'), 'the offline prompt', 15_000);
    t.type('sent while offline');
    t.press('Enter');
    await t.waitFor((l) => promptLine(l) === '#physics (offline, 1 queued)>' && l.some((x) => x.endsWith('alice: sent while offline (queued)')), 'the queued message');
    const got = nextEvent<[ChatMessage]>(bob, 'message', (m) => m.content === 'sent while offline', 20_000);
    ts = await startClientTestServer(ts.dbPath, port);
    await got;
    await t.waitFor((l) => promptLine(l) === '#physics>', 'the prompt back online', 20_000);
    const stored = (await ts.store.history('physics', null, 50)).filter((m) => m.content === 'sent while offline');
    assert.equal(stored.length, 1);
  });

  it('after /quit, what was missed is shown under a separator on return, below the local history', async () => {
    t.type('/quit');
    t.press('Enter');
    await t.waitFor(() => t.dead(), 'the client to exit');
    await bobSays('while you were away 1');
    await bobSays('while you were away 2');
    startAlice();
    const lines = await t.waitFor((l) => l.some((x) => x.includes('── 2 missed while you were away ──')), 'the missed block', 15_000);
    const h = lines.findIndex((x) => x === '── local history ──');
    const sep = lines.findIndex((x) => x.includes('missed while you were away'));
    assert.ok(h >= 0 && h < sep, 'local history first');
    assert.ok(lines.slice(h, sep).some((x) => x.endsWith('alice: sent while offline')));
    assert.deepEqual(lines.slice(sep + 1, sep + 3).map((x) => x.replace(/^\d\d:\d\d /, '')), ['bob: while you were away 1', 'bob: while you were away 2']);
  });

  it('with the server down, the local history is still shown at start', async () => {
    const port = ts.port;
    t.press('C-d');
    await t.waitFor(() => t.dead(), 'the client to exit on Ctrl-D');
    await ts.stop();
    startAlice();
    const lines = await t.waitFor((l) => l.some((x) => x === '── local history ──') && /\(offline|\(connecting/.test(promptLine(l)), 'history while offline', 15_000);
    assert.ok(lines.some((x) => x.endsWith('bob: while you were away 2')));
    ts = await startClientTestServer(ts.dbPath, port);
    await t.waitFor((l) => promptLine(l) === '#lobby>', 'online again', 20_000);
  });
});
