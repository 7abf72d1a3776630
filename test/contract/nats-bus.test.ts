/**
 * The bus contract against NATS, plus what only a shared bus can show: two servers' buses on one
 * prefix each deliver every event exactly once (their own locally, the other's from NATS, in
 * publish order), prefixes keep clusters apart, and a dropped connection is re-established.
 * Every bus here uses a subject prefix of its own run; core NATS keeps nothing to clean up.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { connect } from 'nats';
import { createBus } from '../../src/bus/index.js';
import type { BusEvent } from '../../src/bus/types.js';
import { NatsBus, parseNatsUrl } from '../../src/bus/nats.js';
import { STORE_ORIGIN, type SequenceSource } from '../../src/bus/sequencer.js';
import type { StoredMessage } from '../../src/store/types.js';
import { nats, tcpProxy, uniqueName } from '../helpers/services.js';
import { busContract } from './bus-contract.js';

const service = await nats();

const message = (id: number, origin = 'c1'): BusEvent => ({
  kind: 'message',
  origin,
  message: { id, uid: `u${id}`, username: 'alice', room: 'lobby', to: null, subject: null, content: `m${id}`, timestamp: id, remote: null },
});
const ids = (evs: BusEvent[]): number[] => evs.map((e) => (e.kind === 'message' ? e.message.id : -1));

/** A subscriber's events, and a way to await the n-th one. */
function collector(): { got: BusEvent[]; handler: (e: BusEvent) => void; count(n: number, timeoutMs?: number): Promise<void> } {
  const got: BusEvent[] = [];
  let waiters: Array<() => void> = [];
  return {
    got,
    handler: (e) => {
      got.push(e);
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    },
    async count(n, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`waited for ${n} events, got ${JSON.stringify(ids(got))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

/** The shared store as the sequencer sees it: messages "committed" by the test. */
function fakeSource(): SequenceSource & { commit(...ids: number[]): BusEvent[] } {
  const rows: StoredMessage[] = [];
  return {
    async lastId() {
      return rows.at(-1)?.id ?? 0;
    },
    async range(after, upTo, limit) {
      return rows.filter((m) => m.id > after && m.id <= upTo).slice(0, limit);
    },
    commit(...ids) {
      const evs = ids.map((id) => message(id));
      for (const e of evs) if (e.kind === 'message') rows.push(e.message);
      rows.sort((a, b) => a.id - b.id);
      return evs;
    },
  };
}

/** A logger whose messages the test can await. */
function capturingLogger(): { log: pino.Logger; events: EventEmitter } {
  const events = new EventEmitter();
  const log = pino({ level: 'debug' }, { write: (line: string) => void events.emit('msg', (JSON.parse(line) as { msg: string }).msg) });
  return { log, events };
}
const logged = (events: EventEmitter, prefix: string): Promise<void> =>
  new Promise((resolve) => {
    const f = (m: string): void => {
      if (!m.startsWith(prefix)) return;
      events.off('msg', f);
      resolve();
    };
    events.on('msg', f);
  });

if (!service.ok) {
  it('NATS bus contract', { skip: service.reason }, () => {});
} else {
  const url = service.url;
  const open = new Set<NatsBus>();
  const make = async (prefix: string): Promise<NatsBus> => {
    const b = (await createBus({ driver: 'nats', url, prefix })) as NatsBus;
    open.add(b);
    return b;
  };
  /** Every open bus has round-tripped NATS, in turn: whatever was published has arrived. */
  const settle = async (): Promise<void> => {
    for (const b of open) await b.flush();
  };
  after(async () => {
    await Promise.all([...open].map((b) => b.close()));
  });

  const makeSequenced = async (prefix: string, source: SequenceSource, o: Partial<{ servers: string; log: pino.Logger }> = {}): Promise<NatsBus> => {
    const b = await NatsBus.connect({ servers: o.servers ?? url, prefix, source, sequencer: { graceMs: 30, pollMs: 50 }, reconnectTimeWaitMs: 50, ...(o.log ? { log: o.log } : {}) });
    open.add(b);
    return b;
  };

  busContract('NATS', () => make(uniqueName('lab93t')), settle);
  busContract('NATS, in id order from a store', () => makeSequenced(uniqueName('lab93t'), fakeSource()), settle);

  describe('NATS bus: several servers on one prefix', () => {
    it('each server gets every event exactly once, in each publisher\'s order', async () => {
      const prefix = uniqueName('lab93t');
      const a = await make(prefix);
      const b = await make(prefix);
      const gotA: BusEvent[] = [];
      const gotB: BusEvent[] = [];
      a.subscribe((e) => gotA.push(e));
      b.subscribe((e) => gotB.push(e));
      const presence: BusEvent = { kind: 'presence', room: 'lobby', username: 'bob', status: 'online', node: 'server-a' };
      for (let i = 1; i <= 50; i++) a.publish(message(i));
      a.publish(presence);
      for (let i = 101; i <= 150; i++) b.publish(message(i));
      await settle();
      await settle();
      const fromA = [...Array.from({ length: 50 }, (_, i) => i + 1), -1];
      const fromB = Array.from({ length: 50 }, (_, i) => i + 101);
      for (const got of [gotA, gotB]) {
        assert.equal(got.length, 101, 'no event lost, none twice');
        assert.deepEqual(ids(got).filter((id) => id <= 50), fromA);
        assert.deepEqual(ids(got).filter((id) => id > 100), fromB);
      }
      assert.deepEqual(gotB.find((e) => e.kind === 'presence'), presence);
    });

    it('an event from another server never carries a connection id of this one', async () => {
      const prefix = uniqueName('lab93t');
      const a = await make(prefix);
      const b = await make(prefix);
      const gotB: BusEvent[] = [];
      b.subscribe((e) => gotB.push(e));
      a.publish(message(1, 'c7'));
      b.publish(message(2, 'c7'));
      await settle();
      const [remote, own] = [gotB.find((e) => ids([e])[0] === 1)!, gotB.find((e) => ids([e])[0] === 2)!];
      assert.equal(own.kind === 'message' && own.origin, 'c7', 'its own event keeps its origin');
      assert.ok(remote.kind === 'message' && remote.origin !== 'c7' && remote.origin.endsWith('/c7'), 'c7 on server A is not c7 here');
    });

    it('another prefix is another cluster; garbage on the subject is dropped', async () => {
      const a = await make(uniqueName('lab93t'));
      const other = await make(uniqueName('lab93t'));
      const got: BusEvent[] = [];
      other.subscribe((e) => got.push(e));
      a.publish(message(1));
      const raw = await connect({ servers: url });
      raw.publish(other.subject, 'not json');
      raw.publish(other.subject, JSON.stringify({ v: 1, node: 'x', event: { kind: 'message', origin: 'c1' } }));
      await raw.flush();
      await raw.close();
      await settle();
      assert.deepEqual(got, []);
    });

    it('without a store, what is published while cut off from NATS is lost to the others; the subscription comes back', async () => {
      const prefix = uniqueName('lab93t');
      const proxy = await tcpProxy(Number(new URL(url).port));
      const { log, events } = capturingLogger();
      const viaProxy = await NatsBus.connect({ servers: `127.0.0.1:${proxy.port}`, prefix, log, reconnectTimeWaitMs: 50 });
      open.add(viaProxy);
      try {
        const direct = await make(prefix);
        const p = collector();
        const d = collector();
        viaProxy.subscribe(p.handler);
        direct.subscribe(d.handler);
        proxy.block = true;
        const down = logged(events, 'nats: disconnected');
        proxy.cut();
        await down;
        viaProxy.publish(message(1)); // nats.js drops what is published while disconnected
        const up = logged(events, 'nats: reconnected');
        proxy.block = false;
        await up;
        await viaProxy.flush(); // its subscription is registered again on the server
        direct.publish(message(2));
        await p.count(2);
        await settle();
        assert.deepEqual(ids(p.got), [1, 2], 'its own event locally, the other after the reconnect');
        assert.deepEqual(ids(d.got), [2]);
      } finally {
        open.delete(viaProxy);
        await viaProxy.close();
        await proxy.close();
      }
    });
  });

  describe('NATS bus with the shared store: id order, no gaps', () => {
    it('messages committed in one order and published in another reach every server in id order', async () => {
      const prefix = uniqueName('lab93t');
      const source = fakeSource();
      const a = await makeSequenced(prefix, source);
      const b = await makeSequenced(prefix, source);
      const ca = collector();
      const cb = collector();
      a.subscribe(ca.handler);
      b.subscribe(cb.handler);
      const [m1, m2, m3] = source.commit(1, 2, 3);
      // B's #2 and #3 go out before A's #1 (A's commit answer was slower).
      b.publish({ ...(m2 as any), origin: 'c2' });
      b.publish({ ...(m3 as any), origin: 'c3' });
      a.publish({ ...(m1 as any), origin: 'c1' });
      await Promise.all([ca.count(3), cb.count(3)]);
      await settle();
      assert.deepEqual(ids(ca.got), [1, 2, 3]);
      assert.deepEqual(ids(cb.got), [1, 2, 3]);
      // Held local events keep their origin, so their sender is still skipped on its own server.
      assert.deepEqual(cb.got.map((e) => (e as any).origin).slice(1), ['c2', 'c3']);
      assert.equal((ca.got[0] as any).origin, 'c1');
      assert.ok(cb.got.every((e, i) => i === 0 || (e as any).origin !== STORE_ORIGIN), 'nothing read from the store when NATS delivered it');
    });

    it('a message lost on the wire is read from the store, in its place', async () => {
      const prefix = uniqueName('lab93t');
      const source = fakeSource();
      const a = await makeSequenced(prefix, source);
      const b = await makeSequenced(prefix, source);
      const cb = collector();
      b.subscribe(cb.handler);
      const [m1, , m3] = source.commit(1, 2, 3); // #2 committed, its event never published
      a.publish(m1!);
      a.publish(m3!);
      await cb.count(3);
      assert.deepEqual(ids(cb.got), [1, 2, 3]);
      assert.equal((cb.got[1] as any).origin, STORE_ORIGIN);
    });

    it('a message nobody announced at all arrives by the store poll', async () => {
      const prefix = uniqueName('lab93t');
      const source = fakeSource();
      const b = await makeSequenced(prefix, source);
      const cb = collector();
      b.subscribe(cb.handler);
      source.commit(1);
      await cb.count(1);
      assert.deepEqual(ids(cb.got), [1]);
    });

    it('ids that never committed (a rolled-back batch) are skipped, not waited for', async () => {
      const prefix = uniqueName('lab93t');
      const source = fakeSource();
      const a = await makeSequenced(prefix, source);
      const ca = collector();
      a.subscribe(ca.handler);
      const [m1, m4] = source.commit(1, 4);
      a.publish(m1!);
      a.publish(m4!);
      await ca.count(2);
      const [m5] = source.commit(5);
      a.publish(m5!);
      assert.deepEqual(ids(ca.got), [1, 4, 5], 'after the hole, in order again and synchronous');
    });

    it('cut off from NATS, a server still gets the others\' messages (from the store) and they get its own', async () => {
      const prefix = uniqueName('lab93t');
      const source = fakeSource();
      const proxy = await tcpProxy(Number(new URL(url).port));
      const { log, events } = capturingLogger();
      const viaProxy = await makeSequenced(prefix, source, { servers: `127.0.0.1:${proxy.port}`, log });
      try {
        const direct = await makeSequenced(prefix, source);
        const p = collector();
        const d = collector();
        viaProxy.subscribe(p.handler);
        direct.subscribe(d.handler);
        proxy.block = true;
        const down = logged(events, 'nats: disconnected');
        proxy.cut();
        await down;
        const [m1, m2] = source.commit(1, 2);
        viaProxy.publish(m1!); // lost on the wire
        direct.publish(m2!); // never reaches viaProxy over NATS
        await Promise.all([p.count(2), d.count(2)]);
        assert.deepEqual(ids(p.got), [1, 2]);
        assert.deepEqual(ids(d.got), [1, 2]);
        const up = logged(events, 'nats: reconnected');
        proxy.block = false;
        await up;
        await viaProxy.flush();
        const [m3] = source.commit(3);
        direct.publish(m3!);
        await p.count(3);
        await settle();
        assert.deepEqual(ids(p.got), [1, 2, 3], 'back on NATS, nothing twice');
        assert.deepEqual(ids(d.got), [1, 2, 3]);
      } finally {
        open.delete(viaProxy);
        await viaProxy.close();
        await proxy.close();
      }
    });
  });
}

describe('NATS bus configuration', () => {
  it('parses servers and the prefix from --bus', () => {
    assert.deepEqual(parseNatsUrl('nats://127.0.0.1:4222'), { servers: ['nats://127.0.0.1:4222'] });
    assert.deepEqual(parseNatsUrl('nats://a:4222,nats://b:4222/?prefix=lab93.room1'), { servers: ['nats://a:4222', 'nats://b:4222'], prefix: 'lab93.room1' });
  });

  it('refuses a prefix that is not a subject', async () => {
    await assert.rejects(NatsBus.connect({ servers: 'nats://127.0.0.1:1', prefix: 'bad prefix' }), /bad NATS subject prefix/);
  });

  it('an unreachable NATS fails at start with the reason', async () => {
    await assert.rejects(createBus({ driver: 'nats', url: 'nats://127.0.0.1:1' }), /CONNECTION_REFUSED|ECONNREFUSED|refused/i);
  });
});
