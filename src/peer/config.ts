import { DEFAULT_LIMITS, DEFAULT_PORT, type Limits } from '../protocol/limits.js';
import type { NetworkKey, PeerIdentity } from './identity.js';

/** Everything a peer can be told; validated once by the CLI, then frozen. */
export interface PeerOptions {
  /** This peer's user (its terminal user) and the name it gives other peers. */
  username: string;
  host: string;
  /** First port to try; the next free ones follow when `portSearch` > 0. 0 = ephemeral. */
  port: number;
  portSearch: number;
  dbPath: string;
  /** Peers to keep dialling by hand (networks without multicast). */
  peers: Array<{ host: string; port: number }>;
  discovery: boolean;
  /** Messages a newcomer receives from the past (0 = none): counted in this peer's store. */
  historyWindow: number;
  /** A ping on an idle link every pingMs; silence for linkTimeoutMs closes it. */
  pingMs: number;
  linkTimeoutMs: number;
  /** Redial delays after a failure: from min, doubling, up to max. */
  redialMinMs: number;
  redialMaxMs: number;
  /** New messages per second a peer may originate (it is slowed down, never cut off). */
  originRate: number;
  originBurst: number;
  /** Frames per second of any kind on one link. */
  frameRate: number;
  frameBurst: number;
  /** Messages stored per second from one link, all origins together (slowed down). */
  linkMessageRate: number;
  linkMessageBurst: number;
  /** Bytes of frames per minute from one link (slowed down). */
  linkBytesPerMinute: number;
  /** Origins never seen before that one link may bring per minute (slowed down). */
  linkNewOriginsPerMinute: number;
  /**
   * A new origin heard from another peer (not from the origin itself) must start at a
   * sequence no higher than this, so nobody can claim an origin far ahead of its owner
   * (0: no limit). See docs/broadcast.md, "Origins".
   */
  maxFirstSeq: number;
  /**
   * Messages kept in the store. Past it, the oldest messages of other origins are pruned;
   * this peer's own messages are never pruned nor refused.
   */
  maxStore: number;
  maxErrors: number;
  maxSendQueue: number;
  /** Messages per catch-up page (then we wait for the socket to drain). */
  pageSize: number;
  limits: Limits;
  /** mDNS: interfaces (default all), UDP port (default 5353), record TTL in seconds. */
  mdnsInterfaces?: string[];
  mdnsPort?: number;
  mdnsTtl: number;
  instance?: string;
  /**
   * This peer's keys (docs/protocol-peers.md, "Identity"). Absent: read from (or made in) the
   * identity file beside the store, `<db>.identity.json`; a `:memory:` store gets fresh keys.
   */
  identity?: PeerIdentity;
  /** The mesh's network key (`--network-key`): only peers with the same one link. */
  networkKey: NetworkKey | null;
}

export const DEFAULT_PEER_OPTIONS: Readonly<Omit<PeerOptions, 'username' | 'dbPath'>> = Object.freeze({
  host: '0.0.0.0',
  port: DEFAULT_PORT,
  portSearch: 20,
  peers: [],
  discovery: true,
  historyWindow: 1000,
  pingMs: 10_000,
  linkTimeoutMs: 30_000,
  redialMinMs: 500,
  redialMaxMs: 5000,
  originRate: 100,
  originBurst: 1000,
  frameRate: 5000,
  frameBurst: 20_000,
  linkMessageRate: 500,
  linkMessageBurst: 5000,
  linkBytesPerMinute: 32 * 1024 * 1024,
  linkNewOriginsPerMinute: 60,
  maxFirstSeq: 10_000,
  maxStore: 100_000,
  maxErrors: 20,
  maxSendQueue: 4 * 1024 * 1024,
  pageSize: 500,
  limits: DEFAULT_LIMITS,
  mdnsTtl: 120,
  networkKey: null,
});

export function peerOptions(o: Partial<PeerOptions> & { username: string; dbPath: string }): PeerOptions {
  return Object.freeze({ ...DEFAULT_PEER_OPTIONS, ...o, limits: Object.freeze({ ...DEFAULT_LIMITS, ...(o.limits ?? {}) }) });
}
