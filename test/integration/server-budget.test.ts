/**
 * The connection budget inside one process (src/server/connection-budget.ts): the chat port and
 * the classic board's own port draw on the same descriptors, so one address is capped across
 * both while other addresses still get in; and a full descriptor table is logged once per
 * window, with a count, however often it is seen. The open-file limit and the probe are injected.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import pino from 'pino';
import { createClassicGateway, type ClassicBoardServer } from '../../src/gateway/classic.js';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';

const skip = process.platform !== 'linux' ? 'needs the 127.0.0.0/8 loopback of Linux' : false;

/** A logger whose lines the test reads. */
function capture(): { log: pino.Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** Connects to the board's own port from `localAddress` and returns its first answer to KEEP%. */
async function board(port: number, localAddress: string): Promise<{ socket: net.Socket; first: string }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write('KEEP%');
  let text = '';
  const first = await new Promise<string>((resolve) => {
    socket.on('data', (c: Buffer) => {
      text += c.toString();
      const end = text.indexOf('%');
      if (end >= 0) resolve(text.slice(0, end + 1));
    });
    socket.once('close', () => resolve(text));
  });
  return { socket, first };
}

describe('one connection budget for the chat and the classic board', { skip }, () => {
  let ts: TestServer;
  let gateway: ClassicBoardServer;
  const open: Array<{ close(): unknown }> = [];
  after(async () => {
    for (const c of open) await c.close();
    await gateway?.close();
    await ts?.stop();
    if (ts) removeDir(ts.dir);
  });

  it('caps one address across both ports, leaves room for others, and frees a place when one closes', async () => {
    const { log, lines } = capture();
    // fdLimit 100, 20 kept: 80 for connections, 10 % of them (8) for one address.
    ts = await startServer({ fdReserve: 20, addressSharePercent: 10 }, { fdLimit: 100, log });
    assert.deepEqual([ts.server.budget.caps.maxConnections, ts.server.budget.caps.maxConnectionsPerAddress], [80, 8]);
    assert.ok(lines.some((l) => l.level === 40 && /^open-file limit is 100: at most 80 connections \(8 per address\)/.test(l.msg)), 'one warning line at start');
    gateway = await createClassicGateway({ store: ts.store, committer: ts.server.committer, log, budget: ts.server.budget });
    const boardPort = (await gateway.listen(0, '127.0.0.1')).port;

    const chats: WireClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await WireClient.connect(ts.port, 'plain', '127.0.0.1', '127.0.0.2');
      open.push(c);
      c.send({ type: 'hello', username: `chat${i}` });
      await c.next('synced');
      chats.push(c);
    }
    const boards = [];
    for (let i = 0; i < 3; i++) {
      const b = await board(boardPort, '127.0.0.2');
      open.push({ close: () => b.socket.destroy() });
      assert.equal(b.first, 'MSGKeep-Alive On%');
      boards.push(b);
    }
    assert.equal(ts.server.budget.from('127.0.0.2'), 8);
    const refusedBoard = await board(boardPort, '127.0.0.2');
    assert.equal(refusedBoard.first, 'ERRToo Many Connections%', 'the board\'s own cap (64) is not reached: the shared budget refused');
    const refusedChat = await WireClient.connect(ts.port, 'plain', '127.0.0.1', '127.0.0.2');
    open.push(refusedChat);
    assert.equal((await refusedChat.next('error')).code, 'server_busy');

    const other = await WireClient.connect(ts.port, 'plain', '127.0.0.1', '127.0.0.3');
    open.push(other);
    other.send({ type: 'hello', username: 'other' });
    await other.next('synced');
    const otherBoard = await board(boardPort, '127.0.0.3');
    open.push({ close: () => otherBoard.socket.destroy() });
    assert.equal(otherBoard.first, 'MSGKeep-Alive On%');

    boards[0]!.socket.destroy();
    while (ts.server.budget.from('127.0.0.2') > 7) await new Promise((r) => setImmediate(r));
    const again = await WireClient.connect(ts.port, 'plain', '127.0.0.1', '127.0.0.2');
    open.push(again);
    again.send({ type: 'hello', username: 'again' });
    await again.next('synced');
    const refusals = lines.filter((l) => /refused/.test(l.msg));
    assert.ok(refusals.length >= 1 && refusals.every((l) => l.remote === '127.0.0.2'), JSON.stringify(refusals));
  });
});

describe('a full descriptor table', () => {
  it('is logged once per window with how many times it was seen, and the server goes on', async () => {
    const { log, lines } = capture();
    let clock = 1_000_000;
    let probes = 0;
    let table: 'ok' | 'EMFILE' = 'EMFILE';
    const ts = await startServer({ helloTimeoutMs: 80 }, {
      log,
      now: () => clock,
      fdProbe: () => {
        probes++;
        return table;
      },
    });
    try {
      const emfile = () => lines.filter((l) => /^out of file descriptors \(EMFILE\)/.test(l.msg));
      // Sweeps run every 20 ms of real time; the injected clock stands still, so all are one window.
      while (probes < 6) await new Promise((r) => setTimeout(r, 10));
      assert.equal(emfile().length, 1, 'one line for six sightings in one window');
      clock += 10_000;
      const seen = probes;
      while (probes < seen + 2) await new Promise((r) => setTimeout(r, 10));
      const [, second] = emfile();
      const summary = lines.find((l) => l.msg === 'more of the same since the last line');
      assert.ok((second?.skipped ?? 0) >= 4 || (summary?.count ?? 0) >= 4, `the next window tells how many were left out: ${JSON.stringify(lines.slice(-3))}`);
      table = 'ok';
      const { c } = await WireClient.login(ts.port, 'still-serving');
      await c.close();
    } finally {
      await ts.stop();
      removeDir(ts.dir);
    }
  });
});
