/**
 * TLS on the chat port (docs/operations.md, "TLS"). The same port keeps serving plaintext: the
 * server reads a connection's first bytes anyway to tell the protocols apart
 * (protocol/sniff.ts), and a TLS ClientHello starts with 0x16. Such a socket is handed, with the
 * bytes already read, to an unlistened `tls.Server`, and what comes out of the handshake is
 * sniffed again: inside TLS a connection may speak base64 or plain Lab-93, or the classic board.
 *
 * Also the certificate fingerprint everybody compares: the SHA-256 of the DER certificate as
 * colon-separated hex, exactly what `openssl x509 -noout -fingerprint -sha256` prints, so an
 * operator can check it with a tool they already trust.
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';

export interface TlsServerOptions {
  /** PEM certificate (chain) and private key, as read from --tls-cert and --tls-key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** --tls-only: refuse plaintext connections (Lab-93 and the classic board) on the chat port. */
  only: boolean;
  /** --tls-handshake-timeout: a ClientHello that does not become a session in time is closed. */
  handshakeTimeoutMs: number;
}

export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Fills in the defaults of the options the caller left out. */
export function tlsServerOptions(o: Pick<TlsServerOptions, 'cert' | 'key'> & Partial<TlsServerOptions>): TlsServerOptions {
  return Object.freeze({ only: false, handshakeTimeoutMs: DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS, ...o });
}

const FINGERPRINT = /^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** Is this a SHA-256 fingerprint in our form (64 hex digits in colon-separated pairs, upper case)? */
export function isFingerprint(s: string): boolean {
  return FINGERPRINT.test(s);
}

/**
 * Reads a fingerprint someone typed or sent (any case, with or without colons, an optional
 * "SHA256:" or "sha256 Fingerprint=" prefix) into our form; null when it is not one.
 */
export function normalizeFingerprint(s: string): string | null {
  const hex = s.trim().replace(/^sha-?256(?:\s*fingerprint)?\s*[:=]?\s*/i, '').replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

/** The SHA-256 fingerprint of the first certificate of a PEM (the server's own, before its chain). */
export function certFingerprint(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Takes sockets whose first byte said TLS; emits each one that completes the handshake. */
export interface TlsAcceptor {
  /** `first`: the bytes read while sniffing, given back to the TLS layer before anything else. */
  accept(socket: Socket, first: Buffer): void;
  readonly fingerprint: string;
}

/**
 * Builds the acceptor once (the key is parsed and the secure context made here, so a wrong key
 * or certificate fails at start, not at the first client). `onSecure` gets each TLS socket
 * after its handshake, ready to be sniffed like a plain one.
 */
export function createTlsAcceptor(o: TlsServerOptions, onSecure: (socket: TLSSocket) => void, log: Logger): TlsAcceptor {
  // Never listens: it only lends its handshake handling (the timeout, SNI, the shared secure
  // context, 'tlsClientError') to sockets our own listener accepted.
  const server = tls.createServer({ cert: o.cert, key: o.key, minVersion: 'TLSv1.2', handshakeTimeout: o.handshakeTimeoutMs });
  server.on('secureConnection', onSecure);
  // A bad ClientHello, a client that rejected our certificate, a handshake that took too long:
  // one line says why, and the socket goes (Node does not destroy it on a timeout by itself).
  server.on('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => {
    log.info({ remote: s.remoteAddress, err: err.code ?? err.message }, 'tls handshake failed');
    s.destroy();
  });
  return {
    fingerprint: certFingerprint(o.cert),
    accept(raw, first) {
      // Give the sniffed bytes back: a TLSSocket built over a socket that holds buffered data
      // reads that data first, so the ClientHello is not lost.
      raw.pause();
      if (first.length > 0) raw.unshift(first);
      server.emit('connection', raw);
    },
  };
}
