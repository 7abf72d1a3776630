import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AppendResult, MessageStore, NewMessage } from '../../src/store/types.js';

const m = (i: number): NewMessage => ({ uid: `u${i}`, username: 'a', room: 'lobby', to: null, subject: null, content: `c${i}`, timestamp: i });

/** Wraps a real store and records each append's batch size; `gate` holds appends back. */
function recording(store: MessageStore) {
  const batches: number[] = [];
  let release: () => void = () => {};
  let gate: Promise<void> | null = null;
  const wrapped = Object.create(store) as MessageStore;
  wrapped.append = async (batch: NewMessage[]): Promise<AppendResult[]> => {
    batches.push(batch.length);
    if (gate) await gate;
    return store.append(batch);
  };
  return {
    store: wrapped,
    batches,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release() {
      gate = null;
      release();
    },
  };
}

describe('group commit', () => {
  it('commits what is submitted in one tick as one batch', async () => {
    const rec = recording(new SqliteStore(':memory:'));
    const gc = new GroupCommit(rec.store);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => gc.submitAsync(m(i))));
    assert.deepEqual(rec.batches, [100]);
    assert.deepEqual(results.map((r) => r.message.content), Array.from({ length: 100 }, (_, i) => `c${i}`));
  });

  it('answers nobody before the append resolved, and batches what arrives meanwhile', async () => {
    const rec = recording(new SqliteStore(':memory:'));
    const gc = new GroupCommit(rec.store);
    rec.hold();
    let answered = 0;
    const first = Array.from({ length: 3 }, (_, i) => gc.submitAsync(m(i)).then(() => answered++));
    await new Promise((r) => setImmediate(r));
    const second = Array.from({ length: 5 }, (_, i) => gc.submitAsync(m(10 + i)).then(() => answered++));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(answered, 0, 'no ack while the commit is in flight');
    rec.release();
    await Promise.all([...first, ...second]);
    assert.deepEqual(rec.batches, [3, 5], 'the five that came during the first commit went in the next one');
  });

  it('fails every message of a failed batch, and goes on with the next', async () => {
    const store = new SqliteStore(':memory:');
    let fail = true;
    const flaky = Object.create(store) as MessageStore;
    flaky.append = async (b: NewMessage[]) => {
      if (fail) {
        fail = false;
        throw new Error('disk full');
      }
      return store.append(b);
    };
    const gc = new GroupCommit(flaky);
    const r = await Promise.allSettled([gc.submitAsync(m(1)), gc.submitAsync(m(2))]);
    assert.deepEqual(r.map((x) => x.status), ['rejected', 'rejected']);
    const ok = await gc.submitAsync(m(3));
    assert.equal(ok.message.content, 'c3');
  });

  it('drain waits for everything submitted', async () => {
    const store = new SqliteStore(':memory:');
    const gc = new GroupCommit(store);
    for (let i = 0; i < 50; i++) gc.submit(m(i), () => {});
    await gc.drain();
    assert.equal(await store.count(), 50);
  });
});
