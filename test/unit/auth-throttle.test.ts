/** The failed-login throttle (src/auth/throttle.ts), on a clock the test drives. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Throttle } from '../../src/auth/throttle.js';

describe('login throttle', () => {
  it('allows `limit` failures per window, then says how long to wait', () => {
    let t = 1000;
    const th = new Throttle(3, 60_000, () => t);
    for (let i = 0; i < 3; i++) {
      assert.equal(th.retryAfter('alice'), 0, `attempt ${i + 1} may go`);
      th.record('alice');
      t += 1000;
    }
    assert.equal(th.retryAfter('alice'), 57_000, 'what is left of the window that began at the first failure');
    assert.equal(th.retryAfter('bob'), 0, 'other keys are not affected');
    t += 56_999;
    assert.equal(th.retryAfter('alice'), 1);
    t += 1;
    assert.equal(th.retryAfter('alice'), 0, 'a new window');
    th.record('alice');
    assert.equal(th.retryAfter('alice'), 0);
  });

  it('a limit of 0 never throttles', () => {
    const th = new Throttle(0, 60_000, () => 0);
    for (let i = 0; i < 100; i++) th.record('x');
    assert.equal(th.retryAfter('x'), 0);
    assert.equal(th.size, 0);
  });

  it('holds at most maxKeys windows: expired ones go first, then the oldest', () => {
    let t = 0;
    const th = new Throttle(1, 1000, () => t, 3);
    th.record('a');
    th.record('b');
    t = 2000;
    th.record('c');
    th.record('d');
    assert.equal(th.size, 2, 'a and b had expired');
    th.record('e');
    th.record('f');
    assert.equal(th.size, 3);
    assert.equal(th.retryAfter('c'), 0, 'the oldest live window was forgotten');
    assert.ok(th.retryAfter('f') > 0);
  });
});
