/**
 * The complete clients in docs/classic-board.md work, straight from the page: the Python and
 * the JavaScript client post and print the same board, tricky texts included, and the
 * keep-alive example gets its three answers on one connection.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBoard, type Board } from '../fixtures/classic/harness.js';

const doc = readFileSync(new URL('../../docs/classic-board.md', import.meta.url), 'utf8');

/** The fenced code blocks of `lang` in the section under `heading`. */
function blocks(heading: string, lang: string): string[] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start !== -1, `no section "${heading}"`);
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => {
      p.kill();
      reject(new Error(`${cmd} hung: ${stdout} ${stderr}`));
    }, 15_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

describe('the clients in docs/classic-board.md', () => {
  let b: Board;
  let dir: string;
  before(async () => {
    b = await startBoard();
    dir = mkdtempSync(join(tmpdir(), 'lab93-classic-docs-'));
  });
  after(async () => {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tricky = `it's "quoted" \\ tab\there, café 日本語 😀\u00a0`;

  it('the JavaScript client posts and prints the board', async () => {
    const [js] = blocks('A complete client in JavaScript', 'js');
    const file = join(dir, 'board.mjs');
    writeFileSync(file, js!);
    const r = await run(process.execPath, [file, '127.0.0.1', String(b.port), tricky]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `   1  Server has Started\n   2  ${tricky}\n`);
  });

  it('the Python client prints the same board, and posts too', { skip: hasPython ? false : 'python3 is not installed here' }, async () => {
    const [py] = blocks('A complete client in Python', 'python');
    const file = join(dir, 'board.py');
    writeFileSync(file, py!);
    const r = await run('python3', [file, '127.0.0.1', String(b.port), 'line\nbreak']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `   1  Server has Started\n   2  ${tricky}\n   3  line\nbreak\n`);
  });

  it('the Python keep-alive example gets its answers on one connection', { skip: hasPython ? false : 'python3 is not installed here' }, async () => {
    const [, keep] = blocks('A complete client in Python', 'python');
    const file = join(dir, 'keep.py');
    writeFileSync(file, keep!);
    const last = await b.store.lastId();
    const r = await run('python3', [file, '127.0.0.1', String(b.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `MSGKeep-Alive On%\nMSGPosting Message!%\nMSG[(${last + 1}, 'one connection, many requests')]%\n`);
  });
});
