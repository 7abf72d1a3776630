/**
 * lab93 itself, from source (`node --import tsx src/cli/main.ts server`), with the per-connection
 * rate limit off (--rate 0: the benchmark floods on purpose) and synchronous=FULL, so that an
 * acknowledgement means the message is on disk.
 */
import { join } from 'node:path';
import { writeSelfSignedCert } from '../../src/cli/cert.js';
import { freePort } from '../lib/proc.js';
import { launch, type ServerKind, type StartOptions } from './process.js';

function argvFor(o: StartOptions, dbPath: string, extra: string[] = ['--no-web'], port = o.port): string[] {
  const prof = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  return [process.execPath, ...prof, '--import', 'tsx', 'src/cli/main.ts', 'server', '--address', '127.0.0.1', '--port', String(port), '--db', dbPath, '--rate', '0', '--synchronous', 'full', ...extra];
}

export const lab93Server: ServerKind = {
  name: 'lab93',
  protocol: 'lab93',
  missing: () => null,
  async start(o) {
    const dbPath = join(o.dir, 'lab93.db');
    const h = await launch('lab93', 'lab93', argvFor(o, dbPath), o, { LAB93_DATA_DIR: o.dir });
    return { ...h, dbPath };
  },
};

/**
 * lab93 serving the same clients inside TLS on its chat port (a certificate as `lab93 cert`
 * makes, EC P-256): what TLS costs the fan-out, beside the plaintext row.
 */
export const lab93TlsServer: ServerKind = {
  name: 'lab93-tls',
  protocol: 'lab93-tls',
  missing: () => null,
  async start(o) {
    const dbPath = join(o.dir, 'lab93.db');
    const cert = await writeSelfSignedCert({ dir: join(o.dir, 'tls'), names: { dns: ['localhost'], ips: ['127.0.0.1'] }, days: 1, force: true });
    const h = await launch('lab93-tls', 'lab93-tls', argvFor(o, dbPath, ['--no-web', '--tls-cert', cert.certPath, '--tls-key', cert.keyPath]), o, { LAB93_DATA_DIR: o.dir });
    return { ...h, dbPath };
  },
};

/**
 * lab93 with its clients on the web client's WebSocket (--web, src/web): the same core reached
 * through the WebSocket adapter, beside the TCP row. The chat port gets a free port of its own;
 * the clients dial the web port.
 */
export const lab93WsServer: ServerKind = {
  name: 'lab93-ws',
  protocol: 'lab93-ws',
  missing: () => null,
  async start(o) {
    const dbPath = join(o.dir, 'lab93.db');
    const h = await launch('lab93-ws', 'lab93-ws', argvFor(o, dbPath, ['--web', String(o.port)], await freePort()), o, { LAB93_DATA_DIR: o.dir });
    return { ...h, dbPath };
  },
};
