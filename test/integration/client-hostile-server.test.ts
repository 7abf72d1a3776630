/**
 * A client that survives its server (issue 8, item 6): whatever a server sends, the repeater
 * connection shows a one-line notice and goes on; an exception while handling the server's data
 * closes that connection only, and the client comes back and chats.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/client/backend.js';
import { RepeaterConnection, ServerError, type RepeaterOptions } from '../../src/client/connection.js';
import { FakeServer, ManualClock, serverMessage, type FakeConn } from '../helpers/client-fake-server.js';
import { clientTempDir, nextEvent, removeTempDir, until } from '../helpers/client-server.js';

/** The line of issue 8 that killed `lab93 connect`: a Python escape above U+10FFFF. */
export const CRASH_LINE = "{'username': 'x', 'content': '\\U00110000'}";
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const frame = (p: unknown): string => b64(JSON.stringify(p));
/** What the user reads about a bad frame: ignored (decoders total) or a closed connection (a decoder still throwing). */
const BAD_FRAME_NOTICE = /^(ignored a bad frame from the server \(.+\)|could not handle what the server sent \(.+\); reconnecting)$/;

const msg = serverMessage;

describe('repeater client against a hostile server (fake server)', () => {
  let dir: string;
  const fakes: FakeServer[] = [];
  const open: RepeaterConnection[] = [];
  let n = 0;

  async function setup(extra: Partial<RepeaterOptions> = {}): Promise<{ fake: FakeServer; c: RepeaterConnection; notices: string[]; synced: () => Promise<void> }> {
    const fake = await FakeServer.start();
    fakes.push(fake);
    const name = `u${++n}`;
    const c = new RepeaterConnection({ host: '127.0.0.1', port: fake.port, username: name, dbPath: join(dir, `${name}.db`), backoffInitialMs: 20, backoffMaxMs: 50, ...extra });
    open.push(c);
    const notices: string[] = [];
    c.on('notice', (t: string) => notices.push(t));
    // Counted from the start: a whole exchange often arrives in one read, so 'synced' may come
    // before a test awaiting something earlier gets to listen for it.
    let syncs = 0;
    c.on('synced', () => syncs++);
    const synced = (): Promise<void> => until(c, ['synced'], () => syncs > 0, 5000, 'synced');
    return { fake, c, notices, synced };
  }

  /** Sends a message and waits for its ack: the client still chats. */
  async function chats(c: RepeaterConnection, text: string): Promise<void> {
    const acked = nextEvent<[string]>(c, 'acked', (u) => u === uid, 5000);
    const uid = c.send({ content: text, room: 'lobby' });
    await acked;
  }

  before(() => {
    dir = clientTempDir();
  });
  after(async () => {
    for (const c of open) await c.close();
    for (const f of fakes) await f.close();
    removeTempDir(dir);
  });

  for (const [mode, line] of [['base64', b64(CRASH_LINE)], ['plain', CRASH_LINE]] as const) {
    it(`the crash line of issue 8 (${mode}): one notice, and the client still chats`, async () => {
      const { fake, c, notices, synced } = await setup();
      const seen: ChatMessage[] = [];
      c.on('message', (m: ChatMessage) => seen.push(m));
      fake.serve((conn, i) => {
        if (i === 0) conn.sendRaw(line);
        conn.send(msg(i + 1, `after the bad line, connection ${i}`));
      });
      const notice = nextEvent<[string]>(c, 'notice');
      await c.start();
      assert.match((await notice)[0], BAD_FRAME_NOTICE);
      await synced();
      await chats(c, 'still here');
      assert.ok(seen.some((m) => m.content.startsWith('after the bad line')), 'a message after the bad line arrives');
      assert.equal(notices.length, 1, `one notice: ${JSON.stringify(notices)}`);
    });
  }

  it('garbage frames: each kind is ignored with a notice (a flood summed up), the connection stays, chat goes on', async () => {
    const { fake, c, notices, synced } = await setup({ noticeIntervalMs: 300 });
    const garbage: Array<string | Buffer> = [
      'not base64 at all!',
      b64('not json'),
      b64('[1,2,3]'),
      Buffer.from([0xff, 0xfe]).toString('base64'),
      Buffer.from([0xff, 0xfe, 0x00]),
      frame({ type: 'message', id: 'seven', username: 'bob', content: 'x', timestamp: 1 }),
      frame({ type: 'message', id: 2 ** 53, username: 'bob', content: 'x', timestamp: 1 }),
      frame({ type: 'message', id: 9, username: 'bob\ud800', content: 'x', timestamp: 1 }),
      b64('{"type":"message","id":9,"username":"bob","content":"x","timestamp":1e400}'),
      frame({ type: 'welcome' }),
      frame({ type: 'presence', room: 'lobby', username: 'bob', status: 'haunting' }),
      frame({ type: 'error', code: { nested: true } }),
      frame({ username: 'x', content: 'a seed packet, no type' }),
      frame({ type: 7 }),
      b64('{"__proto__":{"type":"ack"},"type":"synced","last_id":-1}'),
    ];
    const ignored = [frame({ type: 'typing', username: 'bob' }), frame({ type: 'pong', extra: { deep: [1, 2] } })];
    fake.serve((conn) => {
      for (const g of [...garbage, ...ignored]) conn.sendRaw(g);
      conn.send(msg(1, 'a good message after the garbage'));
    });
    const good = nextEvent<[ChatMessage]>(c, 'message', (m) => m.content === 'a good message after the garbage');
    await c.start();
    await good;
    await synced();
    assert.equal(notices[0], 'ignored a bad frame from the server (not base64)');
    await until(c, ['notice'], () => notices.length >= 2, 3000, 'the summary of the flood');
    // The first is shown, the rest counted in one line.
    assert.deepEqual(notices.slice(1), [`${garbage.length - 1} more bad frames from the server in the last 300 ms`]);
    // A ping nested 50,000 deep: echoing its data would overflow the stack. It is answered without
    // it, or refused as a bad frame by a decoder that bounds nesting; never echoed.
    const conn = fake.conns[0]!;
    const answered = conn.next((p) => p.type === 'pong', 5000);
    const noticed = until(c, ['notice'], () => notices.length >= 3, 5000, 'a notice');
    conn.sendRaw(b64('{"type":"ping","data":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}'));
    const outcome = await Promise.any([answered.then((p) => JSON.stringify(p)), noticed.then(() => notices[2]!)]);
    assert.match(outcome, /^(\{"type":"pong"\}|ignored a bad frame from the server \(.+\)|1 more bad frame from the server in the last 300 ms)$/);
    assert.equal(fake.conns.length, 1, 'the same connection throughout');
    await chats(c, 'still chatting');
  });

  it('an exception while handling a frame closes that connection only: notice, reconnect, the message not lost, chat goes on', async () => {
    const { fake, c, notices, synced } = await setup();
    let thrown = false;
    const seen: string[] = [];
    c.on('message', (m: ChatMessage) => {
      seen.push(m.content);
      if (m.content === 'trips the client' && !thrown) {
        thrown = true;
        throw new Error('boom in a listener');
      }
    });
    fake.serve((conn, i) => {
      if (i === 0) conn.send(msg(1, 'trips the client'));
    });
    const offline = nextEvent<[string, string]>(c, 'state', (s) => s === 'offline');
    await c.start();
    const [, detail] = await offline;
    assert.equal(detail, 'closed after an internal error');
    assert.deepEqual(notices, ['could not handle what the server sent (Error: boom in a listener); reconnecting']);
    await fake.nextConn();
    const second = await fake.nextConn();
    const hello = await second.next('hello');
    assert.equal(hello.since, 1, 'the message was stored before it was shown: the cursor passed it');
    await synced();
    await chats(c, 'back again');
    assert.deepEqual(seen, ['trips the client']);
  });

  it('faults that repeat right after welcome do not make it redial in a tight loop: the backoff keeps growing', async () => {
    const clock = new ManualClock();
    const { fake, c } = await setup({ clock, random: () => 1, backoffInitialMs: 100, backoffMaxMs: 10_000 });
    c.on('message', () => {
      throw new Error('always');
    });
    fake.serve((conn, i) => conn.send(msg(i + 1, `trap ${i}`)));
    const delays: number[] = [];
    let offline = nextEvent(c, 'state', (s) => s === 'offline');
    await c.start();
    for (let i = 0; i < 4; i++) {
      await offline;
      offline = nextEvent(c, 'state', (s) => s === 'offline');
      delays.push(clock.runLast());
    }
    await offline;
    // Each welcome resets the ordinary backoff; the faults keep it growing: 200, 400, 800, 1600.
    assert.deepEqual(delays, [200, 400, 800, 1600]);
  });

  it('a bad answer to a request fails it at once instead of after the request timeout', async () => {
    const { fake, c, synced } = await setup({ requestTimeoutMs: 60_000 });
    await c.start();
    const conn: FakeConn = await fake.nextConn();
    FakeServer.welcome(conn, await conn.next('hello'), 0);
    await synced();
    const who = c.who('lobby');
    await conn.next('who');
    conn.send({ type: 'who', room: 'lobby', users: 'everyone' });
    await assert.rejects(who, (err: Error) => err instanceof ServerError && err.code === 'bad_packet' && /users: must be a list of names/.test(err.message));
  });
});
