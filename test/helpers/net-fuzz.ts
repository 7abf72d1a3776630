/**
 * A network fuzzer: several connections at once send a real lab93 process random garbage,
 * mutated valid frames, hostile JSON and Python literals, classic `%` traffic, peer packets and
 * the known crash lines, cut into random reads, for a bounded time. Everything is drawn from one
 * seed, so a failure can be replayed (LAB93_FUZZ_SEED). What each connection sent is kept (the
 * most recent ones), so a crash or a logged fault can be traced to its bytes.
 */
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { pyReprStr } from '../../src/protocol/pyrepr.js';
import { CLIENT_TYPES, PEER_TYPES, anyBytes, hostileJsonText, hostileString, mutated } from './arbitraries.js';
import { loadVectors } from './fuzz-vectors.js';

/** mulberry32: a small seeded PRNG, enough to choose among inputs reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Python-literal lines in the original client's shape, with every escape, the bad ones included. */
const pyLine = fc
  .tuple(
    fc.array(fc.oneof(hostileString.filter((s) => !/\p{Cs}/u.test(s)).map(pyReprStr), fc.array(fc.constantFrom('a', 'é', "\\'", '\\\\', '\\n', '\\x41', '\\101', '\\u263a', '\\U0001f600', '\\U00110000', '\\Uffffffff', '\\ud800', '\\N{BULLET}', '\\q', '\\x4', "' '", "' b'", '\\\r'), { maxLength: 6 }).map((a) => `'${a.join('')}'`)), { minLength: 1, maxLength: 2 }),
    fc.constantFrom('', "b'x'", 'None', '1e999', "r'\\'", "'''a\rb'''"),
  )
  .map(([values, extra]) => `{'username': 'py', 'content': ${values.join(' ')}${extra ? `, 'subject': ${extra}` : ''}}`);

const classicStream = fc
  .array(fc.oneof(fc.constantFrom('POST', 'GET', 'GET5', 'KEEP', '%', '\n', 'POSThello%', 'GET%', 'KEEP%').map((s) => Buffer.from(s)), anyBytes), { maxLength: 8 })
  .map((a) => Buffer.concat(a));

export interface Pools {
  /** JSON texts (one line each): hostile client and peer packets. */
  json: string[];
  /** Mutated lines, as bytes. */
  mutated: Buffer[];
  python: string[];
  bytes: Buffer[];
  classic: Buffer[];
  /** The regression vectors' bytes. */
  vectors: Buffer[];
}

/** Inputs drawn once per run from the seed (fast-check's generators, sampled). */
export function makePools(seed: number, size = 150): Pools {
  const s = (i: number) => ({ seed: seed + i, numRuns: size });
  const json = fc.sample(hostileJsonText([...CLIENT_TYPES, ...PEER_TYPES]), s(1));
  return {
    json,
    mutated: fc.sample(mutated(fc.constantFrom(...json.map((t) => Buffer.from(t)))), s(2)),
    python: fc.sample(pyLine, s(3)),
    bytes: fc.sample(anyBytes, s(4)),
    classic: fc.sample(classicStream, s(5)),
    vectors: loadVectors().map((v) => v.bytes),
  };
}

const b64 = (b: Buffer | string) => Buffer.from(Buffer.from(b).toString('base64'));
const nl = Buffer.from('\n');

/** One connection's bytes: a first frame, then more, by one of a few scripts. */
export function script(rnd: () => number, pools: Pools, target: 'server' | 'peer'): Buffer {
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const mode = rnd() < 0.5 ? 'plain' : 'base64';
  const frame = (text: string | Buffer) => Buffer.concat([mode === 'plain' ? Buffer.from(text) : b64(text), nl]);
  const junk = (): Buffer => {
    const r = rnd();
    if (r < 0.35) return frame(pick(pools.json));
    if (r < 0.55) return Buffer.concat([mode === 'plain' ? pick(pools.mutated) : pick([b64(pick(pools.mutated)), pick(pools.mutated)]), nl]);
    if (r < 0.7) return frame(pick(pools.python));
    if (r < 0.8) return frame(JSON.stringify({ type: 'message', uid: `f${Math.floor(rnd() * 1e9)}`, content: 'fuzz' }));
    if (r < 0.9) return frame(JSON.stringify({ type: 'ping', data: Math.floor(rnd() * 100) }));
    return pick(pools.bytes);
  };
  const parts: Buffer[] = [];
  const kind = rnd();
  if (kind < 0.15) {
    // A known crash or a hostile first line, alone.
    parts.push(frame(rnd() < 0.5 && pools.vectors.length > 0 ? pick(pools.vectors) : pick([...pools.python, ...pools.json])));
  } else if (kind < 0.3) {
    for (let i = 0; i < 1 + rnd() * 4; i++) parts.push(pick(pools.bytes));
  } else if (kind < 0.4) {
    parts.push(pick(pools.classic));
  } else if (kind < 0.5 && target === 'peer') {
    // A peer link: peer-hello, then hostile peer packets.
    parts.push(frame(JSON.stringify({ type: 'peer-hello', peer_id: `fuzz${Math.floor(rnd() * 1e6)}`, name: 'fuzz', version: 1, port: null, have: {}, users: [] })));
    for (let i = 0; i < rnd() * 20; i++) parts.push(junk());
  } else {
    parts.push(frame(JSON.stringify({ type: 'hello', username: `fuzz${Math.floor(rnd() * 1000)}`, quiet: rnd() < 0.5 })));
    for (let i = 0; i < rnd() * 30; i++) parts.push(junk());
  }
  // Sometimes end in the middle of a line.
  if (rnd() < 0.2) parts.push(Buffer.from(pick(pools.bytes).subarray(0, 40).filter((b) => b !== 10)));
  return Buffer.concat(parts);
}

export interface SentRecord { port: number; bytes: Buffer }

export interface FuzzRunOptions {
  port: number;
  target: 'server' | 'peer';
  seed: number;
  durationMs: number;
  concurrency: number;
  /** Called now and then (memory sampling, liveness). */
  onTick?: () => void;
}

/** Runs connections against `port` until `durationMs` passes; returns what the most recent 300 sent, by local port. */
export async function fuzzNetwork(o: FuzzRunOptions): Promise<{ connections: number; sent: Map<number, Buffer> }> {
  const pools = makePools(o.seed);
  const sent = new Map<number, Buffer>();
  const deadline = Date.now() + o.durationMs;
  let connections = 0;
  let started = 0;
  let lastTick = 0;

  async function one(): Promise<void> {
    // Each connection draws from its own generator, seeded by the run's seed and its number, so
    // what it sends does not depend on how the concurrent connections interleave.
    const rnd = prng((o.seed ^ Math.imul(++started, 0x9e3779b9)) >>> 0);
    const bytes = script(rnd, pools, o.target);
    const destroyEarly = rnd() < 0.2;
    const socket = net.connect(o.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {}); // read and drop: a fuzzer that stops reading only tests the send queue
    try {
      await Promise.race([once(socket, 'connect'), once(socket, 'close')]);
    } catch {
      return;
    }
    if (socket.destroyed) return;
    connections++;
    sent.set(socket.localPort ?? 0, bytes);
    if (sent.size > 300) sent.delete(sent.keys().next().value!);
    // Random reads: cut points drawn from the seed, a macrotask between writes.
    let at = 0;
    while (at < bytes.length && !socket.destroyed) {
      const n = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 8 : 2000));
      if (!socket.write(bytes.subarray(at, at + n))) await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => {});
      at += n;
      if (rnd() < 0.3) await new Promise((r) => setImmediate(r));
    }
    // Some go away rudely: a reset (RST) or a close with unread input, while answers are on their way.
    if (destroyEarly) rnd() < 0.5 ? socket.resetAndDestroy() : socket.destroy();
    else socket.end();
    const t = setTimeout(() => socket.destroy(), 1500);
    await once(socket, 'close').catch(() => {});
    clearTimeout(t);
  }

  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (Date.now() < deadline) {
        await one();
        if (o.onTick && Date.now() - lastTick > 250) {
          lastTick = Date.now();
          o.onTick();
        }
      }
    }),
  );
  return { connections, sent };
}

/** Resident memory of a process in bytes (VmRSS from /proc/<pid>/status), or null when it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
