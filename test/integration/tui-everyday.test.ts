/**
 * What chat users expect, in a real pseudo-terminal (issue 11, items 6 and 7): /me, /rooms, /msg
 * to an unknown name, an unknown command, long lines wrapped under the text, the outbox in sight
 * (marked rows above the prompt, /outbox, /outbox drop, /history offline), the backlog of a
 * reconnect headed "delivered after reconnecting", /nick, highlights, and scripts that come and
 * go without "is here / is gone" lines.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { REPO, runCli } from '../helpers/client-cli.js';
import { clientTempDir, nextEvent, removeTempDir, sayAcked, startBob, startClientTestServer, type ClientTestServer } from '../helpers/client-server.js';
import { Tmux, tmuxUnavailable } from '../helpers/tmux.js';

const skip = tmuxUnavailable();
if (skip) console.log(`# skipped: ${skip}`);

describe('everyday use in a pseudo-terminal', { skip: skip ?? false }, () => {
  let dir: string;
  let ts: ClientTestServer;
  let bob: RepeaterConnection;
  let t: Tmux;
  const WIDTH = 80;
  const prompt = (l: string[]): string => l[l.length - 1] ?? '';
  const has = (l: string[], text: string): boolean => l.some((x) => x.includes(text));
  const env = (): Record<string, string> => ({ LAB93_DATA_DIR: join(dir, 'data'), NO_COLOR: '1', TZ: 'UTC' });
  const enter = (text: string): void => {
    t.type(text);
    t.press('Enter');
  };
  const bobSays = (content: string, extra: { subject?: string; room?: string; to?: string } = {}): Promise<void> => sayAcked(bob, content, extra);

  before(async () => {
    dir = clientTempDir();
    ts = await startClientTestServer(join(dir, 'server.db'));
    bob = await startBob(ts.port, dir);
    t = new Tmux();
    t.start([process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'connect', `127.0.0.1:${ts.port}`, '--name', 'alice'], { width: WIDTH, height: 30, cwd: REPO, env: env() });
    await t.waitFor((l) => has(l, '· connected') && prompt(l) === '#lobby>', 'the client to connect', 15_000);
  });
  after(async () => {
    t?.kill();
    await bob.close();
    await ts.stop();
    removeTempDir(dir);
  });

  it('/me sends an action line: "* alice waves" on screen, action:true on the wire', async () => {
    const got = nextEvent<[ChatMessage]>(bob, 'message', (m) => m.username === 'alice');
    enter('/me waves');
    const [m] = await got;
    assert.deepEqual([m.content, m.action], ['waves', true]);
    await t.waitFor((l) => l.some((x) => /^\d\d:\d\d \* alice waves$/.test(x)), 'the action line');
  });

  it('/rooms lists the rooms with people in them and how many', async () => {
    enter('/rooms');
    const l = await t.waitFor((x) => has(x, 'room(s) with people in them'), '/rooms output');
    const i = l.findIndex((x) => x.includes('room(s) with people in them'));
    assert.equal(l[i], '· 2 room(s) with people in them:');
    assert.deepEqual(l.slice(i + 1, i + 3), ['  #lobby    2 people (you are here)', '  #physics  1 person']);
  });

  it('/msg to a name never seen warns, and the message waits for it', async () => {
    enter('/msg nobdy are you there?');
    await t.waitFor((l) => has(l, "· nobody named 'nobdy' has been here; it will wait for them"), 'the warning');
    const stored = await ts.store.catchUp({ username: 'nobdy', rooms: [], afterId: 0, upToId: await ts.store.lastId(), limit: 10 });
    assert.deepEqual(stored.map((m) => m.content), ['are you there?']);
    enter('/msg bob you are known');
    await t.waitFor((l) => l.some((x) => x.endsWith('alice → bob: you are known')), 'the direct message to bob');
    assert.equal(t.lines().filter((x) => x.includes('nobody named')).length, 1, 'no warning for bob');
  });

  it('an unknown command says so in one line', async () => {
    enter('/foo');
    const l = await t.waitFor((x) => has(x, 'unknown command /foo'), 'the unknown command line');
    assert.equal(l.filter((x) => x.includes('unknown command')).at(-1), '· unknown command /foo: /help lists them');
    assert.ok(!has(l, '/join <room>'), 'not the whole help');
  });

  it('a long line wraps under the text, not under the time', async () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    await bobSays(words);
    const l = await t.waitFor((x) => x.some((r) => r.includes('word29')), 'the long message');
    const first = l.findIndex((x) => /^\d\d:\d\d bob: word0 /.test(x));
    const rows = l.slice(first, l.findIndex((x) => x.includes('word29')) + 1);
    assert.ok(rows.length >= 3, rows.join('\n'));
    for (const row of rows.slice(1)) assert.match(row, /^ {11}word\d+/, 'continuation rows start under the text');
    assert.equal(rows.join(' ').replace(/^\d\d:\d\d bob: /, '').replace(/\s+/g, ' '), words);
  });

  it('scripts (send, tail, piped connect) come and go without "is here / is gone" lines', async () => {
    const send = runCli(['send', '-a', `127.0.0.1:${ts.port}`, '--name', 'deploybot', 'deploy started'], env());
    assert.equal((await send.exit).code, 0, send.stderr());
    const piped = runCli(['connect', `127.0.0.1:${ts.port}`, '--name', 'deploybot'], env());
    piped.proc.stdin.end('deploy done\n');
    assert.equal((await piped.exit).code, 0, piped.stderr());
    const tail = runCli(['tail', '-a', `127.0.0.1:${ts.port}`, '--name', 'deploybot', '--last', '1'], env());
    await tail.waitLine(() => true, 15_000);
    tail.proc.kill('SIGTERM');
    await tail.exit;
    // A person joining after them is announced: the lines would have come before this one.
    const carol = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: 'carol', dbPath: ':memory:' });
    await carol.start();
    const l = await t.waitFor((x) => has(x, 'carol is here'), 'carol announced');
    await carol.close();
    assert.ok(l.some((x) => x.endsWith('deploybot: deploy started')) && l.some((x) => x.endsWith('deploybot: deploy done')), l.join('\n'));
    assert.ok(!has(l, 'deploybot is'), 'no presence line for the scripts');
  });

  it('the outbox: queued rows stay in sight, marked; /outbox lists; drop cancels; /history offline shows both; delivered on return', async () => {
    const port = ts.port;
    await ts.stop();
    await t.waitFor((l) => prompt(l).startsWith('#lobby (offline'), 'the offline prompt', 15_000);
    enter('first queued');
    enter('second queued');
    let l = await t.waitFor((x) => prompt(x) === '#lobby (offline, 2 queued)>', 'two queued');
    assert.match(l[l.length - 3]!, /^\d\d:\d\d alice: first queued \(queued\)$/);
    assert.match(l[l.length - 2]!, /^\d\d:\d\d alice: second queued \(queued\)$/, 'the queued rows sit right above the prompt');
    enter('/outbox');
    l = await t.waitFor((x) => has(x, 'message(s) not delivered yet'), '/outbox');
    const o = l.findIndex((x) => x.includes('message(s) not delivered yet'));
    assert.equal(l[o], '· 2 message(s) not delivered yet (offline); /outbox drop <n> cancels one:');
    assert.match(l[o + 1]!, /^ {2}1\. \d\d:\d\d #lobby alice: first queued \(queued\)$/);
    assert.match(l[o + 2]!, /^ {2}2\. \d\d:\d\d #lobby alice: second queued \(queued\)$/);
    enter('/outbox drop 1');
    l = await t.waitFor((x) => prompt(x) === '#lobby (offline, 1 queued)>', 'one left');
    assert.ok(has(l, '· dropped message 1: "first queued"'));
    assert.match(l[l.length - 2]!, /alice: second queued \(queued\)$/);
    assert.ok(!l.slice(-3).some((x) => x.includes('first queued (queued)')), 'the dropped row left the pending block');
    enter('/history 3');
    l = await t.waitFor((x) => has(x, '(local history, offline)'), 'offline history');
    const h = l.findIndex((x) => x.includes('(local history, offline)'));
    const q = l.findIndex((x, i) => i > h && x.includes('queued, sent when the server is back'));
    assert.ok(q > h, l.join('\n'));
    assert.match(l[q + 1]!, /alice: second queued \(queued\)$/);

    // While the server is down, a message reaches its database (as a cluster peer would write it).
    const store = new SqliteStore(ts.dbPath);
    await store.append([{ uid: 'o1', username: 'bob', room: 'lobby', to: null, subject: null, content: 'said during the outage', timestamp: Date.now() / 1000 }]);
    await store.close();
    ts = await startClientTestServer(ts.dbPath, port);
    l = await t.waitFor((x) => prompt(x) === '#lobby>' && has(x, 'second queued (delivered)'), 'back online, the queue delivered', 20_000);
    assert.ok(has(l, '── 1 delivered after reconnecting ──'), l.join('\n'));
    assert.ok(!l.slice(-6).some((x) => x.includes('missed while you were away')));
    const stored = (await ts.store.history('lobby', null, 50)).map((m) => m.content);
    assert.ok(stored.includes('second queued') && !stored.includes('first queued'));
    await nextEvent(bob, 'state', (s: string) => s === 'online', 20_000).catch(() => undefined);
  });

  it('highlights: a direct message and a mention are bold (with colours), an ordinary line is not', async () => {
    const c = new Tmux();
    try {
      c.start([process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'connect', `127.0.0.1:${ts.port}`, '--name', 'dana'], {
        width: WIDTH, height: 20, cwd: REPO, env: { LAB93_DATA_DIR: join(dir, 'data'), TZ: 'UTC' },
      });
      await c.waitFor((l) => has(l, '· connected'), 'dana connected', 15_000);
      if (bob.state !== 'online') await nextEvent(bob, 'state', (s: string) => s === 'online', 20_000);
      await bobSays('just chatting');
      await bobSays('dana: your turn');
      await bobSays('psst', { to: 'dana' });
      await c.waitFor((l) => has(l, 'psst'), 'the direct message');
      const rows = c.screenWithAttributes();
      const row = (text: string): string => rows.find((r) => r.includes(text))!;
      assert.match(row('your turn'), /\x1b\[1m/, 'a mention is bold');
      assert.match(row('psst'), /\x1b\[1m/, 'a direct message is bold');
      assert.doesNotMatch(row('just chatting'), /\x1b\[1m/, 'an ordinary line is not');
    } finally {
      c.kill();
    }
  });

  it('/nick reconnects under the new name', async () => {
    enter('/nick alicia');
    await t.waitFor((l) => has(l, '· alice is now alicia; reconnecting under the new name'), 'the rename line');
    await t.waitFor((l) => prompt(l) === '#lobby>', 'online again');
    if (bob.state !== 'online') await nextEvent(bob, 'state', (s: string) => s === 'online', 20_000);
    const got = nextEvent<[ChatMessage]>(bob, 'message', (m) => m.content === 'as alicia now');
    enter('as alicia now');
    assert.equal((await got)[0].username, 'alicia');
    assert.deepEqual(await bob.who('lobby'), ['alicia', 'bob']);
    await bobSays('hello alicia', { to: 'alicia' });
    await t.waitFor((l) => l.some((x) => x.endsWith('bob → you: hello alicia')), 'a direct message to the new name');
  });
});
