/**
 * Durable ingest, with synchronous=FULL throughout (an acknowledgement means the message is on
 * disk). Two figures from the same run and the same disk:
 *  - baseline: the SQLite store committing each message alone (one transaction, one fsync each),
 *    in-process, so nothing but the store is measured;
 *  - lab93: acknowledged messages per second through the server (group commit), S senders with
 *    a window each, each in a room of its own (no fan-out); afterwards every acknowledged message
 *    must be in the file.
 */
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
import { Pool } from '../gen/pool.js';
import { cpuSeconds, freePort, load1 } from '../lib/proc.js';
import type { ClientSpec } from '../protocols/types.js';
import type { ServerKind } from '../servers/index.js';
import { verifyStored, type FanoutResult } from './fanout.js';

export interface IngestParams {
  senders: number;
  window: number;
  durationMs: number;
  baselineMs: number;
  workers: number;
  profileDir?: string;
}

export interface IngestResult {
  synchronous: 'full';
  /** Commits per second when each message is its own transaction. */
  oneCommitPerMessage: number;
  /** Messages acknowledged per second through the lab93 server. */
  ackedPerSec: number;
  ratio: number;
  acked: number;
  serverCpu: number;
  generatorCpu: number;
  stored?: FanoutResult['stored'];
  load: number;
  error?: string;
}

const CONTENT = 'x'.repeat(64);

/** Commits per second of the store alone, one message per transaction. */
export async function oneCommitPerMessage(dir: string, ms: number): Promise<number> {
  const store = new SqliteStore(join(dir, 'one-per-commit.db'), 'full');
  try {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      await store.append([{ uid: `b${n}`, username: 'baseline', room: 'bench', to: null, subject: null, content: CONTENT, timestamp: Date.now() / 1000 }]);
      n++;
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await store.close();
  }
}

export async function runIngest(kind: ServerKind, p: IngestParams, dir: string, log: (s: string) => void): Promise<IngestResult> {
  const r: IngestResult = { synchronous: 'full', oneCommitPerMessage: 0, ackedPerSec: 0, ratio: 0, acked: 0, serverCpu: 0, generatorCpu: 0, load: load1() };
  r.oneCommitPerMessage = await oneCommitPerMessage(dir, p.baselineMs);
  log(`  store alone, one commit per message: ${Math.round(r.oneCommitPerMessage).toLocaleString('en')} commits/s (synchronous=FULL)`);
  const port = await freePort();
  const server = await kind.start({ dir, port, ...(p.profileDir ? { profileDir: p.profileDir } : {}) });
  const pool = Pool.start(p.workers);
  const totals = new Map<string, number>();
  try {
    const clients: ClientSpec[] = Array.from({ length: p.senders }, (_, i) => ({ name: `w${i}`, role: 'sender', room: `w${i}` }));
    const c = await pool.connect(kind.protocol, port, clients);
    if (c.failed > 0) throw new Error(`${c.failed} clients could not connect: ${c.errors.join('; ')}`);
    const cpu0 = cpuSeconds(server.pid);
    const run = await pool.run({ mode: 'flood', durationMs: p.durationMs, window: p.window, probeEvery: 64, ratePerSender: 0, latency: false, settleMs: 10_000 }, 0);
    r.serverCpu = cpuSeconds(server.pid) - cpu0;
    r.generatorCpu = run.generatorCpu;
    r.acked = run.acked;
    r.ackedPerSec = run.acked / Math.max(1e-6, (run.lastAckUs - run.startUs) / 1e6);
    r.ratio = r.ackedPerSec / r.oneCommitPerMessage;
    r.load = load1();
    for (const s of run.senders) totals.set(s.name, s.totalAcked);
    log(`  lab93 durable ingest: ${Math.round(r.ackedPerSec).toLocaleString('en')} acked msg/s (${r.ratio.toFixed(1)}× one commit per message)`);
  } catch (err) {
    r.error = (err as Error).message;
    log(`  ingest: ${r.error}`);
  } finally {
    await pool.close();
    await server.stop();
  }
  if (server.dbPath && totals.size > 0) {
    r.stored = verifyStored(server.dbPath, totals);
    log(`  ingest store: ${r.stored!.detail}`);
  }
  return r;
}
