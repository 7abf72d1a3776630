/**
 * A huge backlog goes to the local store page by page, not into memory at once (issue 8, item 6):
 * a fake server streams 50,000 missed messages. What the client holds is measured where it holds
 * it (the connection's batches, the screen's tail, the pipe's unwritten output), not by RSS.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { RepeaterConnection } from '../../src/client/connection.js';
import { LocalStore } from '../../src/client/local-store.js';
import { runChatUi } from '../../src/client/ui/index.js';
import { FakeServer, fakeTty, type FakeConn } from '../helpers/client-fake-server.js';
import { clientTempDir, removeTempDir, until } from '../helpers/client-server.js';

const BACKLOG = 50_000;

describe('a huge backlog (fake server streaming 50,000 messages)', () => {
  let dir: string;
  let fake: FakeServer;
  const open: RepeaterConnection[] = [];
  let n = 0;

  function client(store?: LocalStore): RepeaterConnection {
    const name = `u${++n}`;
    const c = new RepeaterConnection({ host: '127.0.0.1', port: fake.port, username: name, ...(store ? { store } : { dbPath: join(dir, `${name}.db`) }) });
    open.push(c);
    return c;
  }

  /** Answers the next hello with welcome and the whole backlog; `synced` is the test's to send. */
  async function streamBacklog(): Promise<FakeConn> {
    const conn = await fake.nextConn();
    const hello = await conn.next('hello');
    conn.send({ type: 'welcome', username: hello.username, last_id: BACKLOG, users: [hello.username], rooms: hello.rooms, server: 'fake', protocol: 1 });
    conn.sendBacklog(1, BACKLOG);
    return conn;
  }

  before(async () => {
    dir = clientTempDir();
    fake = await FakeServer.start();
  });
  after(async () => {
    for (const c of open) await c.close();
    await fake.close();
    removeTempDir(dir);
  });

  it('is stored as it arrives, in batches of at most 500, before synced; the connection never holds more', async () => {
    const store = new LocalStore(join(dir, 'batches.db'));
    const batches: number[] = [];
    let stored = 0;
    const addMany = store.addMany.bind(store);
    store.addMany = (ms, cursorFor) => {
      batches.push(ms.length);
      const fresh = addMany(ms, cursorFor);
      stored += fresh.length;
      return fresh;
    };
    const c = client(store);
    let shown = 0;
    let storedWhenShown = true;
    c.on('message', () => {
      shown++;
      // A message shown is a message stored (its batch committed before any of it is shown).
      if (stored < shown) storedWhenShown = false;
    });
    await c.start();
    const conn = await streamBacklog();
    await until(c, ['message'], () => shown === BACKLOG, 60_000, 'the whole backlog to be shown');
    // synced has not even been sent: everything is on disk already, and so is the cursor.
    assert.equal(store.count(), BACKLOG);
    assert.equal(store.lastSeen(c.username), BACKLOG);
    assert.ok(storedWhenShown, 'every message was stored before it was shown');
    assert.ok(Math.max(...batches) <= 500, `largest batch held: ${Math.max(...batches)}`);
    assert.ok(batches.length >= BACKLOG / 500, `${batches.length} transactions`);
    const synced = new Promise<{ missed: number }>((resolve) => c.once('synced', resolve));
    conn.send({ type: 'synced', last_id: BACKLOG, missed: BACKLOG });
    assert.deepEqual(await synced, { missed: BACKLOG });
    await c.close();
    store.close();
  });

  it('the terminal shows the newest 200 under a count, the rest is in the local history', async () => {
    const c = client();
    const t = fakeTty();
    const done = runChatUi(c, { input: t.input, output: t.output, color: false, timeZone: 'UTC' });
    const conn = await streamBacklog();
    conn.send({ type: 'synced', last_id: BACKLOG, missed: BACKLOG });
    await until(c, ['synced'], () => t.text().includes('missed while you were away'), 60_000, 'the backlog on screen');
    // flushMissed prints in one go after synced; read once the prompt is back.
    t.input.write('/quit\r');
    assert.equal(await done, 0);
    const lines = t.text().split(/\r?\n/);
    const sep = lines.findIndex((l) => l.includes(`── ${BACKLOG} missed while you were away ──`));
    assert.ok(sep >= 0, 'the separator counts every missed message');
    assert.match(lines[sep + 1]!, new RegExp(`\\(${BACKLOG - 200} older ones are in the local history; /history shows more\\)`));
    const shown = lines.slice(sep + 2).filter((l) => / bob: backlog message \d+$/.test(l));
    assert.equal(shown.length, 200);
    assert.match(shown[0]!, new RegExp(`backlog message ${BACKLOG - 199}$`));
    assert.match(shown[199]!, new RegExp(`backlog message ${BACKLOG}$`));
    const store = new LocalStore(join(dir, `u${n}.db`));
    assert.equal(store.count(), BACKLOG);
    store.close();
  });

  it('pipe mode into a slow reader: reading from the server stops while stdout is full, then every line comes', async () => {
    const c = client();
    const input = Object.assign(new PassThrough(), { isTTY: false });
    input.end();
    // Nobody reads `out` until the client has paused: its buffer is what the client would hold.
    const out = new PassThrough();
    // At every pause, once the read that filled `out` is fully handled: what waits unwritten.
    const held: number[] = [];
    const paused = new Promise<void>((resolve) => {
      const pause = c.pauseInbound.bind(c);
      c.pauseInbound = () => {
        pause();
        queueMicrotask(() => {
          held.push(out.writableLength + out.readableLength);
          resolve();
        });
      };
    });
    const err = new PassThrough();
    const done = runChatUi(c, { input, output: out, errorOutput: err, pipe: true, timeZone: 'UTC' });
    const conn = await streamBacklog();
    conn.send({ type: 'synced', last_id: BACKLOG, missed: BACKLOG });
    await Promise.race([paused, done.then(() => assert.fail('the client never stopped reading while its output was full'))]);
    let lines = 0;
    let last = '';
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      const parts = chunk.split('\n');
      lines += parts.length - 1;
      if (parts.length > 1) last = parts[parts.length - 2]!;
    });
    assert.equal(await done, 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines, BACKLOG);
    assert.match(last, new RegExp(`lobby bob: backlog message ${BACKLOG}$`));
    const total = BACKLOG * '00:16:41 lobby bob: backlog message 12345\n'.length;
    const most = Math.max(...held);
    assert.ok(most < 256 * 1024 && most < total / 10, `held at most ${most} bytes of about ${total}, over ${held.length} pauses`);
  });
});
