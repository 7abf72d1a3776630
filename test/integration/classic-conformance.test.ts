/**
 * Byte-level conformance over real TCP: every scripted scenario recorded from the original
 * server (test/fixtures/classic/*.json) gets the same bytes from lab93, on the board's own port
 * and on the chat port where it is told apart by its first bytes. Deliberate deviations are
 * recorded in the fixtures with their reasons.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarios, type FixtureScenario } from '../fixtures/classic/load.js';
import { exchange, startBoard, startChat } from '../fixtures/classic/harness.js';

const scenarios = loadScenarios();
/** Short, so the deviation "ERRTimeout!% for an unterminated request" is quick to see. */
const options = { requestTimeoutMs: 300 };

async function play(port: number, sc: FixtureScenario): Promise<void> {
  for (const [k, conn] of sc.connections.entries()) {
    const got = await exchange(port, conn.writes, { shutdown: conn.shutdown });
    const label = `connection ${k + 1} of ${sc.group}/${sc.name}${conn.deviation ? ` (deviation: ${conn.deviation})` : ''}`;
    assert.equal(got.answer.toString('latin1'), conn.expect.answer.toString('latin1'), label);
    assert.equal(got.closed, conn.expect.closed, `${label}: closed`);
  }
}

describe('classic conformance on the board port (lab93 classic)', () => {
  for (const sc of scenarios) {
    it(`${sc.group}/${sc.name}: ${sc.about}`, async () => {
      const b = await startBoard(options);
      try {
        await play(b.port, sc);
      } finally {
        await b.stop();
      }
    });
  }
});

describe('classic conformance on the chat port (sniffed by its first bytes)', () => {
  for (const sc of scenarios) {
    // A connection that sends nothing is never told apart: the chat port waits for a Lab-93 hello.
    const silent = sc.connections.some((c) => c.writes.length === 0);
    it(`${sc.group}/${sc.name}`, { skip: silent ? 'sends no bytes, so the chat port cannot tell it is a board client' : false }, async () => {
      const c = await startChat(options);
      try {
        await play(c.port, sc);
      } finally {
        await c.stop();
      }
    });
  }
});
