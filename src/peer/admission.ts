/**
 * Whether a peer-message from a link may be stored (docs/protocol-peers.md, rule 4), before
 * the store's own rule (next sequence of its origin, else duplicate or gap). Pure.
 *
 * The rules keep anyone from claiming an origin in a way that silences it. Without signatures
 * a link cannot prove who wrote a message, but it can be held to what it may claim:
 * - our own origin is ours: nobody else writes it, and a claim of it would make us skip or
 *   collide with our own numbering;
 * - a sequence above MAX_SEQ is refused: nobody will ever write it, and near 2^53 numbers stop
 *   being exact;
 * - an origin we never heard of, heard from another peer, must start low (`maxFirstSeq`):
 *   a claim far ahead of the origin would make us drop its real messages as duplicates;
 * - while the origin itself is linked to us, what others relay of it is ignored: it sends us
 *   all of its own messages, in order, so nothing is lost and nobody can race it.
 */
import { MAX_SEQ, type PeerMessagePacket } from './packets.js';
import type { RefusalReason } from './refusals.js';

export interface AdmissionContext {
  /** This peer's id. */
  self: string;
  /** The peer id of the link the message came from. */
  from: string;
  maxFirstSeq: number;
  haveOf(origin: string): number | undefined;
  /** A ready link to that peer exists. */
  linked(peerId: string): boolean;
}

export type Admission =
  | { kind: 'check' }
  | { kind: 'ignored' }
  | { kind: 'refused'; reason: RefusalReason; detail: string };

export function admit(p: Pick<PeerMessagePacket, 'origin' | 'seq'>, c: AdmissionContext): Admission {
  if (p.seq > MAX_SEQ) return { kind: 'refused', reason: 'seq over bound', detail: `seq ${p.seq} of ${p.origin} is above ${MAX_SEQ}` };
  if (p.origin === c.self) return { kind: 'refused', reason: 'own origin', detail: `seq ${p.seq} claims this peer's own origin` };
  if (p.origin === c.from) return { kind: 'check' };
  if (c.linked(p.origin)) return { kind: 'ignored' };
  if (c.maxFirstSeq > 0 && p.seq > c.maxFirstSeq && c.haveOf(p.origin) === undefined) {
    return { kind: 'refused', reason: 'first seq too high', detail: `new origin ${p.origin} starts at seq ${p.seq} (limit ${c.maxFirstSeq})` };
  }
  return { kind: 'check' };
}
