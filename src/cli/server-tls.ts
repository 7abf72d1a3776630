/**
 * The server's TLS flags (docs/operations.md, "TLS"): `--tls-cert FILE --tls-key FILE` serve
 * TLS on the chat port next to plaintext, `--tls-only` refuses plaintext, and
 * `--tls-handshake-timeout` bounds a handshake. Files are read and checked here, once, so a
 * wrong path or a key that does not fit the certificate stops the server at start.
 */
import { readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';
import { Command, Option } from 'commander';
import { DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS, tlsServerOptions, type TlsServerOptions } from '../net/tls.js';
import { UsageError, parsePositiveInt } from './usage.js';

export interface ServerTlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsOnly?: boolean;
  tlsHandshakeTimeout?: string;
}

export function addServerTlsOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--tls-cert <file>', 'serve TLS on the chat port with this PEM certificate (plaintext still served; see lab93 cert)').env('LAB93_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'the PEM private key of --tls-cert').env('LAB93_TLS_KEY'))
    .option('--tls-only', 'refuse plaintext on the chat port (Lab-93 and the classic board)')
    .option('--tls-handshake-timeout <seconds>', `time allowed for a TLS handshake (default ${DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS / 1000})`);
}

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The TLS options the flags ask for, or undefined for a plaintext-only server. */
export function serverTlsFromFlags(f: ServerTlsFlags, warn: (line: string) => void = (l) => void process.stderr.write(`lab93: ${l}\n`)): TlsServerOptions | undefined {
  if (f.tlsCert === undefined && f.tlsKey === undefined) {
    if (f.tlsOnly) throw new UsageError('--tls-only needs --tls-cert FILE and --tls-key FILE (lab93 cert makes a pair)');
    return undefined;
  }
  if (f.tlsCert === undefined || f.tlsKey === undefined) throw new UsageError('--tls-cert and --tls-key go together (lab93 cert makes a pair)');
  const cert = readPem(f.tlsCert, '--tls-cert');
  const key = readPem(f.tlsKey, '--tls-key');
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new UsageError(`--tls-cert/--tls-key: ${(err as Error).message} (is the key the one made with this certificate?)`);
  }
  try {
    const mode = statSync(f.tlsKey).mode & 0o777;
    if ((mode & 0o077) !== 0) warn(`warning: --tls-key ${f.tlsKey} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  } catch {
    /* read above, so it exists; a stat failure is not worth stopping for */
  }
  const timeout = f.tlsHandshakeTimeout === undefined ? undefined : parsePositiveInt(f.tlsHandshakeTimeout, '--tls-handshake-timeout');
  if (timeout === 0) throw new UsageError('--tls-handshake-timeout must be at least 1 second');
  return tlsServerOptions({ cert, key, only: f.tlsOnly === true, ...(timeout !== undefined ? { handshakeTimeoutMs: timeout * 1000 } : {}) });
}
