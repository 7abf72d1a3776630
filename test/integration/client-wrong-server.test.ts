/**
 * Talking to the wrong thing (issue 11, item 5): `lab93 connect` to a port that answers, but not
 * as a lab93 chat server, says so once and stops; it does not reconnect forever with the message
 * stuck in the outbox. A real lab93 server that answers with an error first is not mistaken for one.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { RepeaterConnection } from '../../src/client/connection.js';
import { describeWrongServer } from '../../src/client/wrong-server.js';
import { createClassicGateway, type ClassicBoardServer } from '../../src/gateway/classic.js';
import { silentLogger } from '../../src/log/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { runCli } from '../helpers/client-cli.js';
import { clientTempDir, nextEvent, removeTempDir } from '../helpers/client-server.js';

/** A TCP server that answers each connection with `reply(firstChunk)`, counting connections. */
async function oddServer(reply: (first: Buffer, s: net.Socket) => void): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const srv = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    s.once('data', (d) => reply(d, s));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => n,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

describe('a port that is not a lab93 chat server', () => {
  let dir: string;
  let board: ClassicBoardServer;
  let boardStore: SqliteStore;
  let boardPort: number;

  before(async () => {
    dir = clientTempDir();
    boardStore = new SqliteStore(':memory:');
    // The board answers our hello line (no '%' in it) when its request timeout ends: 200 ms here, 5 s by default.
    board = await createClassicGateway({ store: boardStore, log: silentLogger(), options: { requestTimeoutMs: 200, lingerMs: 100 } });
    boardPort = (await board.listen(0, '127.0.0.1')).port;
  });
  after(async () => {
    await board.close();
    await boardStore.close();
    removeTempDir(dir);
  });

  const connection = (port: number): RepeaterConnection =>
    new RepeaterConnection({ host: '127.0.0.1', port, username: 'alice', dbPath: join(dir, `alice-${port}.db`), backoffInitialMs: 20, backoffMaxMs: 50 });

  it('the classic board: one fatal line naming it, no reconnect, the message kept in the outbox', async () => {
    const c = connection(boardPort);
    const states: string[] = [];
    c.on('state', (s: string) => states.push(s));
    const fatal = nextEvent<[string]>(c, 'fatal');
    c.send({ content: 'hello?', room: 'lobby' });
    await c.start();
    const [reason] = await fatal;
    assert.equal(reason, `127.0.0.1:${boardPort} is not a lab93 chat server (it answered like the classic board)`);
    assert.deepEqual(states, ['offline']);
    assert.equal(c.pendingCount(), 1, 'the message stays queued');
    // With a 20 ms backoff a reconnect would have come long before the next answer.
    const again = nextEvent(c, 'state', () => true, 400).then(() => 'reconnected', () => 'stayed down');
    assert.equal(await again, 'stayed down');
    await c.close();
  });

  it('a web server, an SSH server, an echo: each named; a lab93 server refusing at first is not', async () => {
    const cases: Array<[(d: Buffer, s: net.Socket) => void, string]> = [
      [(_d, s) => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'), 'it answered like a web server'],
      [(_d, s) => s.write('SSH-2.0-OpenSSH_9.6\r\n'), 'it answered like an SSH server'],
      [(d, s) => s.write(d), 'it sent back what it was sent'],
    ];
    for (const [reply, why] of cases) {
      const srv = await oddServer(reply);
      const c = connection(srv.port);
      const fatal = nextEvent<[string]>(c, 'fatal');
      await c.start();
      assert.equal((await fatal)[0], `127.0.0.1:${srv.port} is not a lab93 chat server (${why})`);
      await c.close();
      assert.equal(srv.connections(), 1);
      await srv.close();
    }
    // A lab93 server that is full answers with an error frame and closes: that is lab93, try again later.
    const busy = await oddServer((_d, s) => s.end(Buffer.from(JSON.stringify({ type: 'error', code: 'server_busy', message: 'full' })).toString('base64') + '\n'));
    const c = connection(busy.port);
    let fatal = false;
    c.on('fatal', () => (fatal = true));
    await c.start();
    await nextEvent(c, 'state', (s: string) => s === 'offline');
    await nextEvent(c, 'state', (s: string) => s === 'offline', 3000).catch(() => undefined);
    assert.ok(busy.connections() >= 2, 'it reconnected');
    assert.equal(fatal, false);
    await c.close();
    await busy.close();
  });

  it('describes what answered, whatever it was', () => {
    const hello = Buffer.from('eyJ0eXBlIjoiaGVsbG8ifQ==\n');
    assert.equal(describeWrongServer(Buffer.from('ERRTimeout!%'), hello), 'it answered like the classic board');
    assert.equal(describeWrongServer(Buffer.from('MSG[(1, \'hi\')]%'), hello), 'it answered like the classic board');
    assert.equal(describeWrongServer(Buffer.from('220 mail.example ESMTP\r\n'), hello), 'it answered "220 mail.example ESMTP"');
    assert.equal(describeWrongServer(Buffer.from('\x1b[2J\x07'), hello), 'it answered with bytes that are not lab93 frames');
  });

  it('lab93 connect (pipe mode) to the classic board: the line on stderr, exit 1 at once, what stayed unsent', async () => {
    const run = runCli(['connect', `127.0.0.1:${boardPort}`, '--name', 'piper'], { LAB93_DATA_DIR: join(dir, 'data') });
    run.proc.stdin.write('deploy started\n');
    const { code } = await run.exit;
    assert.equal(code, 1);
    const err = run.stderr().trim().split('\n');
    assert.deepEqual(err, [
      `lab93: 127.0.0.1:${boardPort} is not a lab93 chat server (it answered like the classic board)`,
      'lab93: 1 message(s) not sent; they stay queued and are sent the next time this runs against that server:',
      'lab93:   deploy started',
    ]);
  });
});
