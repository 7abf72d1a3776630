import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NoticeThrottle } from '../../src/client/notice-throttle.js';
import { ManualClock } from '../helpers/client-fake-server.js';

const BAD = { one: 'bad frame', many: 'bad frames' };

describe('NoticeThrottle: a flood of trouble is a few lines, not one per frame', () => {
  it('the first at once, the rest of the window summed up in one line, a later one at once again', () => {
    const clock = new ManualClock();
    const shown: string[] = [];
    const n = new NoticeThrottle((t) => shown.push(t), clock, 10_000);
    for (let i = 0; i < 1000; i++) n.report('bad', `bad #${i}`, BAD);
    assert.deepEqual(shown, ['bad #0']);
    clock.advance(10_000);
    assert.deepEqual(shown, ['bad #0', '999 more bad frames in the last 10 s']);
    // The flood goes on: one more line per window.
    n.report('bad', 'bad #1000', BAD);
    clock.advance(10_000);
    assert.deepEqual(shown.slice(2), ['1 more bad frame in the last 10 s']);
    // Quiet for a window: the next one is shown at once.
    clock.advance(10_000);
    n.report('bad', 'bad again', BAD);
    assert.deepEqual(shown.slice(3), ['bad again']);
  });

  it('kinds are counted apart, and dispose() stops the timers', () => {
    const clock = new ManualClock();
    const shown: string[] = [];
    const n = new NoticeThrottle((t) => shown.push(t), clock, 500);
    n.report('a', 'a1', BAD);
    n.report('b', 'b1', BAD);
    n.report('a', 'a2', BAD);
    assert.deepEqual(shown, ['a1', 'b1']);
    n.dispose();
    clock.advance(1000);
    assert.deepEqual(shown, ['a1', 'b1']);
    assert.equal(clock.timers.size, 0);
  });
});
