/**
 * docs/teaching.md followed literally: every block marked `teaching-step` is run by sh, as
 * written, against a real `lab93 server` with the board (their ports in place of 5190 and
 * 8080), in a folder holding the twenty-line client as client.py and `lab93` on the PATH.
 * Each step's output must show what the doc's "Done when" says. The hints table is checked
 * against the catalogue.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HINTS } from '../../src/protocol/hints.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { ROOT, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';

const doc = readFileSync(join(ROOT, 'docs/teaching.md'), 'utf8');
const steps = [...doc.matchAll(/<!-- teaching-step -->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** What each step's "Done when" promises, in the doc's order. */
const DONE: RegExp[] = [
  /^MSGPosting Message!%MSG\[\(1, 'Server has Started'\)[\s\S]*'Hello from nc'\)\]%$/,
  /PASS post-request\nPASS get-request\nPASS shows-board\nPASS split-answer\nPASS shows-errors\nPASS one-exchange\nPASS reads-repr \(optional\)\n\n7 passed, 0 failed, 0 not attempted/,
  /6 passed, 0 failed/,
  /"type":"welcome"[\s\S]*"type":"synced"[\s\S]*\{"type":"pong","data":1\}/,
  /PASS hello-first\nPASS shows-messages\nPASS ignores-unknown\nPASS ping-pong\nPASS stdin-message\nPASS errors-shown\nFAIL reconnect-since-uid \(optional\)/,
  /7 passed, 0 failed/,
  /10 passed, 0 failed/,
];

function sh(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolve({ out, code }));
  });
}

describe('docs/teaching.md, followed literally', () => {
  let srv: ServerProcess;
  let classicPort: number;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = tempDir('lab93-teaching-');
    // A free port for the board: ask the kernel, then hand it over.
    const net = await import('node:net');
    classicPort = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    srv = await spawnServer(['--db', join(dir, 'server.db'), '--no-announce', '--classic-port', String(classicPort)]);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'lab93'), `#!/bin/sh\nexec "${process.execPath}" --import ${import.meta.resolve('tsx')} "${join(ROOT, 'src/cli/main.ts')}" "$@"\n`);
    chmodSync(join(bin, 'lab93'), 0o755);
    const m = /<!-- python-client[^\n]*\n```python\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'docs/protocol.md'), 'utf8'));
    writeFileSync(join(dir, 'client.py'), m![1]!);
    // Step 2's board.py: the Python client of docs/classic-board.md, as the step says.
    const board = readFileSync(join(ROOT, 'docs/classic-board.md'), 'utf8');
    const b = /\n## A complete client in Python\n[\s\S]*?```python\n([\s\S]*?)```/.exec(board);
    writeFileSync(join(dir, 'board.py'), b![1]!);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, NODE_PATH: join(ROOT, 'node_modules') };
  });
  after(async () => {
    srv.proc.kill();
    await srv.exit();
    removeDir(dir);
  });

  it('has the seven lessons, six of them with commands (two in step 2)', () => {
    assert.equal([...doc.matchAll(/^### \d\. /gm)].length, 7);
    assert.equal(steps.length, DONE.length);
  });

  const hasNc = spawnSync('sh', ['-c', 'command -v nc']).status === 0;
  for (const [i, done] of DONE.entries()) {
    // The nc steps are the doc's as written: without nc on this machine they cannot be followed.
    const skip = !hasNc && /\bnc\b/.test(steps[i] ?? '') ? 'nc is not installed here' : false;
    it(`step block ${i + 1} shows what the doc says a finished step shows`, { skip }, async () => {
      const script = steps[i]!
        .replaceAll('localhost:5190', `127.0.0.1:${srv.port}`).replaceAll('localhost 5190', `127.0.0.1 ${srv.port}`)
        .replaceAll('localhost:8080', `127.0.0.1:${classicPort}`).replaceAll('localhost 8080', `127.0.0.1 ${classicPort}`);
      const { out } = await sh(script, dir, env);
      assert.match(out, done, `${script}\n---\n${out}`);
    });
  }

  it('lists every hint of the catalogue, and no other', () => {
    const table = doc.split('<!-- hints:')[1]!.split('\n\n')[0]!;
    const ids = [...table.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(ids.sort(), Object.keys(HINTS).sort());
  });
});
