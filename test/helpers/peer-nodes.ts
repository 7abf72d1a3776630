/**
 * Peers in the test's own process over real TCP on loopback (discovery off, links by --peer),
 * and a fake peer on a raw socket that says what a test wants, right or wrong.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { silentLogger } from '../../src/log/index.js';
import { peerOptions, type PeerOptions } from '../../src/peer/config.js';
import { PeerNode } from '../../src/peer/node.js';
import type { PeerStoredMessage } from '../../src/peer/peer-store.js';

/** Resolves when `cond` holds (checked every 10 ms), or rejects after `ms` naming `what`. */
export function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** Makes PeerNodes with stores in one temporary directory; `close()` stops them all. */
export class TestMesh {
  readonly dir = mkdtempSync(join(tmpdir(), 'lab93-peer-test-'));
  readonly nodes: PeerNode[] = [];
  private n = 0;

  node(name: string, o: Partial<PeerOptions> = {}, log: Logger = silentLogger(), clock?: () => number): PeerNode {
    const p = new PeerNode(peerOptions({ username: name, dbPath: join(this.dir, `${name}-${++this.n}.db`), host: '127.0.0.1', port: 0, discovery: false, ...o }), log, clock);
    this.nodes.push(p);
    return p;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((x) => x.close()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Stores a message of the node's own user and resolves once it is durable. */
export function post(p: PeerNode, content: string, user = p.opts.username): Promise<PeerStoredMessage> {
  return p.post({ uid: null, username: user, room: 'lobby', to: null, subject: null, content, timestamp: Date.now() / 1000 });
}

export interface RawPeer {
  s: net.Socket;
  /** Every line received, parsed (plain JSON lines). */
  lines: any[];
  send(o: object): void;
  closed: Promise<unknown>;
}

/** A fake peer on a raw socket: plain JSON lines, so the test reads what it is told. */
export async function rawPeer(port: number): Promise<RawPeer> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  const lines: any[] = [];
  createInterface({ input: s }).on('line', (l) => lines.push(JSON.parse(l)));
  s.on('error', () => {});
  return { s, lines, send: (o) => s.write(JSON.stringify(o) + '\n'), closed: once(s, 'close') };
}

export const hello = (id: string, have: Record<string, number> = {}): object => ({ type: 'peer-hello', peer_id: id, name: 'mallory', version: 1, port: null, have, users: [] });

export const msg = (origin: string, seq: number, content = `m${seq}`): object => ({ type: 'peer-message', gid: `${origin}-${seq}`, origin, seq, uid: null, username: 'mallory', subject: null, content, room: 'lobby', to: null, timestamp: 1 });

/** A raw peer that said hello to `port` and was caught up (peer-synced). */
export async function linkedRawPeer(port: number, id: string, have: Record<string, number> = {}): Promise<RawPeer> {
  const r = await rawPeer(port);
  r.send(hello(id, have));
  await until(() => r.lines.some((l) => l.type === 'peer-synced'), 5000, `${id} synced`);
  return r;
}
