import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MissedTail } from '../../src/client/ui/missed-tail.js';

describe('MissedTail: what the screen holds of a backlog', () => {
  it('50,000 pushed: it never holds more than twice what it shows, and shows the newest 200 under the full count', () => {
    const t = new MissedTail<number>(200);
    let most = 0;
    for (let i = 1; i <= 50_000; i++) {
      t.push(i);
      most = Math.max(most, t.held);
    }
    assert.ok(most <= 400, `held at most ${most}`);
    const { count, newest } = t.take();
    assert.equal(count, 50_000);
    assert.deepEqual(newest, Array.from({ length: 200 }, (_, i) => 49_801 + i));
    assert.deepEqual(t.take(), { count: 0, newest: [] }, 'take() empties it');
  });

  it('a short backlog is shown whole', () => {
    const t = new MissedTail<string>(200);
    for (const x of ['a', 'b', 'c']) t.push(x);
    assert.deepEqual(t.take(), { count: 3, newest: ['a', 'b', 'c'] });
  });
});
