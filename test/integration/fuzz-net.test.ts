/**
 * A bounded network fuzz against real processes: a spawned `lab93 server` and a spawned
 * `lab93 peer --headless --no-discovery`. First every regression vector (test/fixtures/fuzz/)
 * is sent as a first line, plain and base64, and must get an answer; then several connections
 * send hostile bytes for a few seconds (LAB93_FUZZ_NET_MS; `npm run fuzz` runs it for minutes).
 * Afterwards each process must still run, its memory (VmRSS) must stay under a generous bound,
 * the server must have logged no unexpected error, and a well-behaved pair must still chat.
 * The seed is printed, and replayed with LAB93_FUZZ_SEED.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir, removeDir } from '../helpers/server.js';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { PeerProc, LineClient } from '../helpers/peer-proc.js';
import { WireClient } from '../helpers/wire-client.js';
import { loadVectors, saveVector } from '../helpers/fuzz-vectors.js';
import { fuzzNetwork, rssOf } from '../helpers/net-fuzz.js';

const SEED = Number.isSafeInteger(Number(process.env.LAB93_FUZZ_SEED)) ? Number(process.env.LAB93_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const DURATION_MS = Number(process.env.LAB93_FUZZ_NET_MS) > 0 ? Number(process.env.LAB93_FUZZ_NET_MS) : 4000;
const CONCURRENCY = 4;
/** Generous: a server idles near 100 MB under tsx; a leak or an unbounded buffer passes this fast. */
const MAX_RSS = 512 * 1024 * 1024;
const SAVE = Boolean(process.env.LAB93_FUZZ_SAVE);
const seedNote = `(seed ${SEED}: replay with LAB93_FUZZ_SEED=${SEED} node scripts/run-tests.mjs test/integration/fuzz-net)`;

type Json = Record<string, any>;

/**
 * Sends `data` on a fresh connection; resolves with what came back once the server closes it or
 * `ms` passes. With `reset`, the client resets the connection (RST) as soon as an answer arrives.
 */
async function exchange(port: number, data: Buffer, ms = 1500, reset = false): Promise<Buffer> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => {
    got.push(d);
    if (reset && !s.destroyed) s.resetAndDestroy();
  });
  await once(s, 'connect');
  s.write(data);
  const t = setTimeout(() => s.destroy(), ms);
  await once(s, 'close');
  clearTimeout(t);
  return Buffer.concat(got);
}

/** The first frame of an answer, decoded in the mode the request was sent in. */
function firstFrame(answer: Buffer, mode: 'plain' | 'base64'): Json | null {
  const line = answer.subarray(0, Math.max(0, answer.indexOf(10))).toString('latin1');
  try {
    return JSON.parse(mode === 'plain' ? line : Buffer.from(line, 'base64').toString('utf8')) as Json;
  } catch {
    return null;
  }
}

/**
 * `npm run fuzz` only: the server died, and any of the connections open at the time may have
 * killed it. Each suspect is replayed alone against a fresh server; those that kill it are saved
 * as vectors. Returns the files saved.
 */
async function isolateKillers(target: 'server' | 'peer', suspects: Buffer[], dir: string): Promise<string[]> {
  const saved: string[] = [];
  let proc: { port: number; proc: import('node:child_process').ChildProcess; stderr: string[]; stop(): Promise<unknown> } | null = null;
  const start = async () => {
    if (target === 'server') {
      const s = await spawnServer(['--db', join(dir, `replay-${saved.length}.db`), '--no-announce']);
      return { port: s.port, proc: s.proc, stderr: s.logs, stop: async () => s.proc.kill('SIGKILL') };
    }
    const p = new PeerProc({ name: 'replay', port: 0, args: ['--no-discovery'] });
    const stderr = rawLines(p);
    return { port: (await p.ready()).port, proc: p.proc, stderr, stop: () => p.stop() };
  };
  for (const bytes of suspects) {
    proc ??= await start();
    await exchange(proc.port, bytes, 500).catch(() => Buffer.alloc(0));
    await new Promise((r) => setTimeout(r, 300));
    if (alive(proc.proc)) continue;
    saved.push(saveVector(target, bytes, `network fuzz: this connection alone ends lab93 ${target} ${seedNote}; it wrote: ${proc.stderr.filter((l) => !l.startsWith('{')).slice(0, 6).join(' | ').slice(0, 800)}`));
    await proc.stop();
    proc = null;
  }
  await proc?.stop();
  return saved;
}

/** Every stderr line of a peer process, JSON or not (PeerProc keeps only the JSON ones): a crash's stack is not JSON. */
function rawLines(p: PeerProc): string[] {
  const lines: string[] = [];
  createInterface({ input: p.proc.stderr! }).on('line', (l) => {
    lines.push(l);
    if (lines.length > 500) lines.shift();
  });
  return lines;
}

const alive = (p: { exitCode: number | null; signalCode: NodeJS.Signals | null }) => p.exitCode === null && p.signalCode === null;

describe(`network fuzz against a real server and a real peer ${seedNote}`, () => {
  const dir = tempDir('lab93-fuzz-');
  let server: ServerProcess;
  let peer: PeerProc;
  let peerPort: number;
  let peerStderr: string[] = [];
  const clients: Array<{ close(): unknown }> = [];

  before(async () => {
    [server, { port: peerPort }] = await Promise.all([
      spawnServer(['--db', join(dir, 'server.db'), '--no-announce', '--hello-timeout', '2']),
      (peer = new PeerProc({ name: 'fuzzpeer', port: 0, args: ['--no-discovery'] }), (peerStderr = rawLines(peer)), peer).ready(),
    ]);
  });
  after(async () => {
    for (const c of clients) c.close();
    if (server && alive(server.proc)) server.proc.kill('SIGKILL');
    await peer?.stop();
    removeDir(dir);
  });

  const targets = () => [
    { name: 'server', port: server.port, proc: server.proc, logs: () => server.logs.map((l) => { try { return JSON.parse(l) as Json; } catch { return { msg: l } as Json; } }) },
    { name: 'peer', port: peerPort, proc: peer.proc, logs: () => peerStderr.map((l) => { try { return JSON.parse(l) as Json; } catch { return { msg: l } as Json; } }) },
  ];

  it('every regression vector as a first line, plain and base64: an answer, and the process stays up', async () => {
    for (const t of targets()) {
      for (const v of loadVectors()) {
        const tries: Array<[Buffer, 'plain' | 'base64']> = [];
        if (v.mode === 'plain') tries.push([v.bytes, 'plain'], [Buffer.from(v.bytes.toString('base64')), 'base64']);
        else if (v.mode === 'base64') tries.push([v.bytes, 'base64']);
        else tries.push([v.bytes, 'plain']);
        for (const [bytes, mode] of tries) {
          const answer = await exchange(t.port, Buffer.concat([bytes, Buffer.from('\n')]), 1500, v.reset);
          if (v.reset) await new Promise((r) => setTimeout(r, 150)); // the reset reaches the process
          assert.ok(alive(t.proc), `${t.name} died on vector ${v.name} (${mode})`);
          assert.ok(answer.length > 0, `${t.name} answered nothing to vector ${v.name} (${mode})`);
          if (v.expect !== undefined && v.mode !== undefined) {
            const f = firstFrame(answer, mode);
            assert.deepEqual([f?.type, f?.code], ['error', v.expect], `${t.name}, vector ${v.name} (${mode}): ${answer.toString().slice(0, 200)}`);
          }
        }
      }
    }
    // And a client that comes later is served as usual.
    const { c } = await WireClient.login(server.port, 'later');
    clients.push(c);
    const lc = new LineClient('later', peerPort);
    clients.push(lc);
    await lc.hello();
  });

  it(`${DURATION_MS} ms of hostile connections: both processes stay up, memory stays bounded, a pair still chats`, { timeout: DURATION_MS + 60_000 }, async (tctx) => {
    tctx.diagnostic(`seed ${SEED}`);
    const maxRss = new Map<string, number>();
    const sample = () => {
      for (const t of targets()) {
        const r = t.proc.pid !== undefined ? rssOf(t.proc.pid) : null;
        if (r !== null) maxRss.set(t.name, Math.max(maxRss.get(t.name) ?? 0, r));
      }
    };
    const runs = await Promise.all(targets().map((t, i) => fuzzNetwork({ port: t.port, target: t.name as 'server' | 'peer', seed: SEED + i, durationMs: DURATION_MS, concurrency: CONCURRENCY / 2, onTick: sample })));
    sample();
    tctx.diagnostic(`connections: server ${runs[0]!.connections}, peer ${runs[1]!.connections}; max RSS ${[...maxRss].map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MiB`).join(', ')}`);

    const findings: string[] = [];
    const killers: Array<['server' | 'peer', Buffer[]]> = [];
    targets().forEach((t, i) => {
      if (!alive(t.proc)) {
        findings.push(`${t.name} exited (${t.proc.exitCode ?? t.proc.signalCode}); last log lines: ${JSON.stringify(t.logs().slice(-12).map((l) => l.msg))}`);
        if (SAVE) killers.push([t.name as 'server' | 'peer', [...runs[i]!.sent.values()].slice(-30).reverse()]);
      }
      if ((maxRss.get(t.name) ?? 0) > MAX_RSS) findings.push(`${t.name} RSS ${maxRss.get(t.name)} bytes passed ${MAX_RSS}`);
    });
    // A fault the server contained is still a bug: name it, with the bytes that caused it.
    for (const l of targets()[0]!.logs().filter((x) => x.level >= 50)) {
      const port = Number(/:(\d+)$/.exec(String(l.remote ?? ''))?.[1]);
      const bytes = runs[0]!.sent.get(port);
      findings.push(`server logged ${l.msg}: ${l.err?.stack ?? JSON.stringify(l)}${bytes ? `; input (base64) ${bytes.toString('base64').slice(0, 400)}` : ''}`);
      if (SAVE && bytes) saveVector('server', bytes, `network fuzz: the server logged "${l.msg}": ${l.err?.message ?? ''} ${seedNote}`);
    }
    // The peer's link code belongs to the mesh work: its contained errors are reported, not failed on.
    for (const l of targets()[1]!.logs().filter((x) => x.level >= 50)) tctx.diagnostic(`peer logged: ${l.msg} ${l.err?.message ?? ''}`);
    for (const [target, suspects] of killers) for (const f of await isolateKillers(target, suspects, dir)) tctx.diagnostic(`saved test/fixtures/fuzz/${f}`);
    assert.deepEqual(findings, [], seedNote);

    // A well-behaved pair still chats, on both.
    const a = await WireClient.login(server.port, 'pair-a', {}, 'base64');
    const b = await WireClient.login(server.port, 'pair-b');
    clients.push(a.c, b.c);
    a.c.send({ type: 'message', uid: 'after-fuzz', content: 'still chatting' });
    const got = await b.c.next((p) => p.type === 'message' && p.uid === 'after-fuzz', 10_000);
    assert.equal(got.content, 'still chatting');
    const pa = new LineClient('pair-a', peerPort);
    const pb = new LineClient('pair-b', peerPort);
    clients.push(pa, pb);
    await Promise.all([pa.hello(), pb.hello()]);
    await pa.say('still chatting on the peer');
    await pb.waitFor(['still chatting on the peer'], 10_000);
  });
});
