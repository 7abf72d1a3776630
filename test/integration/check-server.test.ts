/**
 * `lab93 check server`: lab93 passes every case in both modes (v1 on the chat port, classic on
 * the chat port and the board's own), and a deliberately broken server fails the cases of its
 * mistakes with the explanations a student reads.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { checkServer } from '../../src/teach/check-server.js';
import { exitStatus, type CaseResult } from '../../src/teach/report.js';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { startChat, type Chat } from '../fixtures/classic/harness.js';

const BROKEN = new URL('../fixtures/teach/broken-server.mjs', import.meta.url).pathname;

function failed(results: CaseResult[]): string[] {
  return results.filter((r) => r.status !== 'pass').map((r) => r.name);
}

async function brokenServer(flags: string[]): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [BROKEN, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: proc.stdout! }), 'line')) as [string];
  return { port: Number(line), proc };
}

describe('lab93 check server against lab93', () => {
  let s: TestServer;
  let chat: Chat;
  before(async () => {
    s = await startServer();
    chat = await startChat();
  });
  after(async () => {
    await s.stop();
    removeDir(s.dir);
    await chat.stop();
  });

  it('passes every v1 case, and exits 0', async () => {
    const { results, report } = await checkServer({ host: '127.0.0.1', port: s.port });
    assert.deepEqual(failed(results), [], report);
    assert.ok(results.length >= 10);
    assert.equal(exitStatus(results), 0);
    assert.match(report, /10 passed, 0 failed/);
  });

  it('passes every classic case on the chat port and on the board port', async () => {
    for (const port of [chat.port, chat.classicPort]) {
      const { results, report } = await checkServer({ host: '127.0.0.1', port, classic: true });
      assert.deepEqual(failed(results), [], report);
      assert.equal(exitStatus(results), 0);
    }
  });

  it('fails the classic cases against a v1-only server, with the answer it got', async () => {
    const { results, report } = await checkServer({ host: '127.0.0.1', port: s.port, classic: true, waitMs: 500, only: ['unknown-and-lower-case'] });
    assert.equal(exitStatus(results), 1);
    assert.match(report, /FAIL unknown-and-lower-case[\s\S]*expected "ERRUnknown Command%"/);
  });
});

describe('lab93 check server against a deliberately broken server', () => {
  const cases: Array<{ flag: string; fails: string[]; explains: RegExp }> = [
    { flag: '--no-since', fails: ['catch-up-since'], explains: /since \d+ should bring both messages in order; the backlog held \[\]/ },
    { flag: '--echo', fails: ['relay-no-echo'], explains: /the sender \(A\) received its own message back: an echo/ },
    { flag: '--ack-before-store', fails: ['ack-after-store'], explains: /acked id \d+, but a reconnect with since \d+ did not receive it/ },
  ];
  for (const c of cases) {
    it(`${c.flag}: fails ${c.fails.join(', ')} with its explanation, and exits 1`, async () => {
      const b = await brokenServer([c.flag]);
      try {
        const { results, report } = await checkServer({ host: '127.0.0.1', port: b.port, waitMs: 700 });
        for (const name of c.fails) assert.equal(results.find((r) => r.name === name)?.status, 'fail', report);
        assert.match(report, c.explains);
        assert.match(report, /likely mistake: /);
        assert.match(report, /read: docs\/protocol\.md#/);
        // The wire excerpt shows the frames decoded, not as base64.
        assert.match(report, / [<>] \{"type":"/);
        assert.equal(exitStatus(results), 1);
      } finally {
        b.proc.kill();
      }
    });
  }

  it('without a flag it passes the cases of those mistakes', async () => {
    const b = await brokenServer([]);
    try {
      const { results, report } = await checkServer({ host: '127.0.0.1', port: b.port, waitMs: 700 });
      for (const name of ['catch-up-since', 'relay-no-echo', 'ack-after-store']) assert.equal(results.find((r) => r.name === name)?.status, 'pass', report);
    } finally {
      b.proc.kill();
    }
  });
});
