/**
 * `lab93 check client -- CMD [ARGS…]`: runs a student's client against a scripted server on a
 * free local port and drives it case by case over one connection (docs/protocol.md). `{host}`
 * and `{port}` in ARGS are replaced; LAB93_HOST and LAB93_PORT are set.
 */
import net from 'node:net';
import { once } from 'node:events';
import { LineSplitter } from '../protocol/line-splitter.js';
import { CaseFailure, formatReport, type CaseInfo, type CaseResult } from './report.js';
import { decodeLine, Transcript, type Packet } from './probe.js';
import { NotAttempted, START_MS, fail, programArgs, show, spawnProgram } from './case.js';
import { diagnoseFrame, hint, nearMiss } from '../protocol/hints.js';

/** The checker's side of the client's connection. */
class Accepted {
  readonly queue: Packet[] = [];
  mode: 'base64' | 'plain' | null = null;
  closed = false;
  /** Bytes of an unfinished line are waiting: a frame without its newline. */
  partial = false;
  private wake: (() => void) | null = null;
  constructor(readonly sock: net.Socket, private readonly t: Transcript, readonly name: string) {
    const splitter = new LineSplitter(1 << 20);
    sock.on('data', (chunk: Buffer) => {
      const got = splitter.push(chunk).lines;
      this.partial = splitter.buffered > 0;
      for (const line of got) {
        this.mode ??= line[0] === 0x7b ? 'plain' : 'base64';
        t.add(name, '<', this.mode === 'base64' ? decodeLine(line) : line.toString('utf8'));
        let p: unknown = null;
        try {
          p = JSON.parse(this.mode === 'plain' ? line.toString('utf8') : Buffer.from(line.toString('latin1'), 'base64').toString('utf8'));
        } catch {
          p = { type: '(not a frame)', raw: line.toString('latin1').slice(0, 80) };
        }
        if (p !== null && typeof p === 'object') this.queue.push(p as Packet);
      }
      this.poke();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.poke();
    });
  }
  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
  /**
   * Why an awaited frame may not have come: lines that arrived but are not frames of this
   * connection's framing (raw JSON after a base64 hello, say), with the hint for the first.
   */
  unframed(): string {
    const bad = this.queue.filter((p) => p.type === '(not a frame)');
    if (bad.length === 0) return '';
    const raw = String(bad[0]!.raw);
    const id = diagnoseFrame(Buffer.from(raw, 'latin1'), this.mode ?? 'base64');
    return `; ${bad.length} line(s) arrived that are not ${this.mode} frames, the first ${show(raw)}${id ? `: ${hint(id).hint}` : ''}`;
  }
  frame(p: Packet): Buffer {
    const json = JSON.stringify(p);
    return Buffer.from(this.mode === 'plain' ? json + '\n' : Buffer.from(json).toString('base64') + '\n');
  }
  send(p: Packet): void {
    this.t.add(this.name, '>', JSON.stringify(p));
    this.sock.write(this.frame(p));
  }
  async next(want: (p: Packet) => boolean, ms: number): Promise<Packet | null> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.queue.findIndex(want);
      if (i !== -1) return this.queue.splice(i, 1)[0]!;
      if (this.closed || Date.now() >= end) return null;
      await new Promise<void>((r) => {
        const timer = setTimeout(r, end - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
  }
}

interface ClientCase extends CaseInfo {
  run(s: Session): Promise<void>;
}

interface Session {
  conn: Accepted;
  t: Transcript;
  wait: number;
  lastId: number;
  reconnectMs: number;
  stdin: (line: string) => void;
  /** Resolves when the program's output contains `text`. */
  shows(text: string, ms?: number): Promise<boolean>;
  accept(ms: number): Promise<Accepted | null>;
}

const P = 'docs/protocol.md';
const msg = (id: number, content: string, extra: Packet = {}): Packet => ({ type: 'message', id, uid: `k${id}`, username: 'checker', subject: null, content, room: 'lobby', to: null, timestamp: 1795300000 + id, verified: false, ...extra });

export const CLIENT_CASES: ClientCase[] = [
  {
    name: 'hello-first', level: 'required',
    expected: 'the first frame is a hello with a username, base64 of JSON (or raw JSON) ended by a newline',
    mistake: 'sending a message or the Python str() of a dict first, or no newline after the frame (the server waits forever)',
    section: `${P}#framing`,
    async run(s) {
      // Generous: an interpreter starting on a loaded machine may connect well before it writes.
      const h = await s.conn.next(() => true, s.wait * 5);
      if (h === null) fail(s.conn.partial ? `a frame began but never ended: ${hint('no-newline').hint}` : `nothing arrived: ${hint('message-before-hello').hint}`);
      if (h.type === '(not a frame)') {
        const id = diagnoseFrame(Buffer.from(String(h.raw), 'latin1'), 'base64');
        fail(`the first line is not a frame: ${show(h.raw)}${id ? `; ${hint(id).hint}` : ''}`);
      }
      if (h.type !== 'hello') fail(`the first frame should be {"type":"hello","username":…}, got ${show(h)}: ${hint('message-before-hello').hint}`);
      if (typeof h.username !== 'string') fail(`hello has no username: ${show(h)}${nearMiss(h, 'username') ? `; ${nearMiss(h, 'username')}` : ''}`);
      s.conn.send({ type: 'welcome', username: h.username, last_id: 0, users: [h.username], rooms: ['lobby'], server: 'lab93-check', protocol: 1, account: false });
      s.conn.send({ type: 'synced', last_id: 0, missed: 0 });
    },
  },
  {
    name: 'shows-messages', level: 'required',
    expected: 'a message is shown with its content, also when a frame arrives in two reads and two frames in one',
    mistake: 'treating each read (recv) as one frame instead of reading up to the newline',
    section: `${P}#framing`,
    async run(s) {
      const a = s.conn.frame(msg(++s.lastId, 'first of the split'));
      const b = s.conn.frame(msg(++s.lastId, 'second in the same read'));
      s.t.add(s.conn.name, '>', `"first of the split" in two writes, the second half with "second in the same read"`);
      s.conn.sock.write(a.subarray(0, 10));
      await new Promise((r) => setTimeout(r, 50));
      s.conn.sock.write(Buffer.concat([a.subarray(10), b]));
      for (const text of ['first of the split', 'second in the same read']) if (!(await s.shows(text))) fail(`the program never printed "${text}"`);
    },
  },
  {
    name: 'ignores-unknown', level: 'required',
    expected: 'an unknown packet type and unknown fields are ignored: the program goes on',
    mistake: 'crashing on a type it does not know (a KeyError or an unhandled case)',
    section: `${P}#packets`,
    async run(s) {
      s.conn.send({ type: 'sparkle', colour: 'gold' });
      s.conn.send(msg(++s.lastId, 'still here', { mood: 'new field' }));
      if (!(await s.shows('still here'))) fail(s.conn.closed ? 'the program closed the connection (crashed?)' : 'the message after the unknown packet was not printed');
    },
  },
  {
    name: 'ping-pong', level: 'required',
    expected: 'a ping is answered by {"type":"pong"} within a couple of seconds',
    mistake: 'not answering ping: the server closes a silent client with idle_timeout',
    section: `${P}#keeping-the-connection-alive`,
    async run(s) {
      s.conn.send({ type: 'ping' });
      if ((await s.conn.next((p) => p.type === 'pong', s.wait)) === null) fail(`no pong${s.conn.unframed()}`);
    },
  },
  {
    name: 'stdin-message', level: 'required',
    expected: 'a line typed on stdin becomes a message with that content and a uid',
    mistake: 'sending without a uid (a resend is then stored twice), or sending the newline in the content',
    section: `${P}#client-to-server`,
    async run(s) {
      s.stdin('typed by a student');
      const m = await s.conn.next((p) => p.type === 'message', s.wait * 2);
      if (m === null) fail(`no message arrived after a line on stdin${s.conn.unframed()}`);
      if (m.content !== 'typed by a student') fail(`content should be "typed by a student", got ${show(m)}`);
      if (typeof m.uid !== 'string' || m.uid.length === 0) fail(`the message has no uid: ${show(m)}`);
      s.conn.send({ type: 'ack', uid: m.uid, id: ++s.lastId, timestamp: 1795300100 });
    },
  },
  {
    name: 'errors-shown', level: 'required',
    expected: 'an error from the server is shown, not swallowed',
    mistake: 'ignoring error packets: the student never learns why nothing works',
    section: `${P}#errors`,
    async run(s) {
      s.conn.send({ type: 'error', code: 'not_in_room', message: 'shown to the student 4711' });
      if (!(await s.shows('4711'))) fail('the error\'s message ("shown to the student 4711") was not printed');
    },
  },
  {
    name: 'reconnect-since-uid', level: 'optional',
    expected: 'after the connection drops, the program reconnects, sends since with the last id it saw, and resends an unacked message with the same uid',
    mistake: 'not reconnecting, a hello without since, or a new uid for the resent message',
    section: `${P}#cursors`,
    async run(s) {
      if (s.reconnectMs === 0) throw new NotAttempted('skipped (--no-reconnect)');
      s.stdin('not acked yet');
      const m = await s.conn.next((p) => p.type === 'message', s.wait * 2);
      if (m === null) throw new NotAttempted('the program sent no message to leave unacked');
      s.t.add(s.conn.name, '*', 'the checker drops the connection');
      s.conn.sock.destroy();
      const again = await s.accept(s.reconnectMs);
      if (again === null) fail(`the program did not reconnect within ${s.reconnectMs / 1000} s`);
      s.conn = again;
      const h = await again.next(() => true, s.wait);
      if (h?.type !== 'hello') fail(`the first frame after reconnecting should be hello, got ${show(h)}`);
      if (h.since !== s.lastId - 1 && h.since !== s.lastId) fail(`hello should carry since ${s.lastId - 1} (the last message id shown), got ${show(h.since)}`);
      again.send({ type: 'welcome', username: h.username, last_id: s.lastId, users: [h.username], rooms: ['lobby'], server: 'lab93-check', protocol: 1, account: false });
      again.send({ type: 'synced', last_id: s.lastId, missed: 0 });
      const r = await again.next((p) => p.type === 'message', s.wait * 2);
      if (r === null || r.uid !== m.uid) fail(`the unacked message should come again with uid ${String(m.uid)}, got ${show(r)}`);
    },
  },
];

/** `reconnectMs`: how long the program has to reconnect (default 8000; 0 skips the case). */
export interface CheckClientOptions { command: string; args: string[]; waitMs?: number; reconnectMs?: number }

export async function checkClient(o: CheckClientOptions): Promise<{ results: CaseResult[]; report: string; output: string }> {
  const server = net.createServer();
  const waiting: net.Socket[] = [];
  let onConn: (() => void) | null = null;
  server.on('connection', (s) => {
    waiting.push(s);
    onConn?.();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const child = spawnProgram(o.command, programArgs(o.args, port), port);
  let output = '';
  let changed: (() => void) | null = null;
  const take = (d: Buffer): void => {
    output += d.toString('utf8');
    changed?.();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  child.stdin.on('error', () => {});
  child.on('error', (err) => take(Buffer.from(`\n[could not start: ${err.message}]\n`)));
  const t = new Transcript();
  const accept = async (ms: number): Promise<Accepted | null> => {
    const end = Date.now() + ms;
    while (waiting.length === 0 && Date.now() < end) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, end - Date.now());
        onConn = () => { clearTimeout(timer); r(); };
      });
    }
    const sock = waiting.shift();
    return sock ? new Accepted(sock, t, 'C') : null;
  };
  const wait = o.waitMs ?? 2000;
  const results: CaseResult[] = [];
  // Starting an interpreter (python3, node with a loader) on a loaded lab machine can take
  // seconds, whatever the program does: its first connection gets at least START_MS.
  const first = await accept(Math.max(wait * 5, START_MS));
  const session: Session | null = first && {
    conn: first, t, wait, lastId: 0, reconnectMs: o.reconnectMs ?? 8000,
    stdin: (line) => {
      t.add('C', '*', `stdin: ${line}`);
      child.stdin.write(line + '\n');
    },
    async shows(text, ms = wait) {
      const end = Date.now() + ms;
      while (!output.includes(text) && Date.now() < end) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, Math.max(0, end - Date.now()));
          changed = () => { clearTimeout(timer); r(); };
        });
      }
      return output.includes(text);
    },
    accept,
  };
  let broken = first === null ? 'the program never connected' : '';
  for (const c of CLIENT_CASES) {
    const { run, ...info } = c;
    const from = t.lines.length;
    if (session === null || broken !== '') {
      results.push({ ...info, status: c.name === 'hello-first' && session === null ? 'fail' : 'not attempted', observed: broken, excerpt: [] });
      continue;
    }
    try {
      await run(session);
      results.push({ ...info, status: 'pass', observed: 'as expected', excerpt: [] });
    } catch (err) {
      const excerpt = t.lines.slice(Math.max(0, from - 2));
      if (err instanceof NotAttempted) results.push({ ...info, status: 'not attempted', observed: err.message, excerpt });
      else results.push({ ...info, status: 'fail', observed: err instanceof CaseFailure ? err.message : String(err), excerpt });
      if (c.name === 'hello-first') broken = 'the hello did not arrive (see hello-first)';
    }
  }
  child.kill();
  for (const s of waiting) s.destroy();
  session?.conn.sock.destroy();
  server.close();
  const report = formatReport(`lab93 check client -- ${[o.command, ...o.args].join(' ')}`, results);
  return { results, report: output.trim() === '' ? report : report + `\nThe program printed (last lines):\n${output.trim().split('\n').slice(-8).map((l) => '    ' + l).join('\n')}\n`, output };
}
