/**
 * docs/protocol.md is the contract: its error table must match the registry, and the
 * twenty-line Python client printed on it must chat with the real server as written.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ERROR_CODES } from '../../src/protocol/errors.js';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it('documents exactly the error codes the server can send', () => {
    const table = doc.slice(doc.indexOf('<!-- error-codes'));
    const rows = table.split('\n').slice(3);
    const codes: string[] = [];
    for (const row of rows) {
      const m = /^\| `([a-z_]+)` \|/.exec(row);
      if (!m) break;
      codes.push(m[1]!);
    }
    assert.deepEqual([...codes].sort(), Object.keys(ERROR_CODES).sort());
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  describe('the twenty-line Python client', { skip: python ? false : 'python3 is not installed' }, () => {
    let ts: TestServer;
    before(async () => {
      ts = await startServer();
    });
    after(async () => {
      await ts.stop();
      removeDir(ts.dir);
    });

    it('is at most twenty lines of code', () => {
      const code = extractPython();
      const lines = code.split('\n').filter((l) => l.trim() !== '');
      assert.ok(lines.length <= 20, `${lines.length} lines`);
    });

    it('chats with a Lab-93 client both ways, as printed on the page', async () => {
      const file = join(ts.dir, 'client.py');
      writeFileSync(file, extractPython());
      const { c: watcher } = await WireClient.login(ts.port, 'watcher');
      watcher.send({ type: 'message', uid: 'before', content: 'sent before python came' });
      await watcher.next('ack');
      const py = spawn('python3', [file, '127.0.0.1', String(ts.port), 'pythonista'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines: string[] = [];
      let wake: () => void = () => {};
      createInterface({ input: py.stdout! }).on('line', (l) => {
        lines.push(l);
        wake();
      });
      const waitFor = async (text: string) => {
        const deadline = Date.now() + 5000;
        while (!lines.includes(text)) {
          assert.ok(Date.now() < deadline, `python printed ${JSON.stringify(lines)}, not ${text}`);
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 100);
          });
        }
      };
      await waitFor('* synced: 0');
      const online = await watcher.next('presence');
      assert.equal(online.username, 'pythonista');
      py.stdin!.write('hello from python\n');
      const m = await watcher.next('message');
      assert.deepEqual([m.username, m.content], ['pythonista', 'hello from python']);
      watcher.send({ type: 'message', uid: 'reply', content: 'hi python' });
      await waitFor('<watcher> hi python');
      py.stdin!.end();
      await new Promise((r) => py.on('exit', r));
      await watcher.close();
    });
  });
});

function extractPython(): string {
  const start = doc.indexOf('```python', doc.indexOf('<!-- python-client'));
  const end = doc.indexOf('```', start + 9);
  return doc.slice(start + '```python'.length + 1, end);
}
