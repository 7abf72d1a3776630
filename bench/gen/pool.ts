/**
 * The load generator seen from the bench: a few worker processes (clients spread over them, so
 * the generator is not one event loop), driven through phases: connect, run, wait for the
 * deliveries to settle, collect counts, latency histograms and CPU time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from '../lib/histogram.js';
import { fdHardLimit, sleep } from '../lib/proc.js';
import type { ClientSpec } from '../protocols/types.js';
import { nowUs, type Command, type Reply, type RunCmd, type SenderResult } from './messages.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ConnectResult {
  ok: number;
  failed: number;
  errors: string[];
  ms: number;
}

export interface RunResult {
  senders: SenderResult[];
  sent: number;
  acked: number;
  delivered: number;
  /** Expected deliveries: sent × receivers. */
  expected: number;
  startUs: number;
  endUs: number;
  lastAckUs: number;
  lastDeliveryUs: number;
  /** CPU seconds of all generator processes over the run. */
  generatorCpu: number;
  histogram: Histogram;
  errors: string[];
  closedEarly: number;
}

class Worker {
  private waiting: Array<{ type: Reply['type']; resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  exited = false;

  constructor(readonly child: ChildProcess) {
    child.on('message', (r: Reply) => {
      if (r.type === 'fatal') {
        for (const w of this.waiting.splice(0)) w.reject(new Error(`generator worker failed: ${r.error}`));
        return;
      }
      const i = this.waiting.findIndex((w) => w.type === r.type);
      if (i !== -1) this.waiting.splice(i, 1)[0]!.resolve(r);
    });
    child.on('exit', (code) => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error(`generator worker exited (${code})`));
    });
  }

  ask<T extends Reply['type']>(cmd: Command, type: T): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ type, resolve: resolve as (r: Reply) => void, reject });
      this.child.send(cmd);
    });
  }
}

export class Pool {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `n` worker processes, each allowed as many open files as the hard limit permits. */
  static start(n: number): Pool {
    const limit = fdHardLimit();
    const workers = Array.from({ length: n }, () => {
      const child = spawn('sh', ['-c', `ulimit -n ${limit} 2>/dev/null; exec "$0" "$@"`, process.execPath, '--import', 'tsx', WORKER], {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      return new Worker(child);
    });
    return new Pool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Opens the clients, spread round-robin over the workers; resolves when all handshakes ended. */
  async connect(protocol: string, port: number, clients: ClientSpec[], opts: { sources?: string[]; concurrency?: number; timeoutMs?: number } = {}): Promise<ConnectResult> {
    const shares: ClientSpec[][] = this.workers.map(() => []);
    clients.forEach((c, i) => shares[i % shares.length]!.push(c));
    const sources = opts.sources ?? ['127.0.0.1'];
    const results = await Promise.all(
      this.workers.map((w, i) =>
        w.ask({ cmd: 'connect', protocol, host: '127.0.0.1', port, clients: shares[i]!, sources, concurrency: opts.concurrency ?? 64, timeoutMs: opts.timeoutMs ?? 20_000 }, 'connected'),
      ),
    );
    return {
      ok: results.reduce((a, r) => a + r.ok, 0),
      failed: results.reduce((a, r) => a + r.failed, 0),
      errors: results.flatMap((r) => r.errors).slice(0, 10),
      ms: Math.max(...results.map((r) => r.ms)),
    };
  }

  /**
   * Runs the senders, then waits until the receivers got sent × receivers messages, or nothing
   * arrived for `stallMs` (what is missing then is loss), then collects.
   */
  async run(cmd: Omit<RunCmd, 'cmd'>, receivers: number, stallMs = 1500, maxWaitMs = 30_000): Promise<RunResult> {
    const sent = await Promise.all(this.workers.map((w) => w.ask({ cmd: 'run', ...cmd }, 'sent')));
    const senders = sent.flatMap((s) => s.senders);
    const totalSent = senders.reduce((a, s) => a + s.sent, 0);
    const expected = totalSent * receivers;
    let last = -1;
    let lastChange = Date.now();
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const stats = await Promise.all(this.workers.map((w) => w.ask({ cmd: 'stats' }, 'stats')));
      const got = stats.reduce((a, s) => a + s.delivered, 0);
      if (got >= expected) break;
      if (got !== last) {
        last = got;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > stallMs) break;
      if (Date.now() > deadline) break;
      await sleep(50);
    }
    const fin = await Promise.all(this.workers.map((w) => w.ask({ cmd: 'finish' }, 'finished')));
    const histogram = new Histogram();
    for (const f of fin) histogram.merge(f.histogram);
    return {
      senders,
      sent: totalSent,
      acked: senders.reduce((a, s) => a + s.acked, 0),
      delivered: fin.reduce((a, f) => a + f.delivered, 0),
      expected,
      startUs: Math.min(...sent.map((s) => s.startUs)),
      endUs: Math.max(...sent.map((s) => s.endUs)),
      lastAckUs: Math.max(...sent.map((s) => s.lastAckUs)),
      lastDeliveryUs: Math.max(...fin.map((f) => f.lastDeliveryUs)),
      generatorCpu: fin.reduce((a, f) => a + f.cpuSeconds, 0),
      histogram,
      errors: fin.flatMap((f) => f.errors).slice(0, 10),
      closedEarly: fin.reduce((a, f) => a + f.closedEarly, 0),
    };
  }

  /** Closes every client and ends the workers. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exited) return resolve();
            w.child.once('exit', () => resolve());
            try {
              w.child.send({ cmd: 'close' });
            } catch {
              w.child.kill('SIGKILL');
            }
            setTimeout(() => w.child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  }
}

export { nowUs };
