/**
 * Fan-out and latency, against one server: R receivers and S senders in one room (channel,
 * topic, subject), 64-byte messages. Flood: each sender keeps a bounded window of unacknowledged
 * messages full for T seconds. Latency: the same clients at a fixed total rate, send time in the
 * payload. For lab93, afterwards: every acknowledged message must be in the SQLite file.
 */
import Database from 'better-sqlite3';
import { Pool, type RunResult } from '../gen/pool.js';
import type { ClientSpec } from '../protocols/types.js';
import { cpuSeconds, freePort, load1 } from '../lib/proc.js';
import type { ServerKind } from '../servers/index.js';

export interface FanoutParams {
  receivers: number;
  senders: number;
  durationMs: number;
  window: number;
  probeEvery: number;
  /** Total messages per second for the latency workload. */
  rate: number;
  latencyMs: number;
  warmupMs: number;
  workers: number;
  profileDir?: string;
}

export interface Measured {
  /** Messages delivered per second, summed over the receivers. */
  deliveredPerSec: number;
  /** Messages acknowledged per second (lab93: stored; others: answered probes). */
  ackedPerSec: number;
  sent: number;
  acked: number;
  delivered: number;
  expected: number;
  loss: number;
  seconds: number;
  serverCpu: number;
  generatorCpu: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  cdf: Array<[number, number]>;
  load: number;
  errors: string[];
  closedEarly: number;
}

export interface FanoutResult {
  server: string;
  protocol: string;
  flood?: Measured;
  latency?: Measured;
  /** lab93 only: every acknowledged message found in the store. */
  stored?: { ok: boolean; rows: number; acked: number; detail: string };
  connectMs?: number;
  error?: string;
}

function measured(r: RunResult, serverCpu: number, load: number): Measured {
  const seconds = Math.max(1e-6, (Math.max(r.lastDeliveryUs, r.endUs) - r.startUs) / 1e6);
  const ackSeconds = Math.max(1e-6, (Math.max(r.lastAckUs, r.startUs) - r.startUs) / 1e6);
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    deliveredPerSec: r.delivered / seconds,
    ackedPerSec: r.acked / ackSeconds,
    sent: r.sent,
    acked: r.acked,
    delivered: r.delivered,
    expected: r.expected,
    loss: r.expected - r.delivered,
    seconds,
    serverCpu,
    generatorCpu: r.generatorCpu,
    p50Ms: ms(r.histogram.percentile(0.5)),
    p99Ms: ms(r.histogram.percentile(0.99)),
    maxMs: ms(r.histogram.maxUs),
    cdf: r.histogram.count > 0 ? r.histogram.cdf().map(([us, f]) => [ms(us), Math.round(f * 1e6) / 1e6]) : [],
    load,
    errors: r.errors,
    closedEarly: r.closedEarly,
  };
}

export function clientsFor(p: Pick<FanoutParams, 'senders' | 'receivers'>): ClientSpec[] {
  const out: ClientSpec[] = [];
  for (let i = 0; i < p.senders; i++) out.push({ name: `s${i}`, role: 'sender' });
  for (let i = 0; i < p.receivers; i++) out.push({ name: `r${i}`, role: 'receiver' });
  return out;
}

/** Checks the lab93 store: one row per acknowledged message of each sender, no more, no less. */
export function verifyStored(dbPath: string, acked: Map<string, number>): FanoutResult['stored'] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT username, COUNT(*) AS n, COUNT(DISTINCT uid) AS u FROM messages GROUP BY username').all() as Array<{ username: string; n: number; u: number }>;
    const byUser = new Map(rows.map((r) => [r.username, r]));
    const bad: string[] = [];
    let total = 0;
    let expected = 0;
    for (const [name, n] of acked) {
      const r = byUser.get(name);
      expected += n;
      total += r?.n ?? 0;
      if (!r || r.n !== n || r.u !== n) bad.push(`${name}: acked ${n}, stored ${r?.n ?? 0} (${r?.u ?? 0} distinct uids)`);
    }
    return { ok: bad.length === 0, rows: total, acked: expected, detail: bad.length === 0 ? 'every acknowledged message stored once' : bad.slice(0, 5).join('; ') };
  } finally {
    db.close();
  }
}

export async function runFanout(kind: ServerKind, p: FanoutParams, dir: string, log: (s: string) => void): Promise<FanoutResult> {
  const result: FanoutResult = { server: kind.name, protocol: kind.protocol };
  const port = await freePort();
  const server = await kind.start({ dir, port, ...(p.profileDir ? { profileDir: p.profileDir } : {}) });
  const pool = Pool.start(p.workers);
  const totals = new Map<string, number>();
  try {
    const c = await pool.connect(kind.protocol, port, clientsFor(p));
    result.connectMs = c.ms;
    if (c.failed > 0) throw new Error(`${c.failed} clients could not connect: ${c.errors.join('; ')}`);
    const base = { probeEvery: p.probeEvery, window: p.window, settleMs: 10_000 };
    if (p.warmupMs > 0) await pool.run({ ...base, mode: 'flood', durationMs: p.warmupMs, ratePerSender: 0, latency: false }, p.receivers, 500, 10_000);

    let cpu0 = cpuSeconds(server.pid);
    const flood = await pool.run({ ...base, mode: 'flood', durationMs: p.durationMs, ratePerSender: 0, latency: false }, p.receivers);
    result.flood = measured(flood, cpuSeconds(server.pid) - cpu0, load1());
    log(`  ${kind.name} fan-out: ${Math.round(result.flood.deliveredPerSec).toLocaleString('en')} delivered/s, loss ${result.flood.loss}`);

    cpu0 = cpuSeconds(server.pid);
    const lat = await pool.run({ ...base, mode: 'rate', durationMs: p.latencyMs, ratePerSender: p.rate / p.senders, latency: true }, p.receivers);
    result.latency = measured(lat, cpuSeconds(server.pid) - cpu0, load1());
    log(`  ${kind.name} latency at ${p.rate} msg/s: p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms, max ${result.latency.maxMs} ms`);
    for (const s of lat.senders) totals.set(s.name, s.totalAcked);
  } catch (err) {
    result.error = (err as Error).message;
    log(`  ${kind.name}: ${result.error}`);
  } finally {
    await pool.close();
    await server.stop();
  }
  if (server.dbPath && totals.size > 0) {
    result.stored = verifyStored(server.dbPath, totals);
    log(`  ${kind.name} store: ${result.stored!.detail}`);
  }
  return result;
}
