/**
 * The board beyond the original: keep-alive, timeouts, limits, GET<n>, streaming of long
 * boards, and durability (an answer means stored) — over real TCP.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { LocalBus } from '../../src/bus/local.js';
import { createClassicGateway } from '../../src/gateway/classic.js';
import { silentLogger } from '../../src/log/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { NewMessage } from '../../src/store/types.js';
import { BoardClient, ask, exchange, startBoard, type Board } from '../fixtures/classic/harness.js';

async function withBoard(options: Parameters<typeof startBoard>[0], fn: (b: Board) => Promise<void>, now?: () => number): Promise<void> {
  const b = await startBoard(options, now);
  try {
    await fn(b);
  } finally {
    await b.stop();
  }
}

const msg = (content: string, username = 'classic@10.0.0.1'): NewMessage => ({
  uid: null, username, room: 'lobby', to: null, subject: null, content, timestamp: 1, remote: null,
});

describe('classic board: keep-alive', () => {
  it('KEEP% keeps the connection and answers every later request in order, across writes', () =>
    withBoard({}, async (b) => {
      const c = await BoardClient.connect(b.port);
      c.write('KEEP%');
      assert.equal(await c.next(), 'MSGKeep-Alive On%');
      c.write('POSTfir');
      c.write('st%POSTsecond%GE');
      assert.equal(await c.next(), 'MSGPosting Message!%');
      assert.equal(await c.next(), 'MSGPosting Message!%');
      c.write('T%');
      assert.equal(await c.next(), "MSG[(1, 'Server has Started'), (2, 'first'), (3, 'second')]%");
      c.write('NOPE%GET1%');
      assert.equal(await c.next(), 'ERRUnknown Command%');
      assert.equal(await c.next(), "MSG[(3, 'second')]%");
      assert.equal(c.closed, false);
      c.socket.end();
      await c.closedPromise;
      assert.equal(c.rest, '', 'nothing more after the client closed');
    }));

  it('KEEP% within the first write keeps the connection too', () =>
    withBoard({}, async (b) => {
      const c = await BoardClient.connect(b.port);
      c.write('POSTx%KEEP%GET%');
      assert.equal(await c.next(), 'MSGPosting Message!%');
      assert.equal(await c.next(), 'MSGKeep-Alive On%');
      assert.equal(await c.next(), "MSG[(1, 'Server has Started'), (2, 'x')]%");
      c.write('GET0%');
      assert.equal(await c.next(), 'MSG[]%');
      c.close();
    }));

  it('after KEEP%, requests can be typed one per line (as into nc) without timing out', () =>
    withBoard({ requestTimeoutMs: 100, idleTimeoutMs: 10_000 }, async (b) => {
      const c = await BoardClient.connect(b.port);
      c.write('KEEP%\n');
      assert.equal(await c.next(), 'MSGKeep-Alive On%');
      // Nothing can be awaited to show that no timeout fires: give it twice the request timeout.
      await new Promise((r) => setTimeout(r, 200));
      c.write('GET0%\r\n');
      assert.equal(await c.next(), 'MSG[]%');
      c.write('POSTtyped%\n');
      assert.equal(await c.next(), 'MSGPosting Message!%');
      c.write('\nGET1%\n');
      assert.equal(await c.next(), "MSG[(2, 'typed')]%");
      assert.equal(c.closed, false);
      c.close();
    }));

  it('a kept connection idle past the idle timeout is closed without a word', () =>
    withBoard({ idleTimeoutMs: 150 }, async (b) => {
      const c = await BoardClient.connect(b.port);
      c.write('KEEP%');
      assert.equal(await c.next(), 'MSGKeep-Alive On%');
      const t0 = performance.now();
      await c.closedPromise;
      assert.ok(performance.now() - t0 >= 100, 'not before the timeout');
      assert.equal(c.rest, '');
    }));

  it('a client that half-closes after its requests still gets every answer', () =>
    withBoard({}, async (b) => {
      const r = await exchange(b.port, [Buffer.from('KEEP%POSTa%'), Buffer.from('POSTb%GET%')], { shutdown: true });
      assert.equal(r.answer.toString(), "MSGKeep-Alive On%MSGPosting Message!%MSGPosting Message!%MSG[(1, 'Server has Started'), (2, 'a'), (3, 'b')]%");
      assert.ok(r.closed);
    }));
});

describe('classic board: timeouts and overload', () => {
  it('a request cut off mid-way gets ERRTimeout!% after the request timeout, then the close', () =>
    withBoard({ requestTimeoutMs: 200 }, async (b) => {
      const c = await BoardClient.connect(b.port);
      const t0 = performance.now();
      c.write('POSTno end in sight');
      assert.equal(await c.next(), 'ERRTimeout!%');
      assert.ok(performance.now() - t0 >= 150, 'waited for the rest first');
      await c.closedPromise;
      assert.equal((await b.store.count()), 1, 'nothing stored');
    }));

  it('the timeout also applies after KEEP%, counted from the start of the cut-off request', () =>
    withBoard({ requestTimeoutMs: 200, idleTimeoutMs: 10_000 }, async (b) => {
      const c = await BoardClient.connect(b.port);
      c.write('KEEP%');
      assert.equal(await c.next(), 'MSGKeep-Alive On%');
      c.write('GE');
      assert.equal(await c.next(), 'ERRTimeout!%');
      await c.closedPromise;
    }));

  it('a connection that says nothing gets ERRTimeout!% on the board port', () =>
    withBoard({ requestTimeoutMs: 150 }, async (b) => {
      const r = await exchange(b.port, []);
      assert.equal(r.answer.toString(), 'ERRTimeout!%');
      assert.ok(r.closed);
    }));

  it('4000 bytes without % overload a kept connection too', () =>
    withBoard({}, async (b) => {
      const c = await BoardClient.connect(b.port);
      c.write('KEEP%GET1%');
      assert.equal(await c.next(), 'MSGKeep-Alive On%');
      assert.equal(await c.next(), "MSG[(1, 'Server has Started')]%");
      c.write('POST' + 'z'.repeat(2000));
      c.write('z'.repeat(1996));
      assert.equal(await c.next(), 'ERRBuffer Overloaded%');
      await c.closedPromise;
    }));
});

describe('classic board: storing', () => {
  it('answers a POST only once it is stored, then records who posted and when', async () => {
    const store = new SqliteStore(':memory:');
    const events: string[] = [];
    const append = store.append.bind(store);
    store.append = async (batch) => {
      const r = await append(batch);
      events.push(`stored ${batch.map((m) => m.content).join(',')}`);
      return r;
    };
    const gateway = await createClassicGateway({ store, log: silentLogger(), options: { ratePerSecond: 0 }, now: () => 1_700_000_000_000 });
    const { port } = await gateway.listen(0, '127.0.0.1');
    try {
      const c = await BoardClient.connect(port);
      c.write('KEEP%POSTdurable%');
      await c.next();
      assert.equal(await c.next(), 'MSGPosting Message!%');
      events.push('answered');
      assert.deepEqual(events, ['stored Server has Started', 'stored durable', 'answered']);
      const [first, m] = await store.page('lobby', 0, 10);
      assert.equal(first!.content, 'Server has Started');
      assert.equal(first!.id, 1);
      assert.equal(m!.username, 'classic@127.0.0.1');
      assert.equal(m!.room, 'lobby');
      assert.equal(m!.to, null);
      assert.equal(m!.timestamp, 1_700_000_000);
      assert.match(m!.remote ?? '', /^127\.0\.0\.1:\d+$/);
      assert.equal(m!.remote, `127.0.0.1:${c.socket.localPort}`);
      c.close();
    } finally {
      await gateway.close();
      await store.close();
    }
  });

  it('stores "Server has Started" only on an empty store', async () => {
    const store = new SqliteStore(':memory:');
    const bus = new LocalBus();
    const seen: string[] = [];
    bus.subscribe((e) => e.kind === 'message' && seen.push(e.message.content));
    for (let i = 0; i < 2; i++) await (await createClassicGateway({ store, bus, log: silentLogger() })).close();
    assert.equal(await store.count(), 1);
    assert.deepEqual(seen, ['Server has Started'], 'published once, so chat users in the lobby see it');
    await store.close();
  });

  it('text that is not UTF-8 is refused and not stored', () =>
    withBoard({}, async (b) => {
      assert.equal(await ask(b.port, Buffer.from([0x50, 0x4f, 0x53, 0x54, 0xc3, 0x28, 0x25])), 'ERRInvalid UTF-8%');
      assert.equal(await b.store.count(), 1);
    }));
});

describe('classic board: GET', () => {
  it('GET<n>% lists only the newest n, in order', () =>
    withBoard({ pageSize: 2 }, async (b) => {
      await b.store.append(['a', 'b', 'c', 'd', 'e'].map((t) => msg(t)));
      assert.equal(await ask(b.port, 'GET2%'), "MSG[(5, 'd'), (6, 'e')]%");
      assert.equal(await ask(b.port, 'GET5%'), "MSG[(2, 'a'), (3, 'b'), (4, 'c'), (5, 'd'), (6, 'e')]%");
      assert.equal(await ask(b.port, 'GET100%'), "MSG[(1, 'Server has Started'), (2, 'a'), (3, 'b'), (4, 'c'), (5, 'd'), (6, 'e')]%");
      assert.equal(await ask(b.port, 'GET0%'), 'MSG[]%');
    }));

  it('lists only room messages of the lobby', () =>
    withBoard({}, async (b) => {
      await b.store.append([{ ...msg('secret', 'alice'), to: 'bob' }, { ...msg('elsewhere', 'alice'), room: 'other' }, msg('here', 'alice')]);
      assert.equal(await ask(b.port, 'GET%'), "MSG[(1, 'Server has Started'), (4, 'alice: here')]%");
    }));

  it('streams a long board page by page while other clients are served', () =>
    withBoard({ pageSize: 200, idleTimeoutMs: 10_000, window: 0 }, async (b) => {
      const n = 20_000;
      const text = (i: number) => `message ${i} ` + 'x'.repeat(100);
      await b.store.append(Array.from({ length: n }, (_, i) => msg(text(i))));
      // A reads nothing at first: its GET cannot finish (2 MB do not fit in the socket buffers).
      const a = await BoardClient.connect(b.port);
      a.socket.pause();
      a.write('GET%');
      const t0 = performance.now();
      assert.equal(await ask(b.port, 'GET1%'), `MSG[(${n + 1}, '${text(n - 1)}')]%`);
      assert.ok(performance.now() - t0 < 2000, 'answered while the long GET waits for its reader');
      assert.equal(a.rest, '', 'the long GET is still pending');
      a.socket.resume();
      const all = await a.next(10_000);
      assert.ok(all.startsWith("MSG[(1, 'Server has Started'), (2, 'message 0 "));
      assert.ok(all.endsWith(`(${n + 1}, '${text(n - 1)}')]%`));
      assert.equal(all.match(/\(\d+, '/g)?.length, n + 1);
      await a.closedPromise;
    }));
});

describe('classic board: limits', () => {
  it('refuses connections past the limit per address', () =>
    withBoard({ maxConnectionsPerAddress: 2 }, async (b) => {
      const kept: BoardClient[] = [];
      for (let i = 0; i < 2; i++) {
        const c = await BoardClient.connect(b.port);
        c.write('KEEP%');
        assert.equal(await c.next(), 'MSGKeep-Alive On%');
        kept.push(c);
      }
      const third = await exchange(b.port, [Buffer.from('GET%')]);
      assert.equal(third.answer.toString(), 'ERRToo Many Connections%');
      assert.ok(third.closed);
      kept[0]!.close();
      await kept[0]!.closedPromise;
      while (b.gateway.connections > 1) await new Promise((r) => setImmediate(r));
      assert.equal(await ask(b.port, 'GET0%'), 'MSG[]%', 'a place freed is taken again');
      kept[1]!.close();
    }));

  it('answers ERRToo Many Requests% past the rate per address, and serves again once time passed', async () => {
    let t = 1_000_000;
    await withBoard({ ratePerSecond: 1, rateBurst: 2 }, async (b) => {
      const c = await BoardClient.connect(b.port);
      c.write('KEEP%GET0%POSTa%GET0%');
      assert.equal(await c.next(), 'MSGKeep-Alive On%');
      assert.equal(await c.next(), 'MSG[]%');
      assert.equal(await c.next(), 'MSGPosting Message!%');
      assert.equal(await c.next(), 'ERRToo Many Requests%');
      // The limit is per address, not per connection.
      assert.equal(await ask(b.port, 'GET0%'), 'ERRToo Many Requests%');
      t += 1000;
      c.write('GET1%');
      assert.equal(await c.next(), "MSG[(2, 'a')]%");
      c.close();
    }, () => t);
  });

  it('refuses posts once the store holds the maximum, and still lists', () =>
    withBoard({ maxMessages: 3 }, async (b) => {
      assert.equal(await ask(b.port, 'POSTone%'), 'MSGPosting Message!%');
      assert.equal(await ask(b.port, 'POSTtwo%POSTthree%'), 'MSGPosting Message!%ERRBoard Full%');
      assert.equal(await ask(b.port, 'GET%'), "MSG[(1, 'Server has Started'), (2, 'one'), (3, 'two')]%");
      assert.equal(await b.store.count(), 3);
    }));

  it('closes open connections when the board stops', async () => {
    const b = await startBoard({});
    const c = await BoardClient.connect(b.port);
    c.write('KEEP%');
    await c.next();
    await b.stop();
    await c.closedPromise;
  });
});
