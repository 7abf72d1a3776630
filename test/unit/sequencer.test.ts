/** The cluster bus's sequencer (src/bus/sequencer.ts) on its own: id order, gaps, holes, store outages. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer, STORE_ORIGIN, type MessageEvent, type SequenceSource } from '../../src/bus/sequencer.js';
import type { StoredMessage } from '../../src/store/types.js';

const row = (id: number): StoredMessage => ({ id, uid: `u${id}`, username: 'alice', room: 'lobby', to: null, subject: null, content: `m${id}`, timestamp: id, remote: null });
const ev = (id: number, origin = 'c1'): MessageEvent => ({ kind: 'message', message: row(id), origin });

function setup(committed: number[], o: { failing?: boolean; maxPending?: number } = {}) {
  const state = { failing: o.failing ?? false, reads: 0 };
  const rows = committed.map(row);
  const source: SequenceSource = {
    lastId: async () => rows.at(-1)?.id ?? 0,
    range: async (after, upTo, limit) => {
      state.reads++;
      if (state.failing) throw new Error('ECONNREFUSED');
      return rows.filter((m) => m.id > after && m.id <= upTo).slice(0, limit);
    },
  };
  const got: MessageEvent[] = [];
  let wake: (() => void) | null = null;
  const seq = new Sequencer(source, (e) => {
    got.push(e);
    wake?.();
  }, { graceMs: 10, pollMs: 60_000, ...(o.maxPending !== undefined ? { maxPending: o.maxPending } : {}) });
  const until = async (n: number): Promise<void> => {
    const deadline = Date.now() + 2000;
    while (got.length < n) {
      if (Date.now() > deadline) throw new Error(`got ${got.map((e) => e.message.id)}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 20);
      });
    }
  };
  return { seq, got, state, until, rows, ids: () => got.map((e) => e.message.id) };
}

describe('Sequencer', () => {
  it('delivers in-order events at once (synchronously), drops echoes and repeats', async () => {
    const t = setup([]);
    await t.seq.start();
    t.seq.push(ev(1));
    assert.deepEqual(t.ids(), [1], 'no waiting when nothing is missing');
    t.seq.push(ev(2));
    t.seq.push(ev(1));
    t.seq.push(ev(2, 'other/c1'));
    assert.deepEqual(t.ids(), [1, 2]);
    assert.equal(t.state.reads, 0, 'the store is not read when nothing is missing');
    t.seq.close();
  });

  it('starts after what the store holds: those are for catch-up', async () => {
    const t = setup([1, 2, 3]);
    t.seq.push(ev(3)); // before start: ignored, not held against horizon 0
    await t.seq.start();
    t.seq.push(ev(3));
    t.seq.push(ev(4));
    assert.deepEqual(t.ids(), [4]);
    t.seq.close();
  });

  it('holds events behind a gap, releases them when it closes, in order, keeping their origin', async () => {
    const t = setup([]);
    await t.seq.start();
    t.seq.push(ev(3, 'c3'));
    t.seq.push(ev(2, 'c2'));
    assert.deepEqual(t.ids(), []);
    t.seq.push(ev(1, 'c1'));
    assert.deepEqual(t.got.map((e) => [e.message.id, e.origin]), [[1, 'c1'], [2, 'c2'], [3, 'c3']]);
    t.seq.close();
  });

  it('reads a gap that does not close from the store; ids that never committed are skipped', async () => {
    const t = setup([]);
    await t.seq.start();
    t.rows.push(row(1), row(2), row(4)); // #3 rolled back: never committed
    t.seq.push(ev(4, 'c4'));
    await t.until(3);
    assert.deepEqual(t.got.map((e) => [e.message.id, e.origin]), [[1, STORE_ORIGIN], [2, STORE_ORIGIN], [4, 'c4']]);
    t.rows.push(row(5));
    t.seq.push(ev(5));
    assert.deepEqual(t.ids(), [1, 2, 4, 5], 'in line again after the hole');
    t.seq.close();
  });

  it('while the store is down, a gap holds later events; past maxPending it is skipped rather than grow', async () => {
    const t = setup([], { failing: true, maxPending: 3 });
    await t.seq.start();
    t.seq.push(ev(1));
    for (const id of [3, 4, 5]) t.seq.push(ev(id));
    await new Promise((r) => setTimeout(r, 40)); // a failed fill or two
    assert.deepEqual(t.ids(), [1], 'order first: #3 waits for #2');
    assert.ok(t.state.reads >= 1);
    t.seq.push(ev(6));
    assert.deepEqual(t.ids(), [1, 3, 4, 5, 6], 'memory next: the gap is given up');
    t.seq.close();
  });

  it('a gap is filled once the store answers again', async () => {
    const t = setup([], { failing: true });
    await t.seq.start();
    t.rows.push(row(1), row(2));
    t.seq.push(ev(2));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(t.ids(), []);
    t.state.failing = false;
    await t.until(2);
    assert.deepEqual(t.ids(), [1, 2]);
    t.seq.close();
  });
});
