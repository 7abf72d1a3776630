/**
 * What `lab93 check server --classic HOST:PORT` checks: the teaching board's `%` protocol byte
 * for byte against the original server's answers (recorded in test/fixtures/classic/*.json;
 * docs/classic-board.md). A live board already holds messages, so a GET is checked by its end:
 * the posts this run made, as Python's repr prints them.
 */
import net from 'node:net';
import { fail, type Case, type CaseEnv } from './case.js';
import type { Transcript } from './probe.js';

export interface ClassicEnv extends CaseEnv {
  host: string;
  port: number;
  wait: number;
}

const D = 'docs/classic-board.md';
const POSTED = 'MSGPosting Message!%';
const UNKNOWN = 'ERRUnknown Command%';

/** One connection as the original client makes it: write the parts, read until the server closes. */
export function exchange(env: ClassicEnv, parts: Array<string | Buffer>, label = 'A'): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const t: Transcript = env.t;
    const sock = net.connect({ host: env.host, port: env.port });
    const chunks: Buffer[] = [];
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      const answer = Buffer.concat(chunks).toString('utf8');
      t.add(label, '<', JSON.stringify(answer).slice(1, -1) + (closed ? '' : '   (still open)'));
      if (closed) t.add(label, '*', 'connection closed by the server');
      sock.destroy();
      resolve({ answer, closed });
    };
    const timer = setTimeout(() => done(false), env.wait);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => {});
    sock.on('close', () => done(true));
    sock.once('connect', async () => {
      for (const p of parts) {
        const b = Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8');
        t.add(label, '>', Buffer.isBuffer(p) ? `bytes ${b.toString('hex')}` : JSON.stringify(p).slice(1, -1));
        await new Promise<void>((r) => sock.write(b, () => setImmediate(r)));
      }
    });
  });
}

function same(what: string, got: { answer: string; closed: boolean }, answer: string): void {
  if (got.answer !== answer) fail(`${what}: expected ${JSON.stringify(answer)}, got ${JSON.stringify(got.answer)}`);
  if (!got.closed) fail(`${what}: the original closes the connection after answering; this one stayed open`);
}

/** A GET's answer must be the board's list, ending with these entries (repr as recorded from Python). */
async function getEndsWith(env: ClassicEnv, reprs: string[]): Promise<void> {
  const got = await exchange(env, ['GET%'], 'G');
  if (!got.answer.startsWith('MSG[(')) fail(`GET should answer MSG[(1, 'Server has Started'), …]%, got ${JSON.stringify(got.answer.slice(0, 80))}`);
  // Ids are whatever the board is at: compare the entries with their ids taken out.
  const withoutIds = got.answer.replace(/\((\d+), /g, '(');
  const want = reprs.map((r) => `(${r})`).join(', ') + ']%';
  if (!withoutIds.endsWith(want)) fail(`GET should end with ${JSON.stringify(want.replace(/\(/g, '(N, '))}, got …${JSON.stringify(got.answer.slice(-120))}`);
  if (!got.closed) fail('the original closes the connection after a GET');
}

export const CLASSIC_CASES: Case<ClassicEnv>[] = [
  {
    name: 'post-answer',
    level: 'required',
    expected: `POST<text>% is answered ${POSTED} and the connection closed`,
    mistake: 'a different answer text, a missing %, or keeping the connection open',
    section: `${D}`,
    async run(env) {
      same('POST', await exchange(env, [`POSTcheck ${env.tag}%`]), POSTED);
      await getEndsWith(env, [`'check ${env.tag}'`]);
    },
  },
  {
    name: 'unknown-and-lower-case',
    level: 'required',
    expected: `anything but GET and POST (lower-case post and get too, and a lone %) is answered ${UNKNOWN}`,
    mistake: 'matching commands without regard to case, or answering nothing',
    section: `${D}`,
    async run(env) {
      for (const req of ['YOLO%', 'post%', 'get%', '%', ' GET%']) same(JSON.stringify(req), await exchange(env, [req]), UNKNOWN);
    },
  },
  {
    name: 'several-in-one-write',
    level: 'required',
    expected: 'requests in one write are answered in order, each ended by %',
    mistake: 'handling only the first request of a read',
    section: `${D}`,
    async run(env) {
      const got = await exchange(env, [`POSTone${env.tag}%POSTtwo${env.tag}%BAD%`]);
      same('two POSTs and a BAD in one write', got, POSTED + POSTED + UNKNOWN);
      await getEndsWith(env, [`'one${env.tag}'`, `'two${env.tag}'`]);
    },
  },
  {
    name: 'split-every-byte',
    level: 'required',
    expected: 'a request arriving one byte per read is answered once the % arrives',
    mistake: 'treating each read as one request instead of reading up to the %',
    section: `${D}`,
    async run(env) {
      same('POST one byte per write', await exchange(env, [...`POSTsplit${env.tag}%`]), POSTED);
      await getEndsWith(env, [`'split${env.tag}'`]);
    },
  },
  {
    name: 'python-repr',
    level: 'required',
    expected: "GET shows each post as Python's repr: quotes switch for ', backslashes doubled, controls escaped, non-printables as \\x/\\u",
    mistake: "printing the text as it is, or always in ' quotes: the original prints str() of a list of tuples",
    section: `${D}`,
    async run(env) {
      const posts = ["it's", 'back\\slash', 'tab\there', 'café', '\u00a0nbsp', '\u200bzwsp', `both ' and "`];
      const reprs = [`"it's"`, `'back\\\\slash'`, `'tab\\there'`, `'café'`, `'\\xa0nbsp'`, `'\\u200bzwsp'`, `'both \\' and "'`];
      for (const p of posts) same(`POST ${JSON.stringify(p)}`, await exchange(env, [`POST${p}%`]), POSTED);
      await getEndsWith(env, reprs);
    },
  },
  {
    name: 'buffer-and-utf8',
    level: 'required',
    expected: '4000 bytes without % get ERRBuffer Overloaded%; a POST that is not UTF-8 gets ERRInvalid UTF-8%',
    mistake: 'buffering without a limit, or storing bytes that are not text',
    section: `${D}`,
    async run(env) {
      same('4000 bytes without %', await exchange(env, ['a'.repeat(4000)]), 'ERRBuffer Overloaded%');
      same('POST of bytes ff fe', await exchange(env, [Buffer.from('UE9TVP/+JQ==', 'base64')]), 'ERRInvalid UTF-8%');
    },
  },
];
