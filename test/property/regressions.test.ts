/**
 * Every vector under test/fixtures/fuzz/ (a crash or a wrong acceptance found once) replayed
 * against every decoder: none may throw, and the frame vectors get the error code they expect.
 * (test/integration/fuzz-net.test.ts replays them against a real server over TCP.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame } from '../../src/protocol/frame.js';
import { loadVectors, replayAllDecoders } from '../helpers/fuzz-vectors.js';

describe('fuzz regression vectors', () => {
  const vectors = loadVectors();
  it('there are vectors to replay', () => assert.ok(vectors.length >= 5, `${vectors.length} vectors`));
  for (const v of vectors) {
    it(`${v.name} (${v.decoder}): no decoder throws${v.expect ? `, the frame is refused with ${v.expect}` : ''}`, () => {
      assert.doesNotThrow(() => replayAllDecoders(v.bytes), `found by: ${v.found}`);
      if (v.expect !== undefined && v.mode !== undefined) {
        const d = decodeFrame(v.bytes, v.mode);
        assert.equal(d.ok ? 'ok' : d.code, v.expect, d.ok ? 'accepted' : d.message);
      }
    });
  }
});
