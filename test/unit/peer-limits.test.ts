/**
 * The rules and limits a peer link is held to, with an injected clock: admission of a
 * message, per-link quotas (debt, then a pause), refusals told once a minute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { admit, type AdmissionContext } from '../../src/peer/admission.js';
import { MAX_SEQ } from '../../src/peer/packets.js';
import { DebtBucket, LinkQuotas } from '../../src/peer/quotas.js';
import { Refusals, type RefusalReport } from '../../src/peer/refusals.js';

const ctx = (o: Partial<AdmissionContext> = {}): AdmissionContext => ({
  self: 'selfselfself', from: 'linklinklink', maxFirstSeq: 100,
  haveOf: () => undefined, linked: () => false, ...o,
});

test('admission: own origin and seq over MAX_SEQ are refused from anyone; a new origin from others starts low', () => {
  fc.assert(fc.property(fc.string({ minLength: 4 }), fc.integer({ min: 1, max: MAX_SEQ }), (from, seq) => {
    assert.equal(admit({ origin: 'selfselfself', seq }, ctx({ from })).kind, 'refused');
  }));
  assert.deepEqual(admit({ origin: 'otherother', seq: MAX_SEQ + 1 }, ctx()), { kind: 'refused', reason: 'seq over bound', detail: `seq ${MAX_SEQ + 1} of otherother is above ${MAX_SEQ}` });
  assert.equal(admit({ origin: 'otherother', seq: 2 ** 53 - 1 }, ctx({ from: 'otherother' })).kind, 'refused', 'not even from the origin itself');
  assert.equal(admit({ origin: 'otherother', seq: 101 }, ctx()).kind, 'refused');
  assert.equal(admit({ origin: 'otherother', seq: 100 }, ctx()).kind, 'check');
  assert.equal(admit({ origin: 'otherother', seq: 101 }, ctx({ haveOf: () => 100 })).kind, 'check', 'a known origin: the store decides (next, duplicate or gap)');
  assert.equal(admit({ origin: 'linklinklink', seq: 5000 }, ctx()).kind, 'check', 'from the origin itself it may start anywhere');
  assert.equal(admit({ origin: 'otherother', seq: 5000 }, ctx({ maxFirstSeq: 0 })).kind, 'check', '0: no limit');
  assert.equal(admit({ origin: 'otherother', seq: 1 }, ctx({ linked: (id) => id === 'otherother' })).kind, 'ignored', 'relayed copies of a linked origin');
});

test('quotas: a link goes into debt, then pauses exactly until it is paid back', () => {
  let t = 0;
  const q = new LinkQuotas({ frameRate: 0, frameBurst: 0, originRate: 0, originBurst: 0, linkMessageRate: 10, linkMessageBurst: 5, linkBytesPerMinute: 6000, linkNewOriginsPerMinute: 6 }, () => t);
  for (let i = 0; i < 5; i++) q.stored(false, false);
  assert.equal(q.wait(), null, 'the burst');
  q.stored(false, false);
  assert.deepEqual(q.wait(), { ms: 100, quota: 'messages per second' });
  t += 100;
  assert.equal(q.wait(), null);
  q.frame(6000 + 50);
  assert.deepEqual(q.wait(), { ms: 500, quota: 'bytes per minute' }, '50 bytes at 100 a second');
  t += 500;
  for (let i = 0; i < 7; i++) q.stored(false, true);
  // The seventh new origin in a minute: 10 s for one more at 6 a minute; the longest wait
  // wins (the messages bucket asks for 200 ms).
  assert.equal(q.wait()!.quota, 'new origins per minute');
  assert.equal(q.wait()!.ms, 10_000);
  const free = new DebtBucket(0, 0, () => t);
  free.charge(1e9);
  assert.equal(free.waitMs(), 0, 'a rate of 0 is no limit');
});

test('refusals: the first of a reason is told at once, the rest once a minute with their count, the remainder at the end', () => {
  let t = 0;
  const told: RefusalReport[] = [];
  const r = new Refusals(() => t, (x) => told.push(x));
  r.add('own origin', 'one');
  r.add('own origin', 'two');
  r.add('own origin', 'three');
  r.add('bad_frame', 'x');
  assert.deepEqual(told.map((x) => [x.reason, x.count, x.total]), [['own origin', 1, 1], ['bad_frame', 1, 1]]);
  t += 60_000;
  r.add('own origin', 'four');
  assert.deepEqual(told.map((x) => [x.reason, x.count, x.total, x.detail]).at(-1), ['own origin', 3, 4, 'four']);
  r.add('own origin', 'five');
  r.flush();
  assert.deepEqual(told.map((x) => [x.reason, x.count, x.total]).at(-1), ['own origin', 1, 5]);
  assert.equal(r.summary(), 'own origin 5, bad_frame 1');
});
