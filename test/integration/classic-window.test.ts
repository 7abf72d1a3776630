/**
 * The classic board beside a busy chat (docs/classic-board.md, "The board beside a busy
 * chat"): `GET%` lists the newest messages that fit the window (20 by default), oldest first,
 * written exactly as Python's repr writes them; `GET<n>%` asks for a number of its own; the
 * flags change the window; with a byte bound the original client's single 1,024-byte read
 * holds the whole answer, newest post included. And the `nc` transcript of a kept connection
 * in that document is what a terminal really shows.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BoardClient, ChatClient, ask, startBoard, startChat, type Chat } from '../fixtures/classic/harness.js';
import { spawnServer } from '../helpers/spawn-server.js';

const hasPython = spawnSync('python3', ['-c', 'import ast, socket'], { encoding: 'utf8' }).status === 0;

function python(code: string, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', code, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 exited ${code}: ${err}`))));
    p.stdin.end(input);
  });
}

/** Python's own GET answer for these rows: the reference for "byte-identical". */
const PY_ANSWER = String.raw`
import json, sys
rows = [tuple(r) for r in json.load(sys.stdin)]
sys.stdout.write("MSG" + repr(rows) + "%")
`;

/** The original client.py's read: one recv(1024, MSG_WAITALL), decoded, then parsed as a student would. */
const ORIGINAL_READ = String.raw`
import ast, json, socket, sys
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
    sock.connect(("127.0.0.1", int(sys.argv[1])))
    sock.sendall(b"GET%")
    received = str(sock.recv(1024, socket.MSG_WAITALL), "utf-8")
print(json.dumps(ast.literal_eval(received[3:-1])))
`;

const tuples = (answer: string): number[] => [...answer.matchAll(/\((\d+), ['"]/g)].map((m) => Number(m[1]));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the classic board beside a busy chat', () => {
  let chat: Chat;
  const sent: Array<{ id: number; content: string }> = [];

  before(async () => {
    chat = await startChat();
    const alice = await ChatClient.login(chat.port, 'alice');
    // Quotes, a %, non-ASCII: what the repr rules are about.
    const content = (i: number): string => (i % 10 === 3 ? `it's ${i}% sure` : i % 10 === 7 ? `say "hi" ${i}, 日本語` : `chat message ${i}`);
    for (let i = 0; i < 100; i++) {
      alice.send({ type: 'message', uid: `m${i}`, content: content(i) });
      const ack = await alice.next((p) => p.type === 'ack' && p.uid === `m${i}`);
      sent.push({ id: ack.id as number, content: content(i) });
    }
    alice.close();
  });
  after(async () => {
    await chat.stop();
  });

  it('GET% answers the newest 20 of 100 chat messages, oldest first, byte for byte as Python writes them', { skip: hasPython ? false : 'python3 is not installed here' }, async () => {
    const answer = await ask(chat.port, 'GET%');
    const newest = sent.slice(-20);
    const expected = await python(PY_ANSWER, [], JSON.stringify(newest.map((m) => [m.id, `alice: ${m.content.replaceAll('%', '\uff05')}`])));
    assert.equal(answer, expected);
    assert.deepEqual(tuples(answer), newest.map((m) => m.id));
    assert.equal(await ask(chat.classicPort, 'GET%'), answer, 'the same on the board port');

    // What the original client.py gets from its single 1,024-byte read: the newest posts.
    const seen = JSON.parse(await python(ORIGINAL_READ, [String(chat.classicPort)])) as Array<[number, string]>;
    assert.deepEqual(seen.map(([id]) => id), newest.map((m) => m.id));
  });

  it('GET<n>% asks for a number of its own; a KEEP% connection gets the same window', async () => {
    assert.deepEqual(tuples(await ask(chat.port, 'GET30%')), sent.slice(-30).map((m) => m.id));
    assert.deepEqual(tuples(await ask(chat.port, 'GET1000%')), [1, ...sent.map((m) => m.id)], 'the whole board, "Server has Started" first');
    const kept = await BoardClient.connect(chat.port);
    try {
      kept.write('KEEP%');
      assert.equal(await kept.next(), 'MSGKeep-Alive On%');
      kept.write('GET%');
      assert.equal(await kept.next(), await ask(chat.port, 'GET%'));
    } finally {
      kept.close();
    }
  });
});

describe('the window options', () => {
  it('window 0 lists the whole board, as the original did', async () => {
    const b = await startBoard({ window: 0 });
    try {
      for (let i = 0; i < 25; i++) assert.equal(await ask(b.port, `POSTpost ${i}%`), 'MSGPosting Message!%');
      assert.deepEqual(tuples(await ask(b.port, 'GET%')), range(1, 26));
    } finally {
      await b.stop();
    }
  });

  it('a byte bound keeps the answer within the original client\'s read; the newest post is listed even when it alone is longer', { skip: hasPython ? false : 'python3 is not installed here' }, async () => {
    const long = (i: number): string => `post ${i} ` + 'é'.repeat(60);
    const bounded = await startBoard({ windowBytes: 1024 });
    const unbounded = await startBoard();
    try {
      for (let i = 0; i < 20; i++) {
        assert.equal(await ask(bounded.port, `POST${long(i)}%`), 'MSGPosting Message!%');
        assert.equal(await ask(unbounded.port, `POST${long(i)}%`), 'MSGPosting Message!%');
      }
      const whole = await ask(unbounded.port, 'GET%');
      assert.ok(Buffer.byteLength(whole) > 1024, 'twenty long posts do not fit 1,024 bytes');
      const answer = await ask(bounded.port, 'GET%');
      assert.ok(Buffer.byteLength(answer) <= 1024, `${Buffer.byteLength(answer)} bytes`);
      const ids = tuples(answer);
      assert.equal(ids[ids.length - 1], 21, 'ends with the newest post');
      assert.ok(whole.endsWith(answer.slice(answer.indexOf('('))), 'the newest of the same list, written the same way');
      assert.ok(Buffer.byteLength(answer.replace(/\]%$/, `, (${ids[0]! - 1}, '${long(ids[0]! - 3)}')]%`)) > 1024, 'one more would not have fit');
      const seen = JSON.parse(await python(ORIGINAL_READ, [String(bounded.port)])) as Array<[number, string]>;
      assert.deepEqual(seen.map(([id]) => id), ids, 'the original client reads the whole answer');

      const huge = 'x'.repeat(2000);
      assert.equal(await ask(bounded.port, `POST${huge}%`), 'MSGPosting Message!%');
      assert.equal(await ask(bounded.port, 'GET%'), `MSG[(22, '${huge}')]%`);
      assert.equal(tuples(await ask(bounded.port, 'GET3%')).length, 3, 'GET<n>% is not bounded');
    } finally {
      await bounded.stop();
      await unbounded.stop();
    }
  });

  it('--classic-window on lab93 server changes the window', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'lab93-window-'));
    const s = await spawnServer(['--no-announce', '--db', join(dir, 'w.db'), '--classic-window', '5']);
    try {
      for (let i = 0; i < 8; i++) assert.equal(await ask(s.port, `POSTp${i}%`), 'MSGPosting Message!%');
      assert.equal(await ask(s.port, 'GET%'), "MSG[(5, 'p3'), (6, 'p4'), (7, 'p5'), (8, 'p6'), (9, 'p7')]%");
    } finally {
      s.proc.kill('SIGTERM');
      await s.exit();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the keep-alive transcript in docs/classic-board.md', () => {
  it('is what nc on a terminal really shows: each answer ends with its %, the next request follows it', async () => {
    const doc = readFileSync(new URL('../../docs/classic-board.md', import.meta.url), 'utf8');
    const block = /```\n(\$ nc localhost 8080\n[\s\S]*?)```/.exec(doc.slice(doc.indexOf('### Keep-alive')))?.[1];
    assert.ok(block, 'the transcript is in the Keep-alive section');
    const [prompt, first, ...rest] = block.trimEnd().split('\n');
    assert.equal(prompt, '$ nc localhost 8080');
    // Each later line is an answer (up to its first %: board texts never hold one) and what was typed next.
    const typed = [first!];
    const answers: string[] = [];
    for (const line of rest) {
      const cut = line.indexOf('%') + 1;
      assert.ok(cut > 0, `an answer on: ${line}`);
      answers.push(line.slice(0, cut));
      if (cut < line.length) typed.push(line.slice(cut));
    }
    assert.equal(answers.length, typed.length, 'every request typed is answered');

    // The board of "Trying it" (one post from nc), then the session, typed line by line.
    const b = await startBoard();
    const c = await BoardClient.connect(b.port);
    try {
      assert.equal(await ask(b.port, 'POSTHello from nc%'), 'MSGPosting Message!%');
      let screen = '';
      for (const t of typed) {
        c.write(t + '\n');
        screen += t + '\n' + (await c.next());
      }
      assert.equal(screen, block.slice(block.indexOf('\n') + 1).trimEnd());
      assert.equal(c.rest, '', 'no line break or anything else after the answers');
    } finally {
      c.close();
      await b.stop();
    }
  });
});
