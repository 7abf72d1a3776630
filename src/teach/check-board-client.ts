/**
 * `lab93 check client --classic -- CMD [ARGS…]`: runs a student's board client against a
 * scripted board on a free local port (docs/classic-board.md). The program is run once per case,
 * as a board client is used: `CMD ARGS` must print the board, `CMD ARGS MESSAGE` must post
 * MESSAGE (and may print the board after). `{host}` and `{port}` in ARGS are replaced;
 * LAB93_HOST and LAB93_PORT are set.
 *
 * The scripted board answers as the real one does: one exchange per connection (the requests
 * that came with the first complete one, then close) unless the program sends KEEP% first,
 * ERRUnknown Command% for anything but POST, GET and KEEP, ERRTimeout!% when the `%` does
 * not come.
 */
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ClassicSplitter, ANSWERS, parseRequest, trimLeadingNewlines, type ClassicRequest } from '../protocol/classic.js';
import { pyReprTuple } from '../protocol/pyrepr.js';
import { diagnoseBoard, hint } from '../protocol/hints.js';
import { NotAttempted, START_MS, fail, programArgs, runCases, spawnProgram, type Case, type CaseEnv } from './case.js';
import { formatReport, type CaseResult } from './report.js';
import { visibleText, type Transcript } from './probe.js';

const D = 'docs/classic-board.md';

/** What the scripted board saw on one connection. */
interface SeenConn {
  name: string;
  /** Complete requests (without their `%`) it answered, in order. */
  requests: Buffer[];
  /** Bytes sent after the answer on a connection that was not kept: the real board never reads them. */
  late: Buffer[];
  /** Bytes that never got their `%` when the connection ended. */
  pending: Buffer;
  keep: boolean;
}

/** How the scripted board answers one request; `pieces` > 1 writes the answer in that many parts, a pause apart. */
type Script = (req: ClassicRequest) => { answer: string; pieces?: number };

/** A run of the program: what it printed and what the board saw. */
interface Run {
  output: string;
  conns: SeenConn[];
  exited: boolean;
}

export interface BoardClientEnv extends CaseEnv {
  wait: number;
  /** Runs the program (with `extra` arguments appended) against the board answering by `script`. */
  run(extra: string[], script: Script): Promise<Run>;
}

/** Bytes as they went over the wire, readable (src/teach/probe.ts, visibleText); a request with its `%`. */
const shown = (b: Buffer, percent = true): string => visibleText(b.toString('utf8')) + (percent ? '%' : '');

/** The scripted board: one listener for the whole check; each run gets a fresh script and transcript. */
class ScriptedBoard {
  readonly server = net.createServer({ allowHalfOpen: true, noDelay: true });
  private script: Script = () => ({ answer: ANSWERS.unknown });
  private t: Transcript | null = null;
  private seen: SeenConn[] = [];
  private readonly sockets = new Set<net.Socket>();
  private count = 0;

  constructor(private readonly wait: number) {
    this.server.on('connection', (s) => this.accept(s));
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as net.AddressInfo).port;
  }

  begin(script: Script, t: Transcript): SeenConn[] {
    this.script = script;
    this.t = t;
    this.seen = [];
    this.count = 0;
    return this.seen;
  }

  /** Resolves once every connection of this run is closed, or after `ms`. */
  async settle(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.sockets.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.sockets) s.destroy();
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private accept(sock: net.Socket): void {
    const t = this.t;
    const c: SeenConn = { name: `B${++this.count}`, requests: [], late: [], pending: Buffer.alloc(0), keep: false };
    this.seen.push(c);
    this.sockets.add(sock);
    const splitter = new ClassicSplitter();
    let answered = false;
    let timedOut = false;
    let busy: Promise<void> = Promise.resolve();
    // The board's request timeout, shortened, from the first byte of a request: a request without
    // its `%` is answered ERRTimeout!%. Silence gets longer, as a loaded machine may be slow to write.
    let timer: NodeJS.Timeout | null = null;
    const timeout = (why: string): void => {
      if (timer) clearTimeout(timer);
      c.pending = splitter.peek();
      t?.add(c.name, '*', `${c.pending.length > 0 ? `${c.pending.length} bytes and no %` : 'nothing sent'} ${why}: the board times out`);
      answered = timedOut = true;
      this.write(sock, c.name, ANSWERS.timeout, 1).then(() => sock.end(), () => {});
    };
    const arm = (ms: number): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => timeout(`after ${ms} ms`), ms);
    };
    arm(this.wait * 4);
    sock.on('error', () => {});
    sock.on('end', () => {
      t?.add(c.name, '*', 'the program closed its side');
      // As the board: once the program half-closes, an unfinished request can never end.
      if (!answered && (splitter.pending > 0 || c.requests.length === 0)) timeout('when the program closed its side');
      else if (c.keep) {
        if (timer) clearTimeout(timer);
        void busy.then(() => sock.end());
      }
    });
    sock.on('close', () => {
      if (timer) clearTimeout(timer);
      this.sockets.delete(sock);
      if (!answered && splitter.pending > 0) c.pending = splitter.peek();
    });
    sock.on('data', (chunk: Buffer) => {
      if (timedOut) {
        t?.add(c.name, '<', `${shown(chunk, false)}   (after the timeout: the board never reads it)`);
        return;
      }
      if (answered && !c.keep) {
        // A line break after the % is harmless: the board just never reads it.
        if (/\S/.test(chunk.toString('latin1'))) c.late.push(chunk);
        t?.add(c.name, '<', `${shown(chunk, false)}   (after the answer: the board never reads it)`);
        return;
      }
      const before = splitter.pending;
      const r = splitter.push(chunk);
      if (r.requests.length === 0) {
        if (splitter.pending > 0) t?.add(c.name, '<', `${shown(chunk, false)}   (no % yet)`);
        if (before === 0 && splitter.pending > 0) arm(this.wait);
        return;
      }
      if (timer) clearTimeout(timer);
      for (const body of r.requests) {
        const read = c.keep ? trimLeadingNewlines(body) : body;
        const req = parseRequest(read);
        c.requests.push(read);
        t?.add(c.name, '<', shown(body));
        if (req.type === 'keep' && !c.keep) {
          c.keep = true;
          splitter.trimNewlines();
        }
        const a = req.type === 'keep' ? { answer: ANSWERS.keepAlive } : this.script(req);
        busy = busy.then(() => this.write(sock, c.name, a.answer, a.pieces ?? 1));
      }
      if (!c.keep) {
        // As the real board: what came with the first complete request is answered, then it closes.
        answered = true;
        c.pending = splitter.peek();
        void busy.then(() => sock.end());
      } else arm(splitter.pending > 0 ? this.wait : this.wait * 4);
    });
  }

  private async write(sock: net.Socket, name: string, answer: string, pieces: number): Promise<void> {
    const b = Buffer.from(answer, 'utf8');
    const size = Math.ceil(b.length / pieces);
    for (let i = 0; i < b.length; i += size) {
      if (i > 0) await new Promise((r) => setTimeout(r, 150));
      if (sock.destroyed) return;
      const part = b.subarray(i, i + size);
      this.t?.add(name, '>', shown(part, false) + (pieces > 1 ? `   (piece ${i / size + 1} of ${pieces})` : ''));
      await new Promise<void>((r) => sock.write(part, () => r()));
    }
  }
}

/** The board the scripted GET lists: a marker the program must show, tricky texts for the optional repr case. */
function boardAnswer(texts: string[]): string {
  const rows: Array<[number, string]> = [[1, 'Server has Started'], ...texts.map((x, i): [number, string] => [i + 2, x])];
  return 'MSG[' + rows.map(([id, x]) => pyReprTuple(id, x)).join(', ') + ']%';
}

const GET_OK = (tag: string, texts = [`board ${tag} line`]): Script => (req) => (req.type === 'get' ? { answer: boardAnswer(texts) } : req.type === 'post' ? { answer: ANSWERS.posted } : { answer: ANSWERS.unknown });

/** The first complete request of a run but KEEP%, or a failure that says why there is none. */
function firstRequest(run: Run): Buffer {
  for (const c of run.conns) for (const b of c.requests) if (parseRequest(b).type !== 'keep') return b;
  const cut = run.conns.find((c) => c.pending.length > 0);
  if (cut !== undefined) fail(`no request ended: "${shown(cut.pending, false)}" came without a %; ${hint('board-missing-percent').hint}`);
  if (run.conns.length === 0) fail(`the program never connected${run.exited ? ' (it exited: does it take the host and port from its arguments, or LAB93_HOST and LAB93_PORT?)' : ''}`);
  fail(`the program connected but sent no request${run.exited ? '' : ' (still running when the checker gave up)'}`);
}

/** A request the board answers ERRUnknown Command%: what the student most likely did. */
function unknownBecause(body: Buffer): string {
  const id = diagnoseBoard(body.toString('utf8'));
  return id === null ? 'the board answers ERRUnknown Command%' : `the board answers ERRUnknown Command%: ${hint(id).hint}`;
}

export const BOARD_CLIENT_CASES: Case<BoardClientEnv>[] = [
  {
    name: 'post-request', level: 'required',
    expected: '`CMD ARGS MESSAGE` connects and sends exactly POST<MESSAGE>%',
    mistake: 'a lower-case post, no % at the end (the board waits for it), or a space or line break before POST',
    section: `${D}#the-protocol`,
    async run(env) {
      const message = `checker ${env.tag} says hi`;
      const r = await env.run([message], GET_OK(env.tag));
      const body = firstRequest(r);
      const want = `POST${message}`;
      if (body.toString('utf8') === want) return;
      const type = parseRequest(body).type;
      if (type === 'unknown') fail(`the first request was "${shown(body)}", not "${want}%": ${unknownBecause(body)}`);
      if (type !== 'post') fail(`the first request was "${shown(body)}", not "${want}%": run with a MESSAGE, a board client posts it first`);
      fail(`the first request was "${shown(body)}": the text after POST should be exactly "${message}", up to the %`);
    },
  },
  {
    name: 'get-request', level: 'required',
    expected: '`CMD ARGS` connects and sends GET%',
    mistake: 'a lower-case get, or no % at the end (the board waits for it)',
    section: `${D}#the-protocol`,
    async run(env) {
      const r = await env.run([], GET_OK(env.tag));
      const body = firstRequest(r);
      const type = parseRequest(body).type;
      if (type === 'unknown') fail(`the first request was "${shown(body)}", not "GET%": ${unknownBecause(body)}`);
      if (type !== 'get') fail(`the first request was "${shown(body)}", not "GET%": run without a MESSAGE, a board client only reads the board`);
    },
  },
  {
    name: 'shows-board', level: 'required',
    expected: 'the board of the GET answer is shown (as the list, or its texts)',
    mistake: 'printing nothing, or only the first line of the answer',
    section: `${D}#the-board-in-a-get-answer`,
    async run(env) {
      const marker = `board ${env.tag} line`;
      const r = await env.run([], GET_OK(env.tag, [marker]));
      if (!r.conns.some((c) => c.requests.some((b) => parseRequest(b).type === 'get'))) throw new NotAttempted('the program sent no GET% (see get-request)');
      if (!r.output.includes(marker)) fail(`the program never printed "${marker}", which the GET answer listed`);
    },
  },
  {
    name: 'split-answer', level: 'required',
    expected: 'an answer that arrives in three reads is shown whole: the program reads until the server closes (or up to the %)',
    mistake: 'taking one read (recv) as the whole answer: a long board comes in several',
    section: `${D}#connections`,
    async run(env) {
      const texts = [`first ${env.tag}`, 'x'.repeat(40), `last of the split ${env.tag}`];
      const r = await env.run([], (req) => (req.type === 'get' ? { answer: boardAnswer(texts), pieces: 3 } : { answer: ANSWERS.unknown }));
      if (!r.conns.some((c) => c.requests.some((b) => parseRequest(b).type === 'get'))) throw new NotAttempted('the program sent no GET% (see get-request)');
      if (!r.output.includes(texts[2]!)) fail(`the program never printed "${texts[2]}", which came in the last piece of the answer`);
    },
  },
  {
    name: 'shows-errors', level: 'required',
    expected: 'an ERR…% answer to a POST is shown, not swallowed',
    mistake: 'printing nothing when the answer is not MSGPosting Message!%: the student never learns why',
    section: `${D}#errors`,
    async run(env) {
      const r = await env.run([`checker ${env.tag} error`], (req) => (req.type === 'post' ? { answer: ANSWERS.boardFull } : GET_OK(env.tag)(req)));
      if (!r.conns.some((c) => c.requests.some((b) => parseRequest(b).type === 'post'))) throw new NotAttempted('the program sent no POST (see post-request)');
      if (!r.output.includes('Board Full')) fail('the board answered ERRBoard Full%, and the program did not print it');
    },
  },
  {
    name: 'one-exchange', level: 'required',
    expected: 'one request per connection (or KEEP% first): nothing is sent on a connection after its answer',
    mistake: 'sending the next request on the connection the board has answered: it answers once and closes, so the request is never read',
    section: `${D}#connections`,
    async run(env) {
      const r = await env.run([`checker ${env.tag} once`], GET_OK(env.tag));
      const late = r.conns.find((c) => c.late.length > 0);
      if (late !== undefined) fail(`"${shown(Buffer.concat(late.late), false)}" came on ${late.name} after its answer: ${hint('board-one-exchange').hint}`);
      if (r.conns.every((c) => c.requests.length === 0)) throw new NotAttempted('the program sent no complete request (see post-request)');
    },
  },
  {
    name: 'reads-repr', level: 'optional',
    expected: "the texts of the list are shown as posted: \"it's\" as it's, 'back\\\\slash' with one backslash (ast.literal_eval, or a parser of Python's repr)",
    mistake: 'printing the answer as it came is fine for a start; reading it back into (number, text) pairs is the next step',
    section: `${D}#the-board-in-a-get-answer`,
    async run(env) {
      const texts = [`back\\slash ${env.tag}`, `it's ${env.tag}`];
      const r = await env.run([], GET_OK(env.tag, texts));
      if (!r.conns.some((c) => c.requests.some((b) => parseRequest(b).type === 'get'))) throw new NotAttempted('the program sent no GET% (see get-request)');
      for (const x of texts) if (!r.output.includes(x)) fail(`the program did not print "${x}" as posted (the answer wrote it ${pyReprTuple(0, x).slice(4, -1)})`);
    },
  },
];

export interface CheckBoardClientOptions { command: string; args: string[]; waitMs?: number }

export async function checkBoardClient(o: CheckBoardClientOptions): Promise<{ results: CaseResult[]; report: string }> {
  const wait = o.waitMs ?? 2000;
  const board = new ScriptedBoard(wait);
  const port = await board.listen();
  const args = programArgs(o.args, port);
  const run = async (t: Transcript, extra: string[], script: Script): Promise<Run> => {
    const conns = board.begin(script, t);
    t.add('*', '*', `run: ${[o.command, ...args, ...extra.map((x) => JSON.stringify(x))].join(' ')}`);
    const child = spawnProgram(o.command, [...args, ...extra], port);
    // A board client takes its message as an argument: its stdin is empty.
    child.stdin.on('error', () => {});
    child.stdin.end();
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const exit = new Promise<boolean>((r) => {
      child.on('close', () => r(true));
      child.on('error', (err) => {
        output += `[could not start: ${err.message}]\n`;
        r(true);
      });
    });
    // Generous: an interpreter starting on a loaded machine, plus the board's timeout for a missing %.
    let timer: NodeJS.Timeout | undefined;
    const limit = wait * 5 + START_MS;
    const exited = await Promise.race([exit, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), limit)))]);
    clearTimeout(timer);
    if (!exited) {
      t.add('*', '*', `the program was still running after ${limit / 1000} s: stopped`);
      child.kill();
      await exit;
    }
    await board.settle(1000);
    const printed = output.trim().split('\n').filter((l) => l !== '');
    t.add('*', '*', printed.length === 0 ? 'the program printed nothing' : `the program printed (last lines): ${printed.slice(-4).join(' | ')}`);
    return { output, conns, exited };
  };
  let results: CaseResult[];
  try {
    results = await runCases(BOARD_CLIENT_CASES, (t) => ({ t, tag: randomBytes(3).toString('hex'), wait, run: (extra, script) => run(t, extra, script) }));
  } finally {
    board.close();
  }
  return { results, report: formatReport(`lab93 check client --classic -- ${[o.command, ...o.args].join(' ')}`, results) };
}
