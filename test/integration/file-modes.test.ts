/**
 * Data files are private from the start (issue 9, item 6): folders 0700; databases with their
 * -wal and -shm, the TLS key and the pins 0600; for the server (a real `lab93 server` process),
 * a broadcast peer's store and the terminal client's history. Run with umask 0, so the modes
 * cannot come from a careful umask: they must be asked for when each file is created.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeSelfSignedCert } from '../../src/cli/cert.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { PeerStore } from '../../src/peer/peer-store.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8).padStart(4, '0');

function assertModes(files: Record<string, string>): void {
  const got: Record<string, string> = {};
  for (const p of Object.keys(files)) got[p] = existsSync(p) ? mode(p) : 'missing';
  assert.deepEqual(got, files);
}

let root: string;
let oldUmask: number;
const procs: ServerProcess[] = [];
before(() => {
  root = tempDir('lab93-modes-');
  oldUmask = process.umask(0);
});
after(async () => {
  process.umask(oldUmask);
  for (const p of procs) {
    p.proc.kill('SIGTERM');
    await p.exit();
  }
  removeDir(root);
});

test('server, client, pins and TLS key: private from creation, even with umask 0', async () => {
  // lab93 cert: the key and the folder it makes.
  const certDir = join(root, 'cert', 'tls');
  const cert = await writeSelfSignedCert({ dir: certDir, names: { dns: ['localhost'], ips: ['127.0.0.1'] }, days: 1, force: false });

  // A real server process, whose data folder does not exist yet.
  const serverData = join(root, 'server-data', 'lab93');
  const server = await spawnServer(['--no-announce', '--tls-cert', cert.certPath, '--tls-key', cert.keyPath], { LAB93_DATA_DIR: serverData });
  procs.push(server);

  // The terminal client, pinning the server on first use, with its history in its own data folder.
  const clientData = join(root, 'client-data', 'lab93');
  process.env.LAB93_DATA_DIR = clientData;
  const conn = new RepeaterConnection({ host: '127.0.0.1', port: server.port, username: 'tess', tls: {} });
  const acked = new Promise<void>((resolve) => conn.once('acked', () => resolve()));
  conn.send({ content: 'private?', room: 'lobby' });
  await conn.start();
  await acked;

  const db = join(serverData, 'server.db');
  const cdb = join(clientData, 'client', '127.0.0.1_' + server.port + '.db');
  // Stat while both are open: that is when -wal and -shm exist.
  assertModes({
    [join(root, 'server-data')]: '0700', [serverData]: '0700', [db]: '0600', [`${db}-wal`]: '0600', [`${db}-shm`]: '0600',
    [clientData]: '0700', [join(clientData, 'client')]: '0700', [cdb]: '0600', [`${cdb}-wal`]: '0600', [`${cdb}-shm`]: '0600',
    [join(clientData, 'client', 'known-servers.json')]: '0600',
    [certDir]: '0700', [cert.keyPath]: '0600',
  });
  await conn.close();
});

test('a broadcast peer\'s store: private from creation, even with umask 0', async () => {
  const peerData = join(root, 'peer-data', 'lab93');
  const path = join(peerData, 'peer-5190.db');
  const store = new PeerStore(path);
  try {
    await store.append([{ uid: 'u1', username: 'ann', room: 'lobby', to: null, subject: null, content: 'hi', timestamp: 1 }]);
    assertModes({ [peerData]: '0700', [path]: '0600', [`${path}-wal`]: '0600', [`${path}-shm`]: '0600' });
  } finally {
    await store.close();
  }
});
