/**
 * How the client dials a server (docs/client.md, "TLS"): plain TCP, or TLS with one of three
 * ways to trust the server's certificate.
 *
 * - `--ca FILE`: only a certificate issued by that CA for the name or address dialled. Nothing
 *   else, no pins.
 * - Otherwise a certificate a CA vouches for (Node's Mozilla roots plus the system's bundle) is
 *   accepted for the name it was issued for.
 * - Otherwise (a self-signed LAN server) trust on first use, as ssh: the first connection pins
 *   the certificate's SHA-256 fingerprint (client/pins.ts) and says so; later connections must
 *   present the same one. A changed certificate is refused loudly, with how to forget the pin.
 *
 * Verification happens after the handshake and before anything is written: the socket emits
 * DIALLED only once the server is trusted (plain sockets: once connected), and a refused one is
 * destroyed with an error whose message says why.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { PinStore, serverKey } from './pins.js';

/** Emitted on the dialled socket when it may be used: connected, and for TLS, trusted. */
export const DIALLED = 'lab93:dialled';

export interface ClientTlsOptions {
  /** `--ca FILE`: PEM of the only CA(s) trusted; no trust on first use. */
  ca?: string | Buffer;
  /**
   * The certificate the server must present, whatever else is true: a server found by mDNS
   * (its name's pin, or the fingerprint it announced). `source` says where it came from.
   */
  expect?: { fingerprint: string; source: string };
  /** Where pins are kept (default: the user's pins file). */
  pins?: PinStore;
  /** More keys to pin with `host:port` on first use (the mDNS name of a discovered server). */
  alsoPin?: string[];
  /** Told when a pin is made or a certificate refused (the CLI prints it). */
  onTrust?: (ev: TrustEvent) => void;
}

export type TrustEvent =
  | { kind: 'pinned'; keys: string[]; fingerprint: string }
  | { kind: 'changed'; key: string; pinned: string; presented: string; pinsFile: string }
  | { kind: 'unexpected'; source: string; expected: string; presented: string }
  | { kind: 'refused'; host: string; port: number; reason: string };

export interface DialOptions {
  host: string;
  port: number;
  /** null or absent: plain TCP. */
  tls?: ClientTlsOptions | null;
}

let systemCaCache: string[] | null = null;

/**
 * Node's bundled roots plus the operating system's bundle, where there is one (a school's own
 * CA is usually installed there). Read once per process.
 */
export function systemCas(): string[] {
  if (systemCaCache) return systemCaCache;
  const out = [...tls.rootCertificates];
  for (const file of ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']) {
    try {
      out.push(readFileSync(file, 'utf8'));
      break;
    } catch {
      /* not this system's layout */
    }
  }
  return (systemCaCache = out);
}

/** Dials; listen for DIALLED (ready to write), 'error' and 'close' on the socket returned. */
export function dial(o: DialOptions): net.Socket {
  if (!o.tls) {
    const socket = net.connect({ host: o.host, port: o.port });
    socket.once('connect', () => socket.emit(DIALLED));
    return socket;
  }
  const t = o.tls;
  const socket = tls.connect({
    host: o.host,
    port: o.port,
    ...(net.isIP(o.host) === 0 ? { servername: o.host } : {}),
    ca: t.ca ?? systemCas(),
    // Checked below, after the handshake: a self-signed server is not an error here, it is
    // the trust-on-first-use case.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  });
  socket.once('secureConnect', () => {
    let why: string | null;
    try {
      why = verify(socket, o.host, o.port, t);
    } catch (err) {
      // The pins file could not be read or written: refuse rather than trust blindly.
      why = (err as Error).message;
    }
    if (why === null) socket.emit(DIALLED);
    else socket.destroy(new Error(why));
  });
  return socket;
}

/** null when the server is trusted; otherwise a one-line reason (the event says more). */
function verify(socket: TLSSocket, host: string, port: number, t: ClientTlsOptions): string | null {
  const presented = socket.getPeerCertificate().fingerprint256;
  const report = t.onTrust ?? (() => {});
  if (!presented) return 'the server presented no certificate';
  if (t.expect && t.expect.fingerprint !== presented) {
    report({ kind: 'unexpected', source: t.expect.source, expected: t.expect.fingerprint, presented });
    return `the server's certificate (${short(presented)}) is not the one expected from ${t.expect.source} (${short(t.expect.fingerprint)})`;
  }
  if (t.ca !== undefined) {
    if (socket.authorized) return null;
    const reason = explainTlsError(String(socket.authorizationError));
    report({ kind: 'refused', host, port, reason });
    return `certificate refused: ${reason}`;
  }
  if (socket.authorized && !t.expect) return null;
  const pins = t.pins ?? new PinStore();
  const key = serverKey(host, port);
  const pin = pins.get(key);
  if (pin === null) {
    const keys = [key, ...(t.alsoPin ?? [])];
    pins.set(keys, presented);
    report({ kind: 'pinned', keys, fingerprint: presented });
    return null;
  }
  if (pin.fingerprint === presented) {
    const missing = (t.alsoPin ?? []).filter((k) => pins.get(k) === null);
    if (missing.length > 0) pins.set(missing, presented);
    return null;
  }
  report({ kind: 'changed', key, pinned: pin.fingerprint, presented, pinsFile: pins.path });
  return `the certificate of ${key} has changed since it was pinned; refused (lab93 pins forget ${key})`;
}

function short(fp: string): string {
  return `${fp.slice(0, 11)}…`;
}

/** OpenSSL's and Node's codes, said for people. */
export function explainTlsError(code: string): string {
  switch (code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'the certificate was not issued for this name or address';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return 'the certificate was not issued by the CA given with --ca';
    case 'CERT_HAS_EXPIRED':
      return 'the certificate has expired';
    case 'CERT_NOT_YET_VALID':
      return 'the certificate is not valid yet (check the clocks)';
    default:
      return code;
  }
}

/** A dial error as one line for the status bar: TLS failures said plainly, others by code. */
export function describeDialError(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'EPROTO') {
    return 'the server did not answer in TLS (is it started with --tls-cert? try without --tls)';
  }
  if (code === 'ECONNRESET' && /TLS|secure/i.test(err.message)) return 'the server closed the connection during the TLS handshake';
  return code || err.message;
}

/** The loud text for a trust event, as the CLI prints it (names already safe: ours, not the server's). */
export function describeTrust(ev: TrustEvent): string {
  switch (ev.kind) {
    case 'pinned':
      return `first TLS connection to ${ev.keys[0]}: its certificate is now pinned, SHA-256 ${ev.fingerprint}\n` +
        `  Compare it with the fingerprint the server's operator gives (lab93 cert prints it, the server logs it).\n` +
        `  If they differ, you are not talking to that server: run lab93 pins forget ${ev.keys[0]} and tell the operator.`;
    case 'changed':
      return `@@@ WARNING: THE CERTIFICATE OF ${ev.key} HAS CHANGED @@@\n` +
        `  pinned:    ${ev.pinned}\n` +
        `  presented: ${ev.presented}\n` +
        `  Someone may be impersonating the server, or its operator made a new certificate. The connection was refused.\n` +
        `  Ask the operator for the new fingerprint; if it is the one presented, forget the old pin and connect again:\n` +
        `    lab93 pins forget ${ev.key}\n` +
        `  (pins are kept in ${ev.pinsFile})`;
    case 'unexpected':
      return `@@@ WARNING: the server presented a certificate other than the one expected from ${ev.source} @@@\n` +
        `  expected:  ${ev.expected}\n` +
        `  presented: ${ev.presented}\n` +
        `  The connection was refused. Something on the LAN may be posing as that server.`;
    case 'refused':
      return `TLS: ${ev.host}:${ev.port} refused: ${ev.reason}`;
  }
}
