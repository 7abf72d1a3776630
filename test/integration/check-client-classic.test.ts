/**
 * `lab93 check client --classic`: the board clients printed in docs/classic-board.md pass every
 * case (the optional one too: they read the list back); each deliberately broken board client of
 * test/fixtures/teach fails the case of its mistake with the explanation a student reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkBoardClient } from '../../src/teach/check-board-client.js';
import { exitStatus, type CaseResult } from '../../src/teach/report.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { ROOT } from '../helpers/spawn-server.js';

const FIX = join(ROOT, 'test/fixtures/teach');
const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
const noPython = hasPython ? false : 'python3 is not installed here';
const status = (rs: CaseResult[], name: string): string | undefined => rs.find((r) => r.name === name)?.status;

/** The first code block of `lang` under the heading `## heading` of docs/classic-board.md. */
function docClient(heading: string, lang: string): string {
  const doc = readFileSync(join(ROOT, 'docs/classic-board.md'), 'utf8');
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start !== -1, `docs/classic-board.md has "## ${heading}"`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc.slice(start));
  assert.ok(m, `a ${lang} block under "${heading}"`);
  return m[1]!;
}

describe('lab93 check client --classic passes the board clients the docs print', { concurrency: 2 }, () => {
  const clients = [
    { heading: 'A complete client in Python', lang: 'python', file: 'board.py', command: 'python3', skip: noPython },
    { heading: 'A complete client in JavaScript', lang: 'js', file: 'board.mjs', command: process.execPath, skip: false as const },
  ];
  for (const c of clients) {
    it(`${c.file} passes every case, reading the repr back included`, { skip: c.skip }, async () => {
      const dir = tempDir();
      try {
        writeFileSync(join(dir, c.file), docClient(c.heading, c.lang));
        const { results, report } = await checkBoardClient({ command: c.command, args: [join(dir, c.file), '{host}', '{port}'] });
        assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => r.name), [], report);
        assert.match(report, /PASS reads-repr \(optional\)\n\n7 passed, 0 failed, 0 not attempted\n$/);
        assert.equal(exitStatus(results), 0);
      } finally {
        removeDir(dir);
      }
    });
  }
});

const BROKEN: Array<{ file: string; fails: string[]; explains: RegExp[] }> = [
  {
    file: 'board-no-percent.py', fails: ['post-request', 'get-request'],
    explains: [/observed: no request ended: "POSTchecker \w+ says hi" came without a %; end every board request with %/, /B1 \* 26 bytes and no % after 1000 ms: the board times out/],
  },
  {
    file: 'board-lower-case.cjs', fails: ['post-request', 'get-request'],
    explains: [/observed: the first request was "postchecker \w+ says hi%", not "POSTchecker \w+ says hi%": the board answers ERRUnknown Command%: board commands are upper case/, /observed: the first request was "get%", not "GET%"/],
  },
  {
    file: 'board-same-connection.py', fails: ['one-exchange'],
    explains: [/observed: "GET%" came on B1 after its answer: one request per connection: the board answers, closes and never reads what comes after/, /B1 < GET%   \(after the answer: the board never reads it\)/],
  },
  {
    file: 'board-one-read.cjs', fails: ['split-answer'],
    explains: [/observed: the program never printed "last of the split \w+", which came in the last piece of the answer/, /likely mistake: taking one read \(recv\) as the whole answer/],
  },
];

describe('lab93 check client --classic fails the deliberately broken board clients', { concurrency: 2 }, () => {
  for (const b of BROKEN) {
    const python = b.file.endsWith('.py');
    it(`${b.file}: fails ${b.fails.join(' and ')}, explained, exit status 1`, { skip: python ? noPython : false }, async () => {
      const { results, report } = await checkBoardClient({ command: python ? 'python3' : process.execPath, args: [join(FIX, b.file), '{host}', '{port}'], waitMs: 1000 });
      assert.deepEqual(results.filter((r) => r.status === 'fail' && r.level === 'required').map((r) => r.name), b.fails, report);
      for (const e of b.explains) assert.match(report, e);
      assert.match(report, /read: docs\/classic-board\.md#/);
      assert.equal(exitStatus(results), 1);
    });
  }
});
