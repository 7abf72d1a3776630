/**
 * How the client trusts a TLS server, over real TCP (issue 9, item 4): `--ca` refuses a
 * certificate from another CA or for another name; without `--ca` a self-signed server is pinned
 * on first use, a changed certificate is refused loudly (saying how to forget the pin), and once
 * forgotten the new one is pinned. The command line says the same and exits 1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBus } from '../../src/bus/local.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { PinStore } from '../../src/client/pins.js';
import type { ClientTlsOptions, TrustEvent } from '../../src/client/transport.js';
import { silentLogger } from '../../src/log/index.js';
import { certFingerprint, tlsServerOptions } from '../../src/net/tls.js';
import { createServer } from '../../src/server/server.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { issued, makeCa, selfSigned, type Pem } from '../helpers/certs.js';
import { runCli } from '../helpers/client-cli.js';
import { removeDir, tempDir } from '../helpers/server.js';

interface TlsServer {
  port: number;
  stop(): Promise<void>;
}

async function startTls(pem: Pem, port = 0): Promise<TlsServer> {
  const dir = tempDir('lab93-tls-trust-');
  const store = new SqliteStore(join(dir, 'server.db'));
  const server = createServer({ store, bus: new LocalBus(), log: silentLogger(), options: { ratePerSecond: 0 }, tls: tlsServerOptions({ cert: pem.cert, key: pem.key }) });
  const a = await server.listen(port, '127.0.0.1');
  return {
    port: a.port,
    async stop() {
      await server.close();
      await store.close();
      removeDir(dir);
    },
  };
}

/** Connects once: 'online', or the reason it went offline, with the trust events seen. */
async function attempt(port: number, tls: ClientTlsOptions, host = '127.0.0.1'): Promise<{ online: boolean; detail: string; events: TrustEvent[] }> {
  const events: TrustEvent[] = [];
  const conn = new RepeaterConnection({ host, port, username: 'tess', dbPath: ':memory:', backoffInitialMs: 60_000, tls: { ...tls, onTrust: (e) => events.push(e) } });
  const result = new Promise<{ online: boolean; detail: string }>((resolve) =>
    conn.on('state', (s: string, detail?: string) => {
      if (s === 'online') resolve({ online: true, detail: '' });
      if (s === 'offline') resolve({ online: false, detail: detail ?? '' });
    }),
  );
  await conn.start();
  const r = await result;
  await conn.close();
  return { ...r, events };
}

describe('--ca', () => {
  let ca: Pem;
  let server: TlsServer;
  before(async () => {
    ca = await makeCa();
    server = await startTls(await issued(ca, { dns: ['chat.school.test'], ips: ['127.0.0.1'] }));
  });
  after(() => server.stop());

  it('accepts a certificate the CA issued for the address dialled', async () => {
    const r = await attempt(server.port, { ca: ca.cert });
    assert.equal(r.online, true, r.detail);
    assert.deepEqual(r.events, [], 'nothing pinned: the CA vouches');
  });

  it('refuses a certificate from another CA', async () => {
    const r = await attempt(server.port, { ca: (await makeCa('Some Other CA')).cert });
    assert.equal(r.online, false);
    assert.match(r.detail, /not issued by the CA given with --ca/);
  });

  it('refuses a certificate issued for another name', async () => {
    // The CA is right, but the certificate names chat.school.test and 127.0.0.1, not localhost.
    const r = await attempt(server.port, { ca: ca.cert }, 'localhost');
    assert.equal(r.online, false);
    assert.match(r.detail, /not issued for this name or address/);
  });
});

describe('trust on first use', () => {
  let dir: string;
  let pins: PinStore;
  const servers: TlsServer[] = [];
  before(() => {
    dir = tempDir('lab93-pins-');
    pins = new PinStore(join(dir, 'client', 'known-servers.json'));
  });
  after(async () => {
    for (const s of servers) await s.stop().catch(() => {});
    removeDir(dir);
  });

  it('pins a self-signed server on first use, refuses it once its certificate changed, and pins the new one once forgotten', async () => {
    const first = await selfSigned();
    const s1 = await startTls(first);
    servers.push(s1);
    const key = `127.0.0.1:${s1.port}`;

    const a = await attempt(s1.port, { pins });
    assert.equal(a.online, true, a.detail);
    assert.deepEqual(a.events, [{ kind: 'pinned', keys: [key], fingerprint: certFingerprint(first.cert) }]);
    assert.equal(pins.get(key)?.fingerprint, certFingerprint(first.cert));
    assert.equal(statSync(pins.path).mode & 0o777, 0o600, 'pins are private');

    const b = await attempt(s1.port, { pins });
    assert.equal(b.online, true, 'the same certificate again: trusted');
    assert.deepEqual(b.events, [], 'and nothing to say');

    // The server comes back on the same address with another certificate.
    await s1.stop();
    const second = await selfSigned();
    const s2 = await startTls(second, s1.port);
    servers.push(s2);
    const c = await attempt(s2.port, { pins });
    assert.equal(c.online, false, 'a changed certificate is refused');
    assert.match(c.detail, new RegExp(`certificate of ${key} has changed.*lab93 pins forget ${key}`));
    assert.equal(c.events.length, 1);
    assert.deepEqual({ ...c.events[0] }, { kind: 'changed', key, pinned: certFingerprint(first.cert), presented: certFingerprint(second.cert), pinsFile: pins.path });
    assert.equal(pins.get(key)?.fingerprint, certFingerprint(first.cert), 'the old pin stays until the user forgets it');

    assert.equal(pins.forget(key), true);
    const d = await attempt(s2.port, { pins });
    assert.equal(d.online, true, d.detail);
    assert.equal(pins.get(key)?.fingerprint, certFingerprint(second.cert));
  });

  it('lab93 send --tls prints the warning with how to forget the pin, and exits 1 without sending', async () => {
    const data = tempDir('lab93-cli-pins-');
    const cliPins = new PinStore(join(data, 'client', 'known-servers.json'));
    const pem = await selfSigned();
    const s = await startTls(pem);
    servers.push(s);
    const key = `127.0.0.1:${s.port}`;
    // Pinned to another certificate, as if the first connection had been to the real server.
    cliPins.set([key], certFingerprint((await selfSigned()).cert));
    try {
      const run = runCli(['send', '--tls', '-a', '127.0.0.1', '-p', String(s.port), '--name', 'tess', '--timeout', '30', 'hello?'], { LAB93_DATA_DIR: data });
      const { code } = await run.exit;
      const err = run.stderr();
      assert.equal(code, 1, err);
      assert.match(err, /WARNING: THE CERTIFICATE OF 127\.0\.0\.1:\d+ HAS CHANGED/);
      assert.ok(err.includes(`lab93 pins forget ${key}`), err);
      assert.ok(err.includes(certFingerprint(pem.cert)), 'the certificate presented is shown');
    } finally {
      removeDir(data);
    }
  });
});
