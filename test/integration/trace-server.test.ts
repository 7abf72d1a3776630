/**
 * The decoded trace: lab93's server with a trace sink shows each broken client's mistake with its
 * hint, leaves content out unless asked, and `lab93 trace` shows it readably and filtered.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import type { ServerOptions } from '../../src/server/config.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { formatTraceLine, type TraceRecord } from '../../src/teach/trace.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { traceRecords } from '../helpers/trace-records.js';
import { ROOT, spawnServer } from '../helpers/spawn-server.js';
import { WireClient } from '../helpers/wire-client.js';

const FIX = join(ROOT, 'test/fixtures/teach');

type Traced = { port: number; records: TraceRecord[]; waitFor(pred: (r: TraceRecord) => boolean, what?: string): Promise<TraceRecord>; stop(): Promise<void> };

async function traced(content = false, options: Partial<ServerOptions> = {}): Promise<Traced> {
  const { trace, records, waitFor } = traceRecords(content);
  const s = await startServer(options, { trace });
  return {
    port: s.port,
    records,
    waitFor,
    async stop() {
      await s.stop();
      removeDir(s.dir);
    },
  };
}

function run(file: string, port: number): ReturnType<typeof spawn> {
  const cmd = file.endsWith('.py') ? 'python3' : process.execPath;
  return spawn(cmd, [join(FIX, file), '127.0.0.1', String(port)], { stdio: ['pipe', 'ignore', 'ignore'] });
}

describe('the trace shows each broken client\'s mistake with its hint', () => {
  // Every broken v1 client of test/fixtures/teach whose mistake reaches the server. The others
  // make theirs where no server can see it, so the trace cannot show it and the checker
  // (`lab93 check client`, check-client.test.ts) is where they fail:
  // - one-read-one-frame.cjs mis-reads what the server sends (a frame split over two reads, two
  //   frames in one read); what it sends is right.
  // - swallow-errors.py drops the error packets it receives; the server sent them all the same.
  // - crash-unknown.cjs crashes on a packet type lab93 never sends (the checker sends one).
  const cases: Array<{ file: string; code: string; hint: RegExp; message?: RegExp; options?: Partial<ServerOptions>; stdin?: string }> = [
    { file: 'message-first.cjs', code: 'not_hello', hint: /send \{"type":"hello","username":…\} first/ },
    { file: 'user-field.cjs', code: 'bad_packet', hint: /"user": did you mean `username`\?/ },
    // The hello without "\n" never ends: the server waits until the hello timeout, and then says
    // what it saw (bytes with no newline after them) and what to do.
    { file: 'no-newline.py', code: 'hello_timeout', hint: /end every frame with \\n/, message: /no hello within 600 ms; \d+ bytes arrived with no \\n after them, so no frame ended: end every frame with \\n/, options: { helloTimeoutMs: 600 } },
    { file: 'no-pong.py', code: 'idle_timeout', hint: /answer every \{"type":"ping"\} with \{"type":"pong"\}/, options: { idleTimeoutMs: 400 } },
    // Its hello is base64, so the raw JSON message typed next is no frame of that connection.
    { file: 'json-after-base64.py', code: 'bad_frame', hint: /this connection is base64: encode each JSON frame with base64/, stdin: 'typed after the hello\n' },
  ];
  for (const c of cases) {
    it(`${c.file}: ${c.code} with its hint`, async () => {
      const t = await traced(false, c.options);
      const p = run(c.file, t.port);
      if (c.stdin) {
        await t.waitFor((r) => r.dir === 'out' && (r.packet as { type?: string }).type === 'synced', 'synced');
        p.stdin!.write(c.stdin);
      }
      try {
        const e = await t.waitFor((r) => r.dir === 'error', 'error');
        assert.equal(e.code, c.code);
        assert.match(e.hint ?? '', c.hint);
        // The error the client receives says what to do too; its code is unchanged.
        assert.match(e.message ?? '', c.hint);
        if (c.message) assert.match(e.message ?? '', c.message);
        const sent = await t.waitFor((r) => r.dir === 'out' && (r.packet as { type?: string }).type === 'error', 'error frame out');
        assert.deepEqual(sent.packet, { type: 'error', code: e.code, message: e.message });
        assert.match(formatTraceLine(JSON.stringify(e)) ?? '', /hint: /);
      } finally {
        p.kill();
        await t.stop();
      }
    });
  }

  it('hello_timeout after a ping and no hello: the hint is to send hello first, not the newline', async () => {
    const t = await traced(false, { helloTimeoutMs: 600 });
    const c = await WireClient.connect(t.port, 'plain');
    try {
      c.send({ type: 'ping' });
      const e = await t.waitFor((r) => r.dir === 'error', 'error');
      assert.equal(e.code, 'hello_timeout');
      assert.match(e.hint ?? '', /send \{"type":"hello"/);
      assert.doesNotMatch(`${e.hint} ${e.message}`, /newline|\\n/);
      assert.match((await c.next('error', 5000)).message, /^no hello within 600 ms; send \{"type":"hello"/);
    } finally {
      await c.close();
      await t.stop();
    }
  });

  it('idle_timeout while a frame waits for its newline: the hint is the newline, not the pong', async () => {
    const t = await traced(false, { idleTimeoutMs: 400 });
    const { c } = await WireClient.login(t.port, 'student', {}, 'plain');
    try {
      c.autoPong = false;
      await c.next('ping', 5000);
      c.sendRaw('{"type":"pong"}');
      const e = await t.waitFor((r) => r.dir === 'error', 'error');
      assert.equal(e.code, 'idle_timeout');
      assert.match(e.hint ?? '', /end every frame with \\n/);
      assert.match(e.message ?? '', /^silent for \d+ s; 15 bytes arrived with no \\n after them/);
    } finally {
      await c.close();
      await t.stop();
    }
  });

  // Mistakes lab93 forgives, so no error says them: the trace notes them on the frame in.
  const forgiven: Array<{ file: string; type: string; hint: RegExp; stdin?: string }> = [
    // On a plain connection lab93 reads str(dict), for the original Lab-93 client's sake.
    { file: 'str-dict.py', type: 'hello', hint: /str\(dict\) is Python's notation, not JSON: use json\.dumps/ },
    { file: 'no-uid.py', type: 'message', hint: /give each message a "uid".*a message resent after a reconnect is stored twice/, stdin: 'hello there\n' },
  ];
  for (const c of forgiven) {
    it(`${c.file}: accepted, and the trace notes the mistake on the frame in`, async () => {
      const t = await traced();
      const p = run(c.file, t.port);
      try {
        if (c.stdin !== undefined) p.stdin!.write(c.stdin);
        const r = await t.waitFor((x) => x.dir === 'in' && (x.packet as { type?: string }).type === c.type, `${c.type} in`);
        assert.match(r.hint ?? '', c.hint);
        if (c.type === 'message') await t.waitFor((x) => x.dir === 'out' && (x.packet as { type?: string }).type === 'ack', 'ack');
        else await t.waitFor((x) => x.dir === 'out' && (x.packet as { type?: string }).type === 'synced', 'synced');
        assert.equal(t.records.filter((x) => x.dir === 'error').length, 0, 'no error was sent');
        assert.match(formatTraceLine(JSON.stringify(r)) ?? '', new RegExp(`-> .*\\n +hint: ${c.hint.source}`));
      } finally {
        p.kill();
        await t.stop();
      }
    });
  }

  it('near-miss field names: "name" for username, "msg" and "text" for content', async () => {
    const t = await traced();
    try {
      const a = await WireClient.connect(t.port, 'base64');
      a.send({ type: 'hello', name: 'student' });
      const e1 = await t.waitFor((r) => r.dir === 'error', 'error');
      assert.equal(e1.code, 'bad_packet');
      assert.match(e1.hint ?? '', /^"name": did you mean `username`\?$/);
      assert.match((await a.next('error')).message, /"name": did you mean `username`\?/);
      await a.close();
      const { c: b } = await WireClient.login(t.port, 'student2', {}, 'base64');
      for (const k of ['msg', 'text']) {
        b.send({ type: 'message', uid: `u-${k}`, [k]: 'hi' });
        const e = await t.waitFor((r) => r.dir === 'error' && r.username === 'student2' && (r.hint ?? '').startsWith(`"${k}"`), `${k} error`);
        assert.equal(e.code, 'bad_packet');
        assert.equal(e.hint, `"${k}": did you mean \`content\`?`);
        const got = await b.next('error');
        assert.equal(got.uid, `u-${k}`);
        assert.match(got.message, new RegExp(`"${k}": did you mean \`content\`\\?`));
      }
      await b.close();
    } finally {
      await t.stop();
    }
  });

  it('JSON sent without base64 on a base64 connection: bad_frame with the base64 hint', async () => {
    const t = await traced();
    const sock = net.connect(t.port, '127.0.0.1');
    try {
      sock.write(Buffer.from(JSON.stringify({ type: 'hello', username: 'mixer' })).toString('base64') + '\n');
      await t.waitFor((r) => r.dir === 'out' && (r.packet as { type?: string }).type === 'synced');
      sock.write('{"type":"message","content":"hi"}\n');
      const e = await t.waitFor((r) => r.dir === 'error');
      assert.equal(e.code, 'bad_frame');
      assert.equal(e.username, 'mixer');
      assert.match(e.hint ?? '', /this connection is base64/);
      assert.match(e.message ?? '', /^not base64: this connection is base64/);
    } finally {
      sock.destroy();
      await t.stop();
    }
  });

  it('every frame out is traced: a reconnecting client\'s catch-up, history, presence', async () => {
    const t = await traced();
    const type = (r: TraceRecord): string | undefined => (r.packet as { type?: string } | undefined)?.type;
    try {
      const { c: reader } = await WireClient.login(t.port, 'reader', {}, 'base64');
      const { c: writer } = await WireClient.login(t.port, 'writer', {}, 'base64');
      // Presence goes out encoded once for the room: it is traced on each receiver's connection.
      await t.waitFor((r) => r.dir === 'out' && r.username === 'reader' && type(r) === 'presence', 'presence to reader');
      writer.send({ type: 'message', uid: 'w1', content: 'one' });
      const seen = (await reader.next('message')).id as number;
      await t.waitFor((r) => r.dir === 'out' && r.username === 'reader' && type(r) === 'message', 'live message to reader');
      await reader.close();
      for (const uid of ['w2', 'w3']) {
        writer.send({ type: 'message', uid, content: `after ${uid}` });
        await writer.next('ack');
      }
      const { c: back, backlog } = await WireClient.login(t.port, 'reader', { since: seen }, 'base64');
      assert.deepEqual(backlog.map((m) => m.uid), ['w2', 'w3']);
      // Traced before it was written, so the client holding `synced` means the trace has it all.
      const welcomes = t.records.filter((r) => r.dir === 'out' && r.username === 'reader' && type(r) === 'welcome');
      assert.equal(welcomes.length, 2);
      const welcome = welcomes[1]!;
      const out = t.records.filter((r) => r.conn === welcome.conn && r.dir === 'out');
      assert.deepEqual(out.slice(0, 4).map(type), ['welcome', 'message', 'message', 'synced']);
      assert.deepEqual(out.slice(1, 3).map((r) => (r.packet as { uid: string }).uid), ['w2', 'w3']);
      // Content stays out of the trace in catch-up too.
      assert.equal((out[1]!.packet as { content: string }).content, '(8 bytes)');
      back.send({ type: 'history', room: 'lobby', limit: 2 });
      const h = await t.waitFor((r) => r.conn === welcome.conn && r.dir === 'out' && type(r) === 'history', 'history out');
      assert.deepEqual((h.packet as { messages: Array<{ uid: string; content: string }> }).messages.map((m) => [m.uid, m.content]), [['w2', '(8 bytes)'], ['w3', '(8 bytes)']]);
      await back.close();
      await writer.close();
    } finally {
      await t.stop();
    }
  });

  it('connections refused before any session are traced too: server_busy, and board bytes where the board is off', async () => {
    const t = await traced(false, { maxConnectionsPerAddress: 1 });
    const first = await WireClient.connect(t.port, 'plain');
    const second = await WireClient.connect(t.port, 'plain');
    try {
      assert.match((await second.next('error')).message, /too many connections from your address: close some of them/);
      const e = await t.waitFor((r) => r.dir === 'error', 'refusal');
      assert.deepEqual([e.code, e.conn, e.address], ['server_busy', '-', '127.0.0.1']);
      assert.match(formatTraceLine(JSON.stringify(e)) ?? '', / - 127\.0\.0\.1 !! server_busy: too many connections from your address/);
    } finally {
      await first.close();
      await second.close();
      await t.stop();
    }
    const u = await traced();
    const board = net.connect(u.port, '127.0.0.1');
    try {
      board.write('GET%');
      const e = await u.waitFor((r) => r.dir === 'error', 'refusal');
      assert.equal(e.code, 'bad_frame');
      assert.match(e.message ?? '', /classic board is off: send base64 of JSON, or JSON, ended by \\n/);
    } finally {
      board.destroy();
      await u.stop();
    }
  });

  it('every error for a bad input says what to do, and the code stays the documented one', async () => {
    const t = await traced(false, { helloTimeoutMs: 800, limits: { ...DEFAULT_LIMITS, maxRoomsPerConnection: 2 } });
    // [what the student sends (plain JSON lines unless base64 is said), the code, what the message must advise]
    const cases: Array<[string, string[], string, RegExp]> = [
      ['no type', ['{"username":"x"}\n'], 'bad_packet', /every packet has a "type"/],
      ['not base64', ['eyJ0eXBlIjoi!!\n'], 'bad_frame', /send each packet as the base64 of its JSON, ended by \\n/],
      ['a typo of a type', ['{"type":"helo","username":"x"}\n'], 'unknown_type', /the types are hello, message/],
      ['a ping and no hello', ['{"type":"ping"}\n'], 'hello_timeout', /send \{"type":"hello"/],
    ];
    const after: Array<[string, string, string, RegExp]> = [
      ['not JSON', 'hello\n', 'bad_frame', /send each packet as one line of JSON, ended by \\n/],
      ['JSON, not an object', '[1,2]\n', 'bad_packet', /one \{"type":…\} per line/],
      ['hello twice', '{"type":"hello","username":"y"}\n', 'already_hello', /send it once/],
      ['leave a room not joined', '{"type":"leave","room":"zz"}\n', 'not_in_room', /nothing to leave/],
      ['write to a room not joined', '{"type":"message","content":"hi","room":"zz"}\n', 'not_in_room', /join zz before writing to it/],
      ['too many rooms', '{"type":"join","room":"a"}\n{"type":"join","room":"b"}\n', 'too_many_rooms', /leave one first/],
      ['content too long', `{"type":"message","uid":"big","content":"${'x'.repeat(5000)}"}\n`, 'too_large', /split it into several messages/],
    ];
    try {
      for (const [what, lines, code, advice] of cases) {
        const c = await WireClient.connect(t.port, lines[0]!.startsWith('{') ? 'plain' : 'base64');
        for (const l of lines) c.sendRaw(l);
        const e = await c.next('error', 10_000);
        assert.equal(e.code, code, what);
        assert.match(e.message, advice, what);
        await c.close();
      }
      const { c } = await WireClient.login(t.port, 'x');
      for (const [what, line, code, advice] of after) {
        c.sendRaw(line);
        const e = await c.next('error');
        assert.equal(e.code, code, what);
        assert.match(e.message, advice, what);
      }
      await c.close();
    } finally {
      await t.stop();
    }
  });

  it('leaves content out unless asked, and lab93 trace filters by user', async () => {
    for (const content of [false, true]) {
      const t = await traced(content);
      const p = run('no-pong.py', t.port);
      try {
        p.stdin!.write('secret words\n');
        const r = await t.waitFor((x) => x.dir === 'in' && (x.packet as { type?: string }).type === 'message');
        assert.equal((r.packet as { content: string }).content, content ? 'secret words' : '(12 bytes)');
        const lines = t.records.map((x) => JSON.stringify(x)).join('\n') + '\n';
        const viewer = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'trace', '-', '--user', 'student'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        viewer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        viewer.stdin!.end(lines + JSON.stringify({ ...r, username: 'someone-else' }) + '\n');
        await once(viewer, 'exit');
        assert.match(out, / student -> \{"type":"message"/);
        assert.doesNotMatch(out, /someone-else/);
      } finally {
        p.kill();
        await t.stop();
      }
    }
  });

  it('lab93 server --trace FILE writes a 0600 file that lab93 trace --follow shows live, by address and by connection', async () => {
    const dir = tempDir();
    const file = join(dir, 'class.trace');
    const srv = await spawnServer(['--db', join(dir, 'server.db'), '--no-announce', '--no-classic', '--trace', file]);
    const viewers: Array<ReturnType<typeof spawn>> = [];
    const view = (...args: string[]): { out: () => string; shows: (re: RegExp) => Promise<void>; exited: Promise<unknown> } => {
      const v = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'trace', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      viewers.push(v);
      const exited = once(v, 'exit');
      let out = '';
      let poke: (() => void) | null = null;
      v.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        poke?.();
      });
      return {
        out: () => out,
        exited,
        async shows(re) {
          const deadline = Date.now() + 20_000;
          while (!re.test(out)) {
            if (Date.now() > deadline || v.exitCode !== null) throw new Error(`lab93 trace ${args.join(' ')} did not show ${re}:\n${out}`);
            await new Promise<void>((res) => {
              const t = setTimeout(res, 1000);
              poke = () => {
                clearTimeout(t);
                res();
              };
            });
          }
        },
      };
    };
    try {
      // The projector view of one student's machine, started before anyone connects.
      const projector = view(file, '--follow', '--address', '127.0.0.2');
      const alice = await WireClient.connect(srv.port, 'base64', '127.0.0.1', '127.0.0.2');
      alice.send({ type: 'hello', username: 'alice' });
      await alice.next('synced', 10_000);
      const { c: bob } = await WireClient.login(srv.port, 'bob', {}, 'base64');
      bob.send({ type: 'message', uid: 'b1', content: 'from bob' });
      await bob.next('ack');
      alice.send({ type: 'message', uid: 'a1', content: 'from alice' });
      await alice.next('ack');
      await projector.shows(/ 127\.0\.0\.2:\d+ alice <- \{"type":"ack","uid":"a1"/);
      assert.match(projector.out(), / 127\.0\.0\.2:\d+ -> \{"type":"hello","username":"alice"\}/);
      // Only alice's connection: bob's message shows as delivered to her, bob's own frames not at all.
      for (const l of projector.out().trim().split('\n')) assert.match(l, /^\S+ c\d+ 127\.0\.0\.2:\d+ /);
      assert.doesNotMatch(projector.out(), / bob (->|<-) /);
      assert.doesNotMatch(projector.out(), /from alice/, 'content is left out without --trace-content');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      // One connection, from the file as it is now.
      const bobConn = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceRecord).find((r) => r.username === 'bob')!.conn;
      const one = view(file, '--conn', bobConn);
      await one.shows(/bob <- \{"type":"ack","uid":"b1"/);
      await one.exited;
      const lines = one.out().trim().split('\n');
      assert.ok(lines.every((l) => l.includes(` ${bobConn} `)), one.out());
      // A line appended by hand that is not a trace record is skipped, not shown or fatal.
      appendFileSync(file, 'not json\n');
      alice.send({ type: 'ping', data: 'still following' });
      await projector.shows(/alice <- \{"type":"pong","data":"still following"\}/);
      await alice.close();
      await bob.close();
    } finally {
      for (const v of viewers) v.kill();
      srv.proc.kill();
      await srv.exit();
      removeDir(dir);
    }
  });
});
