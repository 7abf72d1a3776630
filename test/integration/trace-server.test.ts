/**
 * The decoded trace: lab93's server with a trace sink shows each broken client's mistake with its
 * hint, leaves content out unless asked, and `lab93 trace` shows it readably and filtered.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import net from 'node:net';
import { createTraceSink, formatTraceLine, type TraceRecord } from '../../src/teach/trace.js';
import { removeDir, startServer } from '../helpers/server.js';
import { ROOT } from '../helpers/spawn-server.js';

const FIX = join(ROOT, 'test/fixtures/teach');

async function traced(content = false): Promise<{ port: number; records: TraceRecord[]; waitFor(pred: (r: TraceRecord) => boolean): Promise<TraceRecord>; stop(): Promise<void> }> {
  const records: TraceRecord[] = [];
  let poke: (() => void) | null = null;
  const trace = createTraceSink((l) => {
    records.push(JSON.parse(l) as TraceRecord);
    poke?.();
  }, { content });
  const s = await startServer({}, { trace });
  return {
    port: s.port,
    records,
    async waitFor(pred) {
      for (;;) {
        const r = records.find(pred);
        if (r) return r;
        await new Promise<void>((res) => (poke = res));
      }
    },
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
  const cases: Array<{ file: string; code: string; hint: RegExp }> = [
    { file: 'message-first.cjs', code: 'not_hello', hint: /send \{"type":"hello","username":…\} first/ },
    { file: 'user-field.cjs', code: 'bad_packet', hint: /"user": did you mean `username`\?/ },
  ];
  for (const c of cases) {
    it(`${c.file}: ${c.code} with its hint`, async () => {
      const t = await traced();
      const p = run(c.file, t.port);
      try {
        const e = await t.waitFor((r) => r.dir === 'error');
        assert.equal(e.code, c.code);
        assert.match(e.hint ?? '', c.hint);
        // The error the client receives says what to do too; its code is unchanged.
        assert.match(e.message ?? '', c.hint);
        assert.match(formatTraceLine(JSON.stringify(e)) ?? '', /hint: /);
      } finally {
        p.kill();
        await t.stop();
      }
    });
  }

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
});
