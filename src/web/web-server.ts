/**
 * The web client's listener (docs/web.md): an HTTP (or HTTPS) server that serves the page, the
 * teacher's page `/admin`, and a WebSocket endpoint `/ws` whose connections enter the very same
 * server core as TCP (Lab93Server.acceptConn): same handlers, limits, flood control, slow-reader
 * cut, error codes and catch-up. One text message is one plain JSON packet.
 */
import { existsSync, readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { ProtocolError } from '../protocol/errors.js';
import type { Lab93Server } from '../server/server.js';
import { AdminSessions, isLoopback, isLoopbackHost, listConnections } from './admin.js';
import { originAllowed } from './origin.js';
import { WsConn } from './ws-conn.js';

export interface WebOptions {
  /** Origins allowed to open the WebSocket besides the page's own (--web-origin). */
  origins: readonly string[];
  /** Largest HTTP request body (the admin login) in bytes. */
  maxBodyBytes: number;
}

export const DEFAULT_WEB_PORT = 8093;

export interface WebDeps {
  server: Lab93Server;
  log: Logger;
  options?: Partial<WebOptions>;
  /** PEM certificate and key: serve https and wss (the chat port's --tls-cert/--tls-key). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Whether the server has accounts; then /admin is for operators only. Default: none. */
  hasAccounts?: () => Promise<boolean>;
  now?: () => number;
}

export interface WebServer {
  listen(port: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
  readonly secure: boolean;
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'admin.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'admin.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The page's files: beside this module (run from src), or in src/web/static (run from dist). */
function staticDir(): string {
  const here = fileURLToPath(new URL('./static/', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../src/web/static/', import.meta.url));
}

const HEADERS = {
  // Nothing but our own files; the page renders network text with textContent, and this makes
  // an injected script inert even if that ever slipped.
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function createWebServer(deps: WebDeps): WebServer {
  const opts: WebOptions = { origins: [], maxBodyBytes: 4096, ...deps.options };
  const log = deps.log;
  const now = deps.now ?? Date.now;
  const hasAccounts = deps.hasAccounts ?? (async () => false);
  const admins = new AdminSessions(now);
  const dir = staticDir();
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(TYPES)) files.set(name, readFileSync(dir + name));
  const limits = deps.server.context.opts;
  const secure = deps.tls !== undefined;
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.limits.maxFrameBytes * 2, perMessageDeflate: false });

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void route(req, res).catch((err: unknown) => {
      log.error({ err }, 'web request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      else res.destroy();
    });
  };
  const http1 = deps.tls ? https.createServer({ cert: deps.tls.cert, key: deps.tls.key }, onRequest) : http.createServer(onRequest);
  http1.headersTimeout = 10_000;
  http1.requestTimeout = 15_000;

  function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...HEADERS, 'content-type': type, ...extra });
    res.end(body);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' || req.method === 'HEAD') {
      const name = path === '/' ? 'index.html' : path === '/admin' ? 'admin.html' : path.slice(1);
      const file = files.get(name);
      if (file) return send(res, 200, TYPES[name]!, file);
      if (path === '/admin/api') return adminApi(req, res);
    }
    if (req.method === 'POST' && path === '/admin/login') return adminLogin(req, res);
    send(res, 404, 'text/plain; charset=utf-8', 'not found');
  }

  /** Who may read the teacher's page: an operator's cookie with accounts, loopback without. */
  async function adminAllowed(req: IncomingMessage): Promise<'ok' | 'login' | 'loopback'> {
    if (await hasAccounts()) return admins.check(req) !== null ? 'ok' : 'login';
    // The Host must name this machine too: a page whose name was rebound to 127.0.0.1 (DNS
    // rebinding) in the teacher's own browser would otherwise read the list.
    return isLoopback(req.socket.remoteAddress) && isLoopbackHost(req.headers.host) ? 'ok' : 'loopback';
  }

  async function adminApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const allowed = await adminAllowed(req);
    if (allowed === 'login') return send(res, 401, 'application/json', JSON.stringify({ need: 'login' }));
    if (allowed === 'loopback') return send(res, 403, 'application/json', JSON.stringify({ need: 'loopback', message: 'without accounts the teacher\'s page is served to this machine only' }));
    send(res, 200, 'application/json', JSON.stringify({ now: now(), connections: listConnections(deps.server) }));
  }

  async function adminLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, opts.maxBodyBytes);
    let creds: { username?: unknown; password?: unknown } = {};
    try {
      creds = JSON.parse(body ?? '') as typeof creds;
    } catch {
      /* answered below */
    }
    if (typeof creds.username !== 'string' || typeof creds.password !== 'string') return send(res, 400, 'application/json', JSON.stringify({ error: 'bad_packet', message: 'username and password, please' }));
    try {
      // The same gate, throttles and all, as a chat login.
      const a = await deps.server.context.auth.admit({ username: creds.username, password: creds.password, address: req.socket.remoteAddress ?? 'unknown' });
      if (!a.login?.operator) return send(res, 403, 'application/json', JSON.stringify({ error: 'not_operator', message: `${a.name.name} is not an operator (lab93 user add --operator)` }));
      const cookie = admins.create(a.login.name);
      log.info({ operator: a.login.name, remote: req.socket.remoteAddress }, 'teacher\'s page login');
      send(res, 200, 'application/json', JSON.stringify({ ok: true }), { 'set-cookie': `lab93admin=${cookie}; HttpOnly; SameSite=Strict; Path=/admin${secure ? '; Secure' : ''}` });
    } catch (err) {
      if (err instanceof ProtocolError) return send(res, 403, 'application/json', JSON.stringify({ error: err.code, message: err.message }));
      throw err;
    }
  }

  http1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/ws') return refuseUpgrade(socket, 404, 'Not Found');
    if (!originAllowed(req.headers.origin, req.headers.host, secure, opts.origins)) {
      log.warn({ origin: req.headers.origin, host: req.headers.host, remote: req.socket.remoteAddress }, 'WebSocket refused: origin not allowed (--web-origin)');
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    const addr = req.socket.remoteAddress ?? 'unknown';
    const refused = deps.server.budget.admit(addr);
    if (refused) return refuseUpgrade(socket, 503, 'Service Unavailable');
    socket.once('close', () => deps.server.budget.release(addr));
    wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = `${addr}:${req.socket.remotePort ?? 0}`;
      const conn = deps.server.acceptConn((events) => new WsConn(ws, socket, remote, { maxFrameBytes: limits.limits.maxFrameBytes, maxSendQueue: limits.maxSendQueue }, events), 'plain');
      if (conn === null) ws.close(1001, 'server shutting down');
    });
  });

  function refuseUpgrade(socket: Socket, status: number, text: string): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  return {
    secure,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        http1.once('error', reject);
        http1.listen(port, host, () => {
          http1.off('error', reject);
          http1.on('error', (err) => log.error({ err }, 'web listener error'));
          const a = http1.address() as AddressInfo;
          log.info({ host: a.address, port: a.port, tls: secure, url: `${secure ? 'https' : 'http'}://${a.address}:${a.port}/` }, 'web client listening');
          resolve(a);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        http1.close(() => resolve());
        http1.closeAllConnections();
      });
    },
  };
}

async function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return null;
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}
