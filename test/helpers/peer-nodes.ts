/**
 * Peers in the test's own process over real TCP on loopback (discovery off, links by --peer);
 * the fake peer that says what a test wants is in fake-peer.ts (re-exported here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { silentLogger } from '../../src/log/index.js';
import { peerOptions, type PeerOptions } from '../../src/peer/config.js';
import { PeerNode } from '../../src/peer/node.js';
import type { PeerStoredMessage } from '../../src/peer/peer-store.js';

export { hello, identityOf, idOf, linkedRawPeer, msg, rawPeer, signed, until, type RawPeer } from './fake-peer.js';

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
