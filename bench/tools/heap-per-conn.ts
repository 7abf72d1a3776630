/**
 * Heap and RSS per idle lab93 connection, measured inside the server process (run with
 * --expose-gc): N clients (a Python child process) say hello with no room and stay idle.
 * A development probe for docs/performance.md's memory section: `node --expose-gc --import tsx
 * bench/tools/heap-per-conn.ts 5000`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LocalBus } from '../../src/bus/local.js';
import { silentLogger } from '../../src/log/index.js';
import { createServer } from '../../src/server/server.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const n = Number(process.argv[2] ?? 5000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const server = createServer({ store: new SqliteStore(':memory:'), bus: new LocalBus(), log: silentLogger(), options: { ratePerSecond: 0 } });
const { port } = await server.listen(0, '0.0.0.0');
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
};
await settle();
const before = process.memoryUsage();
const script = fileURLToPath(new URL('./heap-clients.py', import.meta.url));
const child = spawn('python3', [script, String(port), String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).on('line', (l) => l === 'ready' && resolve()));
await new Promise((r) => setTimeout(r, 500));
await settle();
const after = process.memoryUsage();
const per = (k: 'heapUsed' | 'rss' | 'external') => ((after[k] - before[k]) / n / 1024).toFixed(2);
console.log(`${n} idle connections: heap ${per('heapUsed')} KiB, external ${per('external')} KiB, rss ${per('rss')} KiB each`);
child.stdin!.end('\n');
await server.close();
process.exit(0);
