/**
 * The terminal client's login on a server with accounts (docs/client.md, "Accounts"): the
 * password is typed once; the session token the server answers with is kept per server and name
 * in the client's data folder (mode 0600, the folder 0700) and sent instead of the password
 * from then on. A token the server no longer accepts is forgotten.
 *
 * `checkLogin` is the one-off hello the command line makes before starting the chat (quiet, so
 * nobody sees a presence blink): it finds out whether the name needs a password, asks for it,
 * and leaves a token for the chat connection to use.
 */
import { readFileSync, rmSync } from 'node:fs';
import { clientDbPath, writePrivateFile } from '../config/paths.js';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import { sanitizeLine } from './sanitize.js';
import { DIALLED, dial, type ClientTlsOptions } from './transport.js';

/** Where the tokens for one server live: beside its local history. */
export function tokenPath(host: string, port: number, env: NodeJS.ProcessEnv = process.env): string {
  return clientDbPath(host, port, env).replace(/\.db$/, '.tokens.json');
}

function readTokens(file: string): Record<string, string> {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([, t]) => typeof t === 'string')) as Record<string, string> : {};
  } catch {
    return {};
  }
}

/** Writes the file whole, 0600 from its creation (a temporary file renamed over the old one). */
function writeTokens(file: string, tokens: Record<string, string>): void {
  if (Object.keys(tokens).length === 0) {
    rmSync(file, { force: true });
    return;
  }
  writePrivateFile(file, JSON.stringify(tokens));
}

/** What the chat connection needs: the hello fields, and a way to keep the welcome's token. */
export interface HelloCredentials {
  fields(): { token?: string; password?: string };
  welcomed(p: { account?: unknown; token?: unknown }): void;
  /** The credentials of another name on the same server (/nick): its saved token, no password. */
  forUser(username: string): HelloCredentials;
}

/** One user's credentials for one server: a saved token, and a password held until it is used once. */
export class ClientCredentials implements HelloCredentials {
  private password: string | null;

  constructor(readonly file: string, readonly username: string, password?: string) {
    this.password = password ?? null;
  }

  get token(): string | null {
    return readTokens(this.file)[this.username] ?? null;
  }

  /** The token when one is saved, else the password when known, else nothing (a guest). */
  fields(): { token?: string; password?: string } {
    const token = this.token;
    if (token !== null) return this.password !== null ? { token, password: this.password } : { token };
    return this.password !== null ? { password: this.password } : {};
  }

  setPassword(password: string): void {
    this.password = password;
  }

  forUser(username: string): ClientCredentials {
    return username === this.username ? this : new ClientCredentials(this.file, username);
  }

  /** Keeps the token of a successful login and forgets the password (typed once). */
  welcomed(p: { account?: unknown; token?: unknown }): void {
    if (p.account !== true) return;
    if (typeof p.token === 'string' && p.token !== this.token) {
      const all = readTokens(this.file);
      all[this.username] = p.token;
      writeTokens(this.file, all);
    }
    this.password = null;
  }

  /** The server refused the token: forget it. */
  forgetToken(): void {
    const all = readTokens(this.file);
    if (!(this.username in all)) return;
    delete all[this.username];
    writeTokens(this.file, all);
  }
}

export type LoginCheck =
  | { ok: true; account: boolean; username: string }
  | { ok: false; code: string; message: string; retryAfterMs?: number };

/** One quiet hello with the current credentials: what the server says to it. */
export function tryHello(host: string, port: number, username: string, creds: HelloCredentials, timeoutMs = 10_000, tls: ClientTlsOptions | null = null): Promise<LoginCheck> {
  return new Promise((resolve) => {
    // The same transport as the chat: a password never crosses in clear to a TLS server.
    const socket = dial({ host, port, tls });
    const splitter = new LineSplitter(1 << 20);
    let settled = false;
    const done = (r: LoginCheck): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.end(encodeFrame({ type: 'bye' }, 'base64'));
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, code: 'timeout', message: `no answer from ${host}:${port}` }), timeoutMs);
    socket.on(DIALLED, () => socket.write(encodeFrame({ type: 'hello', username, quiet: true, client: 'lab93-terminal/1', ...creds.fields() }, 'base64')));
    socket.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk).lines) {
        const d = decodeFrame(line, 'base64');
        if (!d.ok) continue;
        const p = d.value;
        if (p.type === 'welcome') {
          creds.welcomed(p);
          return done({ ok: true, account: p.account === true, username: typeof p.username === 'string' ? p.username : username });
        }
        if (p.type === 'error') {
          const message = sanitizeLine(typeof p.message === 'string' ? p.message : String(p.code));
          return done({ ok: false, code: String(p.code), message, ...(typeof p.retry_after_ms === 'number' ? { retryAfterMs: p.retry_after_ms } : {}) });
        }
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, code: 'offline', message: `cannot reach ${host}:${port} (${err.code ?? err.message})` }));
    socket.on('close', () => done({ ok: false, code: 'offline', message: `${host}:${port} closed the connection` }));
  });
}

/**
 * Before the chat starts: logs in once, asking for the password when the name is registered
 * and no token works (at most three tries). Resolves with the outcome; an unreachable server is
 * not a failure here (the chat connection retries by itself).
 */
export async function checkLogin(o: {
  host: string;
  port: number;
  username: string;
  credentials: ClientCredentials;
  /** Asks for the password; null when there is nobody to ask. */
  askPassword: (prompt: string) => Promise<string | null>;
  timeoutMs?: number;
  /** The chat's TLS settings, so the check goes the same way (null: plain TCP). */
  tls?: ClientTlsOptions | null;
}): Promise<LoginCheck> {
  let r: LoginCheck = { ok: false, code: 'none', message: '' };
  for (let tries = 0; tries < 4; tries++) {
    const sentToken = o.credentials.fields().token !== undefined;
    r = await tryHello(o.host, o.port, o.username, o.credentials, o.timeoutMs, o.tls ?? null);
    if (r.ok || (r.code !== 'auth_required' && r.code !== 'auth_failed')) return r;
    if (sentToken) o.credentials.forgetToken();
    // A refused token alone: the password may still be known (given with --password-stdin).
    if (sentToken && o.credentials.fields().password !== undefined) continue;
    if (tries === 3) break;
    const prompt = r.code === 'auth_failed' && !sentToken ? `Wrong password. Password for ${o.username}: ` : `Password for ${o.username} on ${o.host}: `;
    const pw = await o.askPassword(prompt);
    if (pw === null || pw === '') return r;
    o.credentials.setPassword(pw);
  }
  return r;
}
