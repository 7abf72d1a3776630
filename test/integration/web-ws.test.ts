/**
 * The web listener without a browser: a WebSocket reaches the same core as TCP (the same
 * answers, limits and error codes), the Origin check, the page's headers, and who may read
 * the teacher's page (loopback without accounts, operators with them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { silentLogger } from '../../src/log/index.js';
import { createWebServer, type WebServer } from '../../src/web/web-server.js';
import { originAllowed } from '../../src/web/origin.js';
import { startLine } from '../../src/log/pretty.js';
import { isLoopback, isLoopbackHost } from '../../src/web/admin.js';
import { selfSigned } from '../helpers/certs.js';
import { removeDir, startServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';
import { startAuthServer, type AuthServer } from './auth-server.js';
import { startWebChat, type WebChat } from './web-browser.js';

type Packet = Record<string, unknown>;

/** A WebSocket client that collects packets and waits for one by predicate. */
async function wsClient(port: number, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; next(pred: (p: Packet) => boolean, ms?: number): Promise<Packet>; closed: Promise<number>; send(p: Packet | string): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
  const got: Packet[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (d) => {
    got.push(JSON.parse(String(d)) as Packet);
    wake?.();
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    closed,
    send: (p) => ws.send(typeof p === 'string' ? p : JSON.stringify(p)),
    async next(pred, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = got.findIndex(pred);
        if (i !== -1) return got.splice(i, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`no such packet; got ${JSON.stringify(got)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
  };
}

describe('the WebSocket endpoint reaches the same server core', () => {
  let wc: WebChat;
  before(async () => {
    wc = await startWebChat({ origins: ['https://class.example.org'] });
  });
  after(async () => {
    await wc.stop();
    removeDir(wc.dir);
  });

  it('hello, catch-up, messages to and from a TCP client, acks by uid (a repeat is a duplicate)', async () => {
    const { c: tcp } = await WireClient.login(wc.chat.port, 'tcpuser');
    const w = await wsClient(wc.webPort);
    w.send({ type: 'hello', username: 'webuser' });
    const welcome = await w.next((p) => p.type === 'welcome');
    assert.equal(welcome.username, 'webuser');
    await w.next((p) => p.type === 'synced');
    w.send({ type: 'message', uid: 'web-1', content: 'over a websocket' });
    const ack = await w.next((p) => p.type === 'ack');
    assert.equal(ack.uid, 'web-1');
    await tcp.next((p) => p.type === 'message' && p.content === 'over a websocket');
    w.send({ type: 'message', uid: 'web-1', content: 'over a websocket' });
    assert.equal((await w.next((p) => p.type === 'ack')).duplicate, true);
    tcp.send({ type: 'message', uid: 't-1', content: 'back over tcp' });
    const m = await w.next((p) => p.type === 'message');
    assert.equal(m.content, 'back over tcp');
    await tcp.close();
    w.ws.close();
  });

  it('the same error codes: bad_frame keeps the connection, an oversize message closes it with too_large', async () => {
    const w = await wsClient(wc.webPort);
    w.send({ type: 'hello', username: 'errs' });
    await w.next((p) => p.type === 'synced');
    w.send('{"type":"message"');
    assert.equal((await w.next((p) => p.type === 'error')).code, 'bad_frame');
    w.send({ type: 'join', room: 'x y' });
    assert.equal((await w.next((p) => p.type === 'error')).code, 'bad_packet');
    w.send(JSON.stringify({ type: 'message', content: 'x'.repeat(70 * 1024) }));
    assert.equal((await w.next((p) => p.type === 'error')).code, 'too_large');
    assert.equal(await w.closed, 1000);
  });

  it('a first packet that is not hello is refused with not_hello and the connection closed', async () => {
    const w = await wsClient(wc.webPort);
    w.send({ type: 'who', room: 'lobby' });
    assert.equal((await w.next((p) => p.type === 'error')).code, 'not_hello');
    await w.closed;
  });

  it('Origin: its own and --web-origin ones pass, others get 403; the page comes with a strict CSP', async () => {
    const status = (origin: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${wc.webPort}/ws`, { origin });
        ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', reject);
      });
    assert.equal(await status('https://class.example.org'), 101);
    assert.equal(await status('http://class.example.org'), 403);
    assert.equal(await status(`http://localhost:${wc.webPort}`), 403);
    const res = await fetch(wc.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal((await fetch(wc.url + '../etc/passwd')).status, 404);
  });

  it('the start line gives the address to write on the board', () => {
    assert.equal(startLine({ role: 'server', listen: '0.0.0.0:5190', db: '/d.db', classic: true, announce: true, web: 'http://lab-pc:8093/' }), 'lab93 server on 0.0.0.0:5190 · database /d.db · classic board on this port · web client at http://lab-pc:8093/ · announced on the LAN · Ctrl-C stops');
  });

  it('origin rules in detail', () => {
    assert.equal(originAllowed(undefined, 'h:1', false, []), true);
    assert.equal(originAllowed('http://h:1', 'h:1', false, []), true);
    assert.equal(originAllowed('https://h:1', 'h:1', false, []), false);
    assert.equal(originAllowed('https://h', 'h:443', true, []), true);
    assert.equal(originAllowed('null', 'h:1', false, []), false);
    assert.equal(originAllowed('http://evil', 'h:1', false, ['http://EVIL:80']), true);
    assert.equal(isLoopback('::ffff:127.0.0.1'), true);
    assert.equal(isLoopback('10.0.0.1'), false);
    assert.equal(isLoopbackHost('127.0.0.1:8093'), true);
    assert.equal(isLoopbackHost('[::1]:8093'), true);
    assert.equal(isLoopbackHost('localhost'), true);
    assert.equal(isLoopbackHost('evil.example:8093'), false);
    assert.equal(isLoopbackHost('127.0.0.1.evil.example'), false);
  });

  it('without accounts the teacher\'s data is served to loopback and shows the web connection', async () => {
    const w = await wsClient(wc.webPort);
    w.send({ type: 'hello', username: 'watched' });
    await w.next((p) => p.type === 'synced');
    const body = (await (await fetch(wc.url + 'admin/api')).json()) as { connections: Array<{ user: string; protocol: string; messagesIn: number }> };
    const row = body.connections.find((c) => c.user === 'watched');
    assert.equal(row?.protocol, 'web');
    assert.equal(row?.messagesIn, 1);
    // A rebound name pointing at loopback is still refused.
    const rebound = await new Promise<number>((resolve) => {
      void import('node:http').then(({ request }) => request({ host: '127.0.0.1', port: wc.webPort, path: '/admin/api', headers: { host: `evil.example:${wc.webPort}` } }, (res) => resolve(res.statusCode ?? 0)).end());
    });
    assert.equal(rebound, 403);
    w.ws.close();
  });
});

describe('the teacher\'s page with accounts', () => {
  let as: AuthServer;
  let web: WebServer;
  let url: string;
  before(async () => {
    as = await startAuthServer();
    await as.addUser('teacher', 'correct horse', true);
    await as.addUser('student', 'battery staple', false);
    web = createWebServer({ server: as.server, log: silentLogger(), hasAccounts: async () => (await as.accounts.list()).length > 0 });
    url = `http://127.0.0.1:${(await web.listen(0, '127.0.0.1')).port}/`;
  });
  after(async () => {
    await as.stop();
    await web.close();
  });

  it('is for operators only: 401 before login, 403 for a student, the list after the operator logs in', async () => {
    assert.equal((await fetch(url + 'admin/api')).status, 401);
    const login = (username: string, password: string): Promise<Response> => fetch(url + 'admin/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    assert.equal((await login('student', 'battery staple')).status, 403);
    assert.equal((await login('teacher', 'wrong')).status, 403);
    const ok = await login('teacher', 'correct horse');
    assert.equal(ok.status, 200);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0]!;
    assert.match(ok.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    const res = await fetch(url + 'admin/api', { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(((await res.json()) as { connections: unknown[] }).connections));
    assert.equal((await fetch(url + 'admin/api', { headers: { cookie: 'lab93admin=forged' } })).status, 401);
  });
});

describe('with a certificate the web port speaks https and wss', () => {
  it('serves the page over https and a chat over wss', async () => {
    const pem = await selfSigned();
    const ts = await startServer();
    const web = createWebServer({ server: ts.server, log: silentLogger(), tls: { cert: pem.cert, key: pem.key } });
    const { port } = await web.listen(0, '127.0.0.1');
    try {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca: pem.cert, origin: `https://127.0.0.1:${port}` });
      const welcome = await new Promise<Packet>((resolve, reject) => {
        ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', username: 'secure' })));
        ws.on('message', (d) => resolve(JSON.parse(String(d)) as Packet));
        ws.on('error', reject);
      });
      assert.equal(welcome.type, 'welcome');
      ws.close();
      // The plain-http origin of the same host is another origin.
      const refused = await new Promise<number>((resolve) => {
        const w2 = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca: pem.cert, origin: `http://127.0.0.1:${port}` });
        w2.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        w2.on('open', () => resolve(101));
      });
      assert.equal(refused, 403);
    } finally {
      await ts.stop();
      await web.close();
      removeDir(ts.dir);
    }
  });
});
