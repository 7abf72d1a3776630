/**
 * Mesh throughput: messages a second from one peer to another over one link (loopback TCP),
 * 64 bytes of content, both peers in this process with stores on disk. Peer A posts N messages
 * (as its terminal user does, through the group commit); the clock stops when B has stored the
 * last one. The per-origin and per-link quotas are raised out of the way: this measures the
 * data path (store, sign, frame, parse, verify, store), not the limits. A development probe,
 * not part of `npm run bench`:
 *
 *   node --import tsx bench/tools/peer-mesh-throughput.ts [messages, default 20000] [runs, default 3]
 *
 * It uses only PeerNode, peerOptions and post(), so the same file runs against a tree from
 * before signatures (for the "before" figure in docs/performance.md).
 *
 * Besides the rate it prints the CPU time per message: of the whole process (every thread) and,
 * on Linux, of the main thread alone (the event loop: what bounds the rate when another core is
 * free). On a loaded machine the rate follows the load; the CPU time per message much less so.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/index.js';
import { peerOptions } from '../../src/peer/config.js';
import { PeerNode } from '../../src/peer/node.js';

const n = Number(process.argv[2] ?? 20_000);
const runs = Number(process.argv[3] ?? 3);
const content = 'x'.repeat(64);

/** CPU seconds of the main thread so far (Linux: /proc/self/task/PID/stat, utime + stime), or null. */
function mainThreadCpu(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks, USER_HZ = 100 on Linux
  } catch {
    return null;
  }
}
const fast = {
  host: '127.0.0.1', port: 0, discovery: false, originRate: 1e9, originBurst: 1e9, frameRate: 1e9, frameBurst: 1e9,
  linkMessageRate: 1e9, linkMessageBurst: 1e9, linkBytesPerMinute: 1e12, linkNewOriginsPerMinute: 0, maxStore: 0, maxFirstSeq: 0,
};

async function once(run: number): Promise<{ rate: number; cpu: number; main: number | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'lab93-mesh-bench-'));
  const a = new PeerNode(peerOptions({ ...fast, username: 'a', dbPath: join(dir, 'a.db') }), silentLogger());
  await a.start();
  const b = new PeerNode(peerOptions({ ...fast, username: 'b', dbPath: join(dir, 'b.db'), peers: [{ host: '127.0.0.1', port: a.port }] }), silentLogger());
  await b.start();
  while (a.links.size === 0 || b.links.size === 0) await new Promise((r) => setTimeout(r, 10));
  const done = new Promise<void>((resolve) => {
    const check = (): void => {
      if ((b.store.haveOf(a.peerId) ?? 0) >= n) resolve();
      else setTimeout(check, 5);
    };
    check();
  });
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  // In bursts of 500, as a busy peer's users would write: the group commit batches them.
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      batch.push(a.post({ uid: null, username: 'a', room: 'lobby', to: null, subject: null, content, timestamp: Date.now() / 1000 }));
    }
    await Promise.all(batch);
  }
  await done;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu0);
  const cpu = (used.user + used.system) / n;
  const main1 = mainThreadCpu();
  const main = main0 === null || main1 === null ? null : ((main1 - main0) * 1e6) / n;
  await Promise.all([a.close(), b.close()]);
  rmSync(dir, { recursive: true, force: true });
  const rate = n / s;
  process.stdout.write(`run ${run}: ${n} messages in ${s.toFixed(2)} s = ${Math.round(rate)} msg/s; CPU ${Math.round(cpu)} µs/msg${main === null ? '' : ` (main thread ${Math.round(main)})`}\n`);
  return { rate, cpu, main };
}

const results: Array<{ rate: number; cpu: number; main: number | null }> = [];
for (let r = 1; r <= runs; r++) results.push(await once(r));
const rates = results.map((x) => x.rate).sort((x, y) => x - y);
const least = (xs: number[]): number => Math.round(Math.min(...xs));
const mains = results.flatMap((x) => (x.main === null ? [] : [x.main]));
process.stdout.write(`median ${Math.round(rates[Math.floor(rates.length / 2)]!)} msg/s (min ${Math.round(rates[0]!)}, max ${Math.round(rates.at(-1)!)}); least CPU ${least(results.map((x) => x.cpu))} µs/msg${mains.length ? ` (main thread ${least(mains)})` : ''}; load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
