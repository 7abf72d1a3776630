/**
 * `lab93 check client`: the twenty-line Python client of docs/protocol.md and lab93's own client
 * in pipe mode pass at the levels they claim; each deliberately broken client of
 * test/fixtures/teach fails the case of its mistake with the explanation a student reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkClient } from '../../src/teach/check-client.js';
import { exitStatus, type CaseResult } from '../../src/teach/report.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { ROOT } from '../helpers/spawn-server.js';

const FIX = join(ROOT, 'test/fixtures/teach');
const status = (rs: CaseResult[], name: string): string | undefined => rs.find((r) => r.name === name)?.status;

function twentyLineClient(): string {
  const doc = readFileSync(join(ROOT, 'docs/protocol.md'), 'utf8');
  const m = /<!-- python-client[^\n]*\n```python\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'docs/protocol.md holds the twenty-line client');
  return m[1]!;
}

describe('lab93 check client passes the clients the docs print', { concurrency: 2 }, () => {
  it('the twenty-line Python client passes every required case (it does not claim reconnect)', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'client.py'), twentyLineClient());
      const { results, report } = await checkClient({ command: 'python3', args: [join(dir, 'client.py'), '{host}', '{port}', 'student'], reconnectMs: 1500 });
      assert.equal(exitStatus(results), 0, report);
      for (const r of results.filter((x) => x.level === 'required')) assert.equal(r.status, 'pass', report);
      assert.match(report, /FAIL reconnect-since-uid \(optional\)/);
    } finally {
      removeDir(dir);
    }
  });

  it("lab93's own client in pipe mode passes every case, reconnect included", async () => {
    const { results, report } = await checkClient({ command: process.execPath, args: ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'connect', '{host}:{port}', '--name', 'student'] });
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => r.name), [], report);
  });
});

const BROKEN: Array<{ file: string; fails: string; explains: RegExp }> = [
  { file: 'no-newline.py', fails: 'hello-first', explains: /end every frame with \\n/ },
  { file: 'json-after-base64.py', fails: 'stdin-message', explains: /not base64 frames[\s\S]*this connection is base64: encode each JSON frame with base64/ },
  { file: 'str-dict.py', fails: 'hello-first', explains: /str\(dict\) is Python's notation, not JSON: use json\.dumps/ },
  { file: 'message-first.cjs', fails: 'hello-first', explains: /got \{"type":"message".*send \{"type":"hello"/ },
  { file: 'user-field.cjs', fails: 'hello-first', explains: /"user": did you mean `username`\?/ },
  { file: 'one-read-one-frame.cjs', fails: 'shows-messages', explains: /never printed "first of the split"[\s\S]*reading up to the newline/ },
  { file: 'crash-unknown.cjs', fails: 'ignores-unknown', explains: /closed the connection \(crashed\?\)/ },
  { file: 'no-pong.py', fails: 'ping-pong', explains: /FAIL ping-pong[\s\S]*idle_timeout/ },
  { file: 'no-uid.py', fails: 'stdin-message', explains: /the message has no uid/ },
  { file: 'swallow-errors.py', fails: 'errors-shown', explains: /was not printed[\s\S]*ignoring error packets/ },
];

describe('lab93 check client fails the deliberately broken clients', { concurrency: 3 }, () => {
  for (const b of BROKEN) {
    it(`${b.file}: fails ${b.fails}, explained, exit status 1`, async () => {
      const command = b.file.endsWith('.py') ? 'python3' : process.execPath;
      const { results, report } = await checkClient({ command, args: [join(FIX, b.file), '{host}', '{port}'], waitMs: 1000, reconnectMs: 0 });
      assert.equal(status(results, b.fails), 'fail', report);
      assert.match(report, b.explains);
      assert.match(report, /read: docs\/protocol\.md#/);
      assert.equal(exitStatus(results), 1);
    });
  }
});
