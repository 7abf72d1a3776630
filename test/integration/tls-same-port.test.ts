/**
 * TLS and plaintext on one chat port, over real TCP (issue 9, item 4): a TLS client and a
 * plaintext client chat with each other, the classic board still answers in plaintext,
 * `--tls-only` refuses plaintext with `tls_required`, a server without TLS tells a TLS client so,
 * and a ClientHello that never completes is closed by the handshake timeout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import tls from 'node:tls';
import { LocalBus } from '../../src/bus/local.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import type { ChatMessage } from '../../src/client/backend.js';
import { createClassicGateway, type ClassicBoardServer } from '../../src/gateway/classic.js';
import { silentLogger } from '../../src/log/index.js';
import { certFingerprint, tlsServerOptions, type TlsServerOptions } from '../../src/net/tls.js';
import { createServer, type ClassicGateway, type Lab93Server } from '../../src/server/server.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { ask } from '../fixtures/classic/harness.js';
import { selfSigned, type Pem } from '../helpers/certs.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';
import type { FrameConn } from '../../src/net/frame-conn.js';

interface Running {
  server: Lab93Server;
  port: number;
  stop(): Promise<void>;
}

/** The chat server with the classic board on its port, as `lab93 server --tls-cert … --tls-key …` wires it. */
async function startTlsChat(tlsOpts: TlsServerOptions): Promise<Running> {
  const dir = tempDir('lab93-tls-');
  const store = new SqliteStore(join(dir, 'server.db'));
  const bus = new LocalBus();
  const log = silentLogger();
  let gateway: ClassicBoardServer | undefined;
  const lazy: ClassicGateway = { accept: (s, first) => gateway!.accept(s, first), close: async () => gateway?.close() };
  const server = createServer({ store, bus, log, options: { ratePerSecond: 0 }, classic: lazy, tls: tlsOpts });
  gateway = await createClassicGateway({ store, bus, committer: server.committer, log, options: { ratePerSecond: 0 } });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    server, port,
    async stop() {
      await server.close();
      await store.close();
      removeDir(dir);
    },
  };
}

function nextMessage(conn: RepeaterConnection, content: string): Promise<ChatMessage> {
  return new Promise((resolve) => {
    const on = (m: ChatMessage): void => {
      if (m.content !== content) return;
      conn.off('message', on);
      resolve(m);
    };
    conn.on('message', on);
  });
}

function online(conn: RepeaterConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.on('state', (s: string, detail?: string) => {
      if (s === 'online') resolve();
      else if (s === 'offline') reject(new Error(`offline: ${detail}`));
    });
  });
}

describe('TLS on the chat port, next to plaintext', () => {
  let pem: Pem;
  let chat: Running;
  const closers: Array<() => unknown> = [];
  before(async () => {
    pem = await selfSigned();
    chat = await startTlsChat(tlsServerOptions({ cert: pem.cert, key: pem.key }));
  });
  after(async () => {
    for (const c of closers) await c();
    await chat.stop();
  });

  it('a TLS client and a plaintext client chat with each other on one port', async () => {
    const secure = new RepeaterConnection({ host: '127.0.0.1', port: chat.port, username: 'tess', dbPath: ':memory:', tls: { ca: pem.cert } });
    closers.push(() => secure.close());
    const up = online(secure);
    await secure.start();
    await up;
    const { c: plain } = await WireClient.login(chat.port, 'pat');
    closers.push(() => plain.close());

    const toTess = nextMessage(secure, 'hello from plaintext');
    plain.send({ type: 'message', uid: 'p1', content: 'hello from plaintext' });
    assert.equal((await toTess).username, 'pat');

    secure.send({ content: 'hello from TLS', room: 'lobby' });
    const got = await plain.next((p) => p.type === 'message' && p.content === 'hello from TLS');
    assert.equal(got.username, 'tess');

    // The session really runs over TLS: the server holds an encrypted socket for tess.
    const s = [...chat.server.sessions].find((x) => x.username === 'tess');
    assert.equal(((s?.conn as FrameConn).socket as tls.TLSSocket).encrypted, true);
  });

  it('inside TLS the server still tells base64 and plain frames apart', async () => {
    const c = await WireClient.connectTls(chat.port, 'base64', { ca: pem.cert });
    closers.push(() => c.close());
    c.send({ type: 'hello', username: 'bea' });
    assert.equal((await c.next('welcome')).type, 'welcome');
  });

  it('the classic board answers GET% in plaintext on the same port, and over TLS too', async () => {
    const list = await ask(chat.port, 'GET%');
    assert.ok(list.startsWith('MSG['), list);
    const over = tls.connect({ port: chat.port, host: '127.0.0.1', ca: pem.cert });
    await once(over, 'secureConnect');
    over.write('GET%');
    const chunks: Buffer[] = [];
    over.on('data', (d: Buffer) => chunks.push(d));
    await once(over, 'end');
    over.destroy();
    assert.ok(Buffer.concat(chunks).toString().startsWith('MSG['));
  });

  it('a handshake that never completes is closed by the handshake timeout', async () => {
    const quick = await startTlsChat(tlsServerOptions({ cert: pem.cert, key: pem.key, handshakeTimeoutMs: 150 }));
    closers.push(() => quick.stop());
    const raw = net.connect({ port: quick.port, host: '127.0.0.1' });
    await once(raw, 'connect');
    // The first bytes of a ClientHello record, and then nothing.
    raw.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff]));
    const t0 = Date.now();
    await once(raw, 'close');
    assert.ok(Date.now() - t0 < 5000, 'closed by the 150 ms timeout, not the hello timeout');
  });
});

describe('--tls-only', () => {
  let pem: Pem;
  let chat: Running;
  before(async () => {
    pem = await selfSigned();
    chat = await startTlsChat(tlsServerOptions({ cert: pem.cert, key: pem.key, only: true }));
  });
  after(() => chat.stop());

  it('refuses a plaintext hello with tls_required and closes', async () => {
    for (const mode of ['plain', 'base64'] as const) {
      const c = await WireClient.connect(chat.port, mode);
      c.send({ type: 'hello', username: 'pat' });
      const e = await c.next('error');
      assert.equal(e.code, 'tls_required');
      await c.closedPromise;
      assert.equal(c.all('welcome').length, 0);
    }
  });

  it('refuses the classic board in plaintext, and serves TLS', async () => {
    const answer = await ask(chat.port, 'GET%');
    assert.ok(answer.includes('tls_required'), answer);
    const c = await WireClient.connectTls(chat.port, 'plain', { ca: pem.cert });
    c.send({ type: 'hello', username: 'tess' });
    assert.equal((await c.next('welcome')).type, 'welcome');
    c.close();
  });
});

describe('a TLS client and a server without TLS', () => {
  it('the client says the server does not speak TLS, and never sends hello in the clear', async () => {
    const ts = await startServer();
    try {
      const conn = new RepeaterConnection({ host: '127.0.0.1', port: ts.port, username: 'tess', dbPath: ':memory:', tls: { ca: (await selfSigned()).cert }, backoffInitialMs: 60_000 });
      const offline = new Promise<string>((resolve) => conn.on('state', (s: string, d?: string) => s === 'offline' && resolve(d ?? '')));
      await conn.start();
      assert.match(await offline, /did not answer in TLS/);
      await conn.close();
      assert.equal(ts.server.sessions.size, 0, 'no session was started');
    } finally {
      await ts.stop();
      removeDir(ts.dir);
    }
  });
});

describe('the fingerprint', () => {
  it('is the SHA-256 of the certificate as openssl prints it', async () => {
    const pem = await selfSigned();
    const fp = certFingerprint(pem.cert);
    assert.match(fp, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const chat = await startTlsChat(tlsServerOptions({ cert: pem.cert, key: pem.key }));
    try {
      const s = tls.connect({ port: chat.port, host: '127.0.0.1', rejectUnauthorized: false });
      await once(s, 'secureConnect');
      assert.equal(s.getPeerCertificate().fingerprint256, fp);
      s.destroy();
    } finally {
      await chat.stop();
    }
  });
});
