/**
 * A fault stays in its session (docs/architecture.md): an exception that no protocol rule
 * explains (a bug), thrown while a connection's bytes are handled, closes that connection alone,
 * with `internal` (repeater) or `ERRServer Error%` (classic board), is logged once with its
 * stack, and everyone else goes on. Bugs are injected by swapping a handler in the table, or by
 * dependencies that throw.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import pino from 'pino';
import { HANDLERS } from '../../src/server/handlers/index.js';
import type { Handler } from '../../src/server/handlers/types.js';
import { ClassicConnection } from '../../src/gateway/connection.js';
import { classicOptions } from '../../src/gateway/config.js';
import type { Board } from '../../src/gateway/board.js';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';

/** `p`, or a failure naming `what` after `ms` (a connection left open must fail, not hang the test). */
function within<T>(p: Promise<T>, what: string, ms = 3000): Promise<T> {
  let t!: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** A pino logger that keeps its lines in memory. */
function memoryLog(): { log: pino.Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('repeater session: an unexpected exception closes that connection alone', () => {
  let ts: TestServer;
  let mem: ReturnType<typeof memoryLog>;
  let alice: WireClient;
  let bob: WireClient;
  const original = HANDLERS.ping;
  let n = 0;

  before(async () => {
    mem = memoryLog();
    ts = await startServer({}, { log: mem.log });
    alice = (await WireClient.login(ts.port, 'alice')).c;
    bob = (await WireClient.login(ts.port, 'bob')).c;
  });
  afterEach(() => {
    HANDLERS.ping = original;
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await ts.stop();
    removeDir(ts.dir);
  });

  async function othersStillChat(): Promise<void> {
    const uid = `still-${++n}`;
    alice.send({ type: 'message', uid, content: 'still here?' });
    await alice.next((p) => p.type === 'ack' && p.uid === uid);
    await bob.next((p) => p.type === 'message' && p.uid === uid);
  }

  /** The victim gets `internal` and is closed; the bug is logged once, with its stack. */
  async function assertContained(victim: WireClient, bug: string): Promise<void> {
    const err = await victim.next('error');
    assert.equal(err.code, 'internal');
    await within(victim.closedPromise, 'the server to close the connection');
    const logged = mem.lines.filter((l) => l.err?.message === bug);
    assert.equal(logged.length, 1, `logged once: ${JSON.stringify(logged)}`);
    assert.match(logged[0]!.err.stack, new RegExp(bug));
    assert.equal(logged[0]!.level, 50, 'at error level');
    await othersStillChat();
  }

  it('a handler that throws synchronously', async () => {
    HANDLERS.ping = { ...original, handle: () => { throw new TypeError('sync bug'); } };
    const victim = (await WireClient.login(ts.port, 'victim1')).c;
    victim.send({ type: 'ping' });
    victim.send({ type: 'ping' }); // a second frame in the same read must not log the bug again
    await assertContained(victim, 'sync bug');
  });

  it('a handler whose promise rejects', async () => {
    HANDLERS.ping = { ...original, handle: async () => { throw new RangeError('async bug'); } };
    const victim = (await WireClient.login(ts.port, 'victim2')).c;
    victim.send({ type: 'ping' });
    await assertContained(victim, 'async bug');
  });

  it('an exception outside the handler call, straight from the socket\'s data event', async () => {
    // The session reads the table's metadata before it calls the handler: a getter that throws
    // there reaches the session boundary itself.
    HANDLERS.ping = Object.defineProperty({ ...original }, 'postHello', { get: () => { throw new Error('boundary bug'); } }) as Handler;
    const victim = (await WireClient.login(ts.port, 'victim3')).c;
    victim.send({ type: 'ping' });
    await assertContained(victim, 'boundary bug');
  });

  it('a client that resets its connection after being refused as not Lab-93 (no classic board here) harms nobody', async () => {
    // Found by the network fuzz against a peer (whose chat port has no classic board): the refusal
    // dropped the socket's error listener, so the reset's ECONNRESET ended the process.
    for (let i = 0; i < 3; i++) {
      const s = net.connect(ts.port, '127.0.0.1');
      await once(s, 'connect');
      s.write('GET%\n');
      const [answer] = (await within(once(s, 'data'), 'the refusal')) as [Buffer];
      assert.match(answer.toString(), /"code":"bad_frame"/);
      s.resetAndDestroy();
      await once(s, 'close');
    }
    await new Promise((r) => setTimeout(r, 100)); // the reset reaches the server
    await othersStillChat();
  });

  it('the crash line of issue 8, plain and base64, gets an error frame and harms nobody', async () => {
    const line = String.raw`{'username': 'x', 'content': '\U00110000'}`;
    for (const [mode, data] of [['plain', line + '\n'], ['base64', Buffer.from(line).toString('base64') + '\n']] as const) {
      const c = await WireClient.connect(ts.port, mode);
      c.sendRaw(data);
      const err = await c.next('error');
      assert.equal(err.code, 'bad_frame');
      assert.match(err.message, /above U\+10FFFF/);
      await within(c.closedPromise, 'the server to close the connection');
    }
    await othersStillChat();
  });
});

describe('classic connection: an unexpected exception closes that connection alone', () => {
  const fakeBoard = { post: async () => 'posted', list: async function* () { yield 'MSG[]%'; } } as unknown as Board;
  let server: net.Server;
  let port: number;
  let make: (socket: net.Socket) => void;

  before(async () => {
    server = net.createServer((s) => make(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  /** Connects, sends `data`, and returns all the server wrote before it closed. */
  async function exchange(data: string): Promise<string> {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    await once(c, 'connect');
    c.write(data);
    await within(once(c, 'close'), 'the server to close the connection');
    return Buffer.concat(chunks).toString();
  }

  function serve(deps: { take?: () => boolean; opts?: object }): { lines: Array<Record<string, any>>; closed: Promise<void> } {
    const mem = memoryLog();
    let closed!: () => void;
    const p = new Promise<void>((r) => (closed = r));
    make = (socket) => {
      new ClassicConnection(socket, { board: fakeBoard, opts: (deps.opts ?? classicOptions({ lingerMs: 200 })) as ReturnType<typeof classicOptions>, log: mem.log, address: '127.0.0.1', take: deps.take ?? (() => true), onClose: closed }, Buffer.alloc(0));
    };
    return { lines: mem.lines, closed: p };
  }

  it('a failure while answering: ERRServer Error%, close, logged once with its stack', async () => {
    const s = serve({ take: () => { throw new Error('classic answer bug'); } });
    assert.equal(await exchange('KEEP%GET%GET%'), 'MSGKeep-Alive On%ERRServer Error%');
    await within(s.closed, 'the connection to close');
    const logged = s.lines.filter((l) => l.err?.message === 'classic answer bug');
    assert.equal(logged.length, 1);
    assert.match(logged[0]!.err.stack, /classic answer bug/);
  });

  it("a failure straight from the socket's data event: the same", async () => {
    const opts = classicOptions({ lingerMs: 200 });
    // After KEEP%, reading on checks the read-ahead limit: make that read throw.
    const broken = new Proxy(opts, { get: (t, k) => { if (k === 'maxQueuedRequests') throw new Error('classic data bug'); return Reflect.get(t, k); } });
    const s = serve({ opts: broken });
    assert.equal(await exchange('KEEP%GET%'), 'ERRServer Error%');
    await within(s.closed, 'the connection to close');
    assert.equal(s.lines.filter((l) => l.err?.message === 'classic data bug').length, 1);
  });

  it('a healthy connection afterwards is answered as usual', async () => {
    serve({});
    assert.equal(await exchange('GET%'), 'MSG[]%');
  });
});
