/**
 * Tells the protocols apart by a connection's first bytes (docs/protocol.md, "One port, three
 * protocols"): a Lab-93 base64 frame starts with "ey" (the base64 of `{"` or `{'`), a plain
 * Lab-93 frame with "{", a TLS ClientHello with 0x16 (a handshake record, RFC 8446 5.1: no text
 * protocol starts with that control byte), and anything else is the classic board's "%" protocol.
 */
export type Sniffed = 'base64' | 'plain' | 'classic' | 'tls' | 'more';

export function sniff(first: Buffer): Sniffed {
  if (first.length === 0) return 'more';
  const c = first[0];
  if (c === 0x7b) return 'plain';
  if (c === 0x16) return 'tls';
  if (c === 0x65 /* e */) {
    if (first.length < 2) return 'more';
    return first[1] === 0x79 /* y */ ? 'base64' : 'classic';
  }
  return 'classic';
}
