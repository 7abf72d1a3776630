/**
 * The classic board (issue 3): POST transactions per second with one connection per request, as
 * the original client does (1, 8 and 32 at once), every acknowledged POST checked in the store
 * afterwards; and GET latency with 1,000 and 10,000 stored messages. Runs `lab93 classic` when
 * this build has it, and the original Python server when the user points --classic-original at
 * a copy of its server.py (its code is not part of this repository).
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { NewMessage } from '../../src/store/types.js';
import { cpuSeconds, freePort, load1 } from '../lib/proc.js';
import { launch, ROOT, type ServerHandle } from '../servers/process.js';
import { SOURCES } from './connections.js';

export interface PostResult {
  concurrency: number;
  perSec: number;
  acked: number;
  failed: number;
  /** Acknowledged POSTs found in the store (lab93 only; the original's is not read). */
  stored: number | null;
  serverCpu: number;
  generatorCpu: number;
  load: number;
}

export interface GetResult {
  messages: number;
  p50Ms: number;
  maxMs: number;
  bytes: number;
}

export interface ClassicRun {
  post: PostResult[];
  get: GetResult[];
}

export interface ClassicResult {
  available: boolean;
  reason?: string;
  post: PostResult[];
  get: GetResult[];
  original?: ClassicRun;
}

/** Whether this build has `lab93 classic`, and which of its flags the bench can use. */
export function classicAvailable(): { ok: boolean; help: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'classic', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { ok: r.status === 0 && /classic/i.test(r.stdout), help: r.stdout ?? '' };
}

/** One request on its own connection; resolves with the whole answer once the server closes. */
function request(port: number, body: string, source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ port, host: '127.0.0.1', localAddress: source }, () => s.end(body));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
  });
}

async function posts(port: number, pid: number, concurrency: number, ms: number, tag: string): Promise<Omit<PostResult, 'stored'>> {
  let acked = 0;
  let failed = 0;
  let n = 0;
  const cpu0 = cpuSeconds(pid);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (performance.now() - t0 < ms) {
      const i = n++;
      try {
        const answer = await request(port, `POST${tag}-${concurrency}-${i}%`, SOURCES[i % SOURCES.length]!);
        if (answer.startsWith('MSGPosting Message!%')) acked++;
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const gen = process.cpuUsage(gen0);
  return { concurrency, perSec: acked / seconds, acked, failed, serverCpu: cpuSeconds(pid) - cpu0, generatorCpu: (gen.user + gen.system) / 1e6, load: load1() };
}

async function gets(port: number, messages: number, times: number): Promise<GetResult> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    const answer = await request(port, 'GET%', '127.0.0.1');
    ms.push(performance.now() - t0);
    bytes = Buffer.byteLength(answer);
  }
  ms.sort((a, b) => a - b);
  return { messages, p50Ms: Math.round(ms[Math.floor(ms.length / 2)]! * 1000) / 1000, maxMs: Math.round(ms[ms.length - 1]! * 1000) / 1000, bytes };
}

async function fill(path: string, n: number): Promise<void> {
  const store = new SqliteStore(path, 'off');
  const batch: NewMessage[] = [];
  for (let i = 0; i < n; i++) {
    batch.push({ uid: null, username: 'classic@127.0.0.1', room: 'lobby', to: null, subject: null, content: `board message ${i}`, timestamp: 1.7e9 + i });
    if (batch.length === 5000) await store.append(batch.splice(0));
  }
  if (batch.length > 0) await store.append(batch);
  await store.close();
}

export interface ClassicParams {
  concurrency: number[];
  postMs: number;
  getSizes: number[];
  getTimes: number;
  original?: string;
}

async function measure(h: ServerHandle, p: ClassicParams, refill: ((n: number) => Promise<void>) | null, tag: string): Promise<ClassicRun> {
  const post: PostResult[] = [];
  for (const c of p.concurrency) post.push({ ...(await posts(h.port, h.pid, c, p.postMs, tag)), stored: null });
  const get: GetResult[] = [];
  for (const n of p.getSizes) {
    if (refill) await refill(n);
    get.push(await gets(h.port, n, p.getTimes));
  }
  return { post, get };
}

export async function runClassic(p: ClassicParams, dir: string, log: (s: string) => void): Promise<ClassicResult> {
  const avail = classicAvailable();
  const r: ClassicResult = { available: avail.ok, post: [], get: [] };
  if (!avail.ok) {
    r.reason = 'not available: this build has no `lab93 classic` yet';
    log(`  classic board: ${r.reason}`);
  } else {
    let db = join(dir, 'classic.db');
    // The rate limit per address would measure the limiter, not the board.
    const extra = /--rate\b/.test(avail.help) ? ['--rate', '0'] : [];
    // GET% lists a window of the newest posts by default; the scenario measures the whole board.
    if (/--window\b/.test(avail.help)) extra.push('--window', '0');
    const start = async (): Promise<ServerHandle> => {
      const port = await freePort();
      return launch('lab93-classic', 'classic', [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'classic', '--port', String(port), '--address', '127.0.0.1', '--db', db, ...extra], { dir, port }, { LAB93_DATA_DIR: dir });
    };
    let h = await start();
    try {
      const post: PostResult[] = [];
      for (const c of p.concurrency) {
        const res = await posts(h.port, h.pid, c, p.postMs, 'bench');
        post.push({ ...res, stored: null });
        log(`  classic POST ×${c}: ${Math.round(res.perSec).toLocaleString('en')}/s (${res.failed} failed)`);
      }
      // Count what the acknowledged POSTs left in the store, with the server stopped.
      await h.stop();
      const d = new Database(db, { readonly: true });
      for (const pr of post) pr.stored = (d.prepare(`SELECT COUNT(*) FROM messages WHERE content LIKE ?`).pluck().get(`bench-${pr.concurrency}-%`) as number) ?? 0;
      d.close();
      r.post = post;
      for (const n of p.getSizes) {
        // A board of its own for each size, holding exactly n messages.
        db = join(dir, `classic-get-${n}.db`);
        await fill(db, n);
        h = await start();
        r.get.push(await gets(h.port, n, p.getTimes));
        log(`  classic GET with ${n.toLocaleString('en')} messages: p50 ${r.get[r.get.length - 1]!.p50Ms} ms`);
        await h.stop();
      }
    } catch (err) {
      r.reason = `failed: ${(err as Error).message}`;
      log(`  classic board: ${r.reason}`);
    } finally {
      await h.stop();
    }
  }
  if (p.original) {
    // The original listens on 8080 and keeps its database in its working directory.
    const odir = join(dir, 'original');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(odir, { recursive: true });
    copyFileSync(p.original, join(odir, 'server.py'));
    try {
      const h = await launch('original-board', 'classic', ['python3', join(odir, 'server.py')], { dir: odir, port: 8080 });
      try {
        r.original = await measure(h, { ...p, getSizes: [] }, null, 'orig');
        for (const pr of r.original.post) log(`  original POST ×${pr.concurrency}: ${Math.round(pr.perSec).toLocaleString('en')}/s`);
      } finally {
        await h.stop();
      }
    } catch (err) {
      log(`  original board: ${(err as Error).message}`);
    }
  }
  return r;
}
