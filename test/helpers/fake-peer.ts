/**
 * A fake peer that says what a test wants, right or wrong: identities made per test label,
 * hellos that prove them, messages signed by whoever the test likes, and a raw socket speaking
 * plain JSON lines. No PeerNode here, so a small process (test/helpers/rogue-peer.ts) can be a
 * rogue inside a network namespace with the same code the loopback tests use in process.
 */
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { toB64url, type SignedFields } from '../../src/peer/canonical.js';
import { generateIdentity, isSignedPeerId, makeProof, newChallenge, signMessage, type NetworkKey, type PeerIdentity } from '../../src/peer/identity.js';

/**
 * Identities of fake peers by test label ('feedfacefeedface'): a label stands for the peer id of
 * its key, so tests name their rogue peers readably. `idOf(label)` is that peer id; a label that
 * never said hello (a real peer's id, an origin a rogue claims) is used as it is.
 */
const fakes = new Map<string, PeerIdentity>();
export function identityOf(label: string): PeerIdentity {
  let i = fakes.get(label);
  if (!i) fakes.set(label, (i = generateIdentity()));
  return i;
}
export const idOf = (label: string): string => fakes.get(label)?.peerId ?? label;

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

export interface RawPeer {
  s: net.Socket;
  /** Every line received, parsed (plain JSON lines). */
  lines: any[];
  send(o: object): void;
  closed: Promise<unknown>;
}

/** Challenges of the hellos fake peers sent, by the hello's peer id (to answer with peer-auth). */
const sentChallenges = new Map<string, Buffer>();

/**
 * A fake peer on a raw socket: plain JSON lines, so the test reads what it is told. When it sent
 * a hello made by `hello()` and the other side answers with its own, it proves its key with
 * `peer-auth` as a real dialler does (`net`: the network key it claims to know). `onLine` sees
 * each line as it comes (a rogue process reports them).
 */
export async function rawPeer(port: number, net_: NetworkKey | null = null, opts: { host?: string; onLine?: (line: any) => void } = {}): Promise<RawPeer> {
  const s = net.connect(port, opts.host ?? '127.0.0.1');
  await once(s, 'connect');
  const lines: any[] = [];
  let mine: { label: string; challenge: Buffer } | null = null;
  const send = (o: object): void => {
    const h = o as { type?: string; peer_id?: string; challenge?: string };
    if (h.type === 'peer-hello' && h.peer_id) {
      const label = [...fakes.entries()].find(([, i]) => i.peerId === h.peer_id)?.[0];
      const c = sentChallenges.get(h.peer_id);
      if (label && c) mine = { label, challenge: c };
    }
    s.write(JSON.stringify(o) + '\n');
  };
  createInterface({ input: s }).on('line', (l) => {
    const p = JSON.parse(l);
    lines.push(p);
    opts.onLine?.(p);
    if (p.type === 'peer-hello' && mine) {
      const proof = makeProof(identityOf(mine.label), 'dialler', mine.challenge, { key: Buffer.from(p.key, 'base64url'), boxKey: Buffer.from(p.box_key, 'base64url'), challenge: Buffer.from(p.challenge, 'base64url') }, net_);
      if (proof.ok) send({ type: 'peer-auth', sig: toB64url(proof.value.sig), ...(proof.value.mac ? { mac: toB64url(proof.value.mac) } : {}) });
    }
  });
  s.on('error', () => {});
  return { s, lines, send, closed: once(s, 'close') };
}

/** A version 2 hello of the fake peer `label` (its key, a fresh challenge). */
export const hello = (label: string, have: Record<string, number> = {}): object => {
  const i = identityOf(label);
  const challenge = newChallenge();
  sentChallenges.set(i.peerId, challenge);
  const h: Record<string, number> = {};
  for (const [k, v] of Object.entries(have)) h[idOf(k)] = v;
  return { type: 'peer-hello', peer_id: i.peerId, name: 'mallory', version: 2, port: null, have: h, users: [], key: toB64url(i.signPublic), box_key: toB64url(i.boxPublic), challenge: toB64url(challenge) };
};

/**
 * A signed peer-message of `origin`: a test label is signed with its fake's key (made on first
 * use). A real peer's id (26 base32 characters) cannot be signed for: the message claims it
 * with a key of its own, as a forger must (every peer drops it: wrong_origin).
 */
export const msg = (origin: string, seq: number, content = `m${seq}`): object => {
  const i = fakes.get(origin) ?? (isSignedPeerId(origin) ? generateIdentity() : identityOf(origin));
  const o = fakes.has(origin) || !isSignedPeerId(origin) ? i.peerId : origin;
  return signed({ gid: `${o}:${seq}`, origin: o, seq, uid: null, username: 'mallory', subject: null, content, room: 'lobby', to: null, timestamp: 1 }, i);
};

/** The wire form of `fields` signed by `signer` (whose key goes with it: a forger's own key). */
export function signed(fields: Omit<SignedFields, 'prev' | 'box_key' | 'to_peer' | 'box'>, signer: PeerIdentity): object {
  const f: SignedFields = { ...fields, prev: null, box_key: signer.boxPublic, to_peer: null, box: null };
  const sig = signMessage({ ...signer, peerId: f.origin }, f);
  if (!sig.ok) throw new Error(sig.message);
  return { type: 'peer-message', ...fields, key: toB64url(signer.signPublic), box_key: toB64url(signer.boxPublic), sig: toB64url(sig.value.sig) };
}

/** A raw peer that said hello to `port` and was caught up (peer-synced). */
export async function linkedRawPeer(port: number, id: string, have: Record<string, number> = {}): Promise<RawPeer> {
  const r = await rawPeer(port);
  r.send(hello(id, have));
  await until(() => r.lines.some((l) => l.type === 'peer-synced'), 5000, `${id} synced`);
  return r;
}
