/**
 * Memory per idle connection: the server's RSS after N logged-in, idle connections minus its RSS
 * before them, divided by N. Clients come from many loopback addresses (127.0.0.2 …), since
 * servers cap connections per address (lab93: 1,000) and one address has only so many ports.
 */
import { Pool } from '../gen/pool.js';
import { freePort, load1, rssBytes, sleep } from '../lib/proc.js';
import type { ClientSpec } from '../protocols/types.js';
import type { ServerKind } from '../servers/index.js';

export interface ConnectionsResult {
  server: string;
  n: number;
  connected: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConnection: number;
  connectMs: number;
  load: number;
  error?: string;
}

export const SOURCES = Array.from({ length: 100 }, (_, i) => `127.0.0.${i + 2}`);

/** RSS once it stopped moving (or after `maxMs`): allocations settle a little after the last handshake. */
async function settledRss(pid: number, maxMs = 3000): Promise<number> {
  let prev = rssBytes(pid);
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await sleep(250);
    const now = rssBytes(pid);
    if (Math.abs(now - prev) < 64 * 1024) return now;
    prev = now;
  }
  return prev;
}

export async function runConnections(kind: ServerKind, n: number, workers: number, dir: string, log: (s: string) => void): Promise<ConnectionsResult> {
  const port = await freePort();
  const server = await kind.start({ dir, port });
  const pool = Pool.start(workers);
  const r: ConnectionsResult = { server: kind.name, n, connected: 0, rssBeforeBytes: 0, rssAfterBytes: 0, bytesPerConnection: NaN, connectMs: 0, load: load1() };
  try {
    // One connection first, so that per-protocol code paths are loaded before the baseline.
    await pool.connect(kind.protocol, port, [{ name: 'warm', role: 'idle' }], { sources: SOURCES });
    r.rssBeforeBytes = await settledRss(server.pid);
    // 16 handshakes at a time: ngircd's listen backlog is small, and a larger burst leaves some
    // connections queued in the kernel, never accepted while the others are being registered.
    const clients: ClientSpec[] = Array.from({ length: n }, (_, i) => ({ name: `i${i}`, role: 'idle' }));
    const c = await pool.connect(kind.protocol, port, clients, { sources: SOURCES, concurrency: 16, timeoutMs: 20_000 });
    r.connected = c.ok;
    r.connectMs = c.ms;
    if (c.failed > 0) r.error = `${c.failed} of ${n} failed: ${c.errors.slice(0, 3).join('; ')}`;
    r.rssAfterBytes = await settledRss(server.pid);
    r.bytesPerConnection = (r.rssAfterBytes - r.rssBeforeBytes) / Math.max(1, c.ok);
    r.load = load1();
    log(`  ${kind.name} ${n} idle connections: ${(r.bytesPerConnection / 1024).toFixed(1)} KiB each${r.error ? ` (${r.error})` : ''}`);
  } catch (err) {
    r.error = (err as Error).message;
    log(`  ${kind.name} ${n} connections: ${r.error}`);
  } finally {
    await pool.close();
    await server.stop();
  }
  return r;
}
