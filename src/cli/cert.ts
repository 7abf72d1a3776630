/**
 * `lab93 cert`: a self-signed certificate and key for a LAN server (docs/operations.md, "TLS").
 * Its names (SAN) are this machine's: the host name, `<host>.local` (what mDNS announces),
 * localhost, and every address of its interfaces, so a client may dial any of them. The key is
 * written 0600 in a 0700 folder, and the SHA-256 fingerprint printed, for the operator to hand
 * to the students: it is what their client pins on first use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { generate } from 'selfsigned';
import { tlsDir, writePrivateFile } from '../config/paths.js';
import { certFingerprint } from '../net/tls.js';
import { hostLabel } from '../peer/mdns-records.js';
import { UsageError, parsePositiveInt } from './usage.js';

export interface CertNames {
  dns: string[];
  ips: string[];
}

/** This machine's names and addresses, as a client on the LAN may dial them. */
export function localNames(hostname = os.hostname(), ifaces = os.networkInterfaces()): CertNames {
  const label = hostLabel(hostname);
  const dns = [...new Set([hostname.toLowerCase(), label.toLowerCase(), `${label.toLowerCase()}.local`, 'localhost'])].filter((n) => /^[a-z0-9.-]+$/.test(n));
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) {
      // Link-local IPv6 needs a zone to be dialled; a certificate cannot name it usefully.
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
      ips.add(a.address);
    }
  }
  return { dns, ips: [...ips] };
}

export interface WrittenCert {
  certPath: string;
  keyPath: string;
  fingerprint: string;
  names: CertNames;
}

/** Makes and writes the pair; refuses to replace an existing one unless `force`. */
export async function writeSelfSignedCert(o: { dir: string; names: CertNames; days: number; force: boolean; now?: Date }): Promise<WrittenCert> {
  const certPath = join(o.dir, 'server.crt');
  const keyPath = join(o.dir, 'server.key');
  if (!o.force && (existsSync(certPath) || existsSync(keyPath))) {
    const fp = existsSync(certPath) ? ` (its fingerprint: ${certFingerprint(readFileSync(certPath))})` : '';
    throw new UsageError(`${certPath} exists already${fp}; --force replaces it, and every client that pinned it will refuse the new one until told to forget the old`);
  }
  const notBeforeDate = o.now ?? new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + o.days * 86_400_000);
  const cn = o.names.dns[0] ?? 'lab93';
  const pems = await generate([{ name: 'commonName', value: cn }, { name: 'organizationName', value: 'lab93 chat server' }], {
    // P-256: small, fast to make and to handshake, and what every TLS client speaks.
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...o.names.dns.map((value) => ({ type: 2 as const, value })), ...o.names.ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  // The key first, 0600 from its creation; the certificate is public but lives beside it.
  writePrivateFile(keyPath, pems.private);
  writePrivateFile(certPath, pems.cert);
  return { certPath, keyPath, fingerprint: certFingerprint(pems.cert), names: o.names };
}

export function registerCertCommand(program: Command): void {
  program
    .command('cert')
    .description('write a self-signed TLS certificate and key for this server (key mode 0600)')
    .option('--dir <dir>', 'where to write server.crt and server.key (default $XDG_DATA_HOME/lab93/tls)')
    .option('--name <name...>', 'more DNS names or addresses the certificate is for (the host\'s own are always in)')
    .option('--days <n>', 'validity in days (default 1825)')
    .option('--force', 'replace an existing certificate (clients that pinned the old one will refuse it)')
    .addHelpText('after', '\nThen: lab93 server --tls-cert DIR/server.crt --tls-key DIR/server.key\nClients: lab93 connect HOST --tls (the fingerprint is pinned on first use; compare it with the one printed here).\n')
    .action(async (f: { dir?: string; name?: string[]; days?: string; force?: boolean }) => {
      const names = localNames();
      for (const n of f.name ?? []) {
        if (isIP(n) !== 0) names.ips.push(n);
        else if (/^[A-Za-z0-9.-]+$/.test(n)) names.dns.push(n.toLowerCase());
        else throw new UsageError(`--name "${n}" is neither a DNS name nor an address`);
      }
      const days = f.days === undefined ? 1825 : parsePositiveInt(f.days, '--days');
      if (days < 1) throw new UsageError('--days must be at least 1');
      const w = await writeSelfSignedCert({ dir: f.dir ?? tlsDir(), names, days, force: f.force === true });
      process.stdout.write(
        `certificate: ${w.certPath}\n` +
        `key:         ${w.keyPath} (mode 0600)\n` +
        `names:       ${[...w.names.dns, ...w.names.ips].join(', ')}\n` +
        `SHA-256 fingerprint:\n  ${w.fingerprint}\n\n` +
        `Start the server with:\n  lab93 server --tls-cert ${w.certPath} --tls-key ${w.keyPath}\n` +
        `Give the fingerprint to your users: their client shows it the first time it connects with --tls.\n`,
      );
    });
}
