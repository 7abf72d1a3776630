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
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/index.js';
import { peerOptions } from '../../src/peer/config.js';
import { PeerNode } from '../../src/peer/node.js';

const n = Number(process.argv[2] ?? 20_000);
const runs = Number(process.argv[3] ?? 3);
const content = 'x'.repeat(64);
const fast = {
  host: '127.0.0.1', port: 0, discovery: false, originRate: 1e9, originBurst: 1e9, frameRate: 1e9, frameBurst: 1e9,
  linkMessageRate: 1e9, linkMessageBurst: 1e9, linkBytesPerMinute: 1e12, linkNewOriginsPerMinute: 0, maxStore: 0, maxFirstSeq: 0,
};

async function once(run: number): Promise<number> {
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
  await Promise.all([a.close(), b.close()]);
  rmSync(dir, { recursive: true, force: true });
  const rate = n / s;
  process.stdout.write(`run ${run}: ${n} messages in ${s.toFixed(2)} s = ${Math.round(rate)} msg/s\n`);
  return rate;
}

const rates: number[] = [];
for (let r = 1; r <= runs; r++) rates.push(await once(r));
rates.sort((x, y) => x - y);
process.stdout.write(`median ${Math.round(rates[Math.floor(rates.length / 2)]!)} msg/s (min ${Math.round(rates[0]!)}, max ${Math.round(rates.at(-1)!)}); load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
