/**
 * The repeater client on the command line: `lab93 -r -c -a HOST` / `lab93 connect HOST[:PORT]`
 * (the chat UI), `lab93 send` (post one message, exit once acknowledged) and `lab93 tail`
 * (messages as JSON lines). Registered by main.ts.
 */
import os from 'node:os';
import { Command, Option } from 'commander';
import type { ChatMessage } from '../client/backend.js';
import { RepeaterConnection } from '../client/connection.js';
import { ClientCredentials, checkLogin, tokenPath } from '../client/credentials.js';
import { formatJsonLine } from '../client/format.js';
import { sanitizeLine } from '../client/sanitize.js';
import { runChatUi } from '../client/ui/index.js';
import { clientDbPath } from '../config/paths.js';
import { DEFAULT_LIMITS, DEFAULT_PORT, DEFAULT_ROOM } from '../protocol/limits.js';
import { checkName } from '../protocol/packets.js';
import { UsageError, parseHostPort, parsePort, parsePositiveInt } from './usage.js';
import { askHidden } from './user.js';

export const DEFAULT_HOST = '127.0.0.1';

/** The OS login name, as the original client used. */
export function defaultUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'guest';
  }
}

/** --name (or LAB93_NAME), else the login name; checked like the server checks it. */
export function resolveUsername(flag: string | undefined): string {
  const name = flag ?? defaultUsername();
  try {
    return checkName(name, 'name', DEFAULT_LIMITS.maxNameLength);
  } catch (err) {
    const why = (err as Error).message.replace(/^name: /, '');
    throw new UsageError(`--name "${name}" cannot be used: it ${why.startsWith('must') ? why : `is ${why}`}${flag === undefined ? ' (it is your login name; pick one with --name)' : ''}`);
  }
}

function resolveRoom(value: string | undefined, flag = '--room'): string {
  const room = (value ?? DEFAULT_ROOM).replace(/^#/, '');
  try {
    return checkName(room, 'room', DEFAULT_LIMITS.maxRoomLength);
  } catch (err) {
    throw new UsageError(`${flag} "${value}": ${(err as Error).message.replace(/^room: /, '')}`);
  }
}

export interface ClientTarget {
  host: string;
  port: number;
  username: string;
  room: string;
  /** A password given up front (`--password-stdin`); otherwise asked on the terminal when needed. */
  password?: string;
}

/**
 * The saved token for this server and name, checked with one quiet hello before the chat
 * starts; a registered name without a working token gets the password asked once (or taken from
 * --password-stdin). A refusal that a password cannot fix ends the command with its reason.
 */
export async function logIn(t: ClientTarget, err: NodeJS.WritableStream = process.stderr): Promise<ClientCredentials> {
  const credentials = new ClientCredentials(tokenPath(t.host, t.port), t.username, t.password);
  const tty = process.stdin.isTTY === true && t.password === undefined;
  // Nothing to offer and nobody to ask: the chat connection's own hello says whether a guest may
  // use the name (and stops with the reason when not), without an extra connection.
  if (!tty && t.password === undefined && credentials.token === null) return credentials;
  const r = await checkLogin({
    host: t.host, port: t.port, username: t.username, credentials,
    askPassword: (prompt) => (tty ? askHidden(prompt, { stdin: process.stdin, stderr: err }).catch(() => null) : Promise.resolve(null)),
  });
  if (r.ok || r.code === 'offline' || r.code === 'timeout') return credentials;
  const hint = (r.code === 'auth_required' || r.code === 'auth_failed') && !tty ? ' (give the password with --password-stdin)' : '';
  throw new UsageError(`cannot log in as ${t.username}: ${r.message}${hint}`);
}

/** The interactive client (or pipe mode when stdin is not a terminal). Exits the process. */
export async function runClient(t: ClientTarget): Promise<never> {
  const credentials = await logIn(t);
  const conn = new RepeaterConnection({ host: t.host, port: t.port, username: t.username, rooms: [t.room], credentials });
  // `lab93 connect host | head -3`: the reader went away; queued messages stay in the outbox.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const code = await runChatUi(conn, { room: t.room, title: `lab93 · ${t.username}@${t.host}:${t.port} · repeater` });
  process.exit(code);
}

export interface SendOptions extends ClientTarget {
  text: string;
  subject: string | null;
  to: string | null;
  timeoutMs: number;
}

/**
 * Posts one message and resolves with the exit status: 0 once acknowledged (stored by the
 * server), 1 when refused or not acknowledged in time. Nothing is kept in a local outbox: a
 * script that sees a failure may simply try again without risking a double.
 */
export async function sendOnce(o: SendOptions, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const credentials = await logIn(o, err);
  const conn = new RepeaterConnection({ host: o.host, port: o.port, username: o.username, rooms: [o.room], dbPath: ':memory:', sendStoredOutbox: false, backoffMaxMs: 2000, quiet: true, credentials });
  let lastProblem = '';
  conn.on('state', (s: string, detail?: string) => {
    if (s === 'offline' && detail) lastProblem = detail;
  });
  const result = await new Promise<{ ok: true; id: number | null } | { ok: false; why: string }>((resolve) => {
    let uid = '';
    conn.on('notice', (t: string) => {
      lastProblem = t;
      // The server refused the name or the credentials: waiting will not change that.
      if (t.startsWith('cannot log in')) {
        clearTimeout(timer);
        resolve({ ok: false, why: sanitizeLine(t) });
      }
    });
    const timer = setTimeout(() => {
      resolve({ ok: false, why: `not acknowledged by ${o.host}:${o.port} within ${Math.round(o.timeoutMs / 1000)} s${lastProblem ? ` (${sanitizeLine(lastProblem)})` : ''}` });
    }, o.timeoutMs);
    conn.on('acked', (u: string, m: ChatMessage) => {
      if (u !== uid) return;
      clearTimeout(timer);
      resolve({ ok: true, id: m.id });
    });
    conn.on('failed', (u: string, reason: string) => {
      if (u !== uid) return;
      clearTimeout(timer);
      resolve({ ok: false, why: `the server refused the message: ${sanitizeLine(reason)}` });
    });
    uid = conn.send({ content: o.text, subject: o.subject, room: o.room, to: o.to });
    void conn.start();
  });
  await conn.close();
  if (!result.ok) {
    err.write(`lab93 send: ${result.why}\n`);
    return 1;
  }
  return 0;
}

/** Prints every message received (the missed backlog first) as a JSON line, until a signal. */
export async function runTail(t: ClientTarget & { rooms: string[] }): Promise<void> {
  // Its own cursor file: a tail running in the background must not mark messages as seen for
  // the interactive client of the same user.
  const dbPath = clientDbPath(t.host, t.port).replace(/\.db$/, '.tail.db');
  const credentials = await logIn(t);
  const conn = new RepeaterConnection({ host: t.host, port: t.port, username: t.username, rooms: t.rooms, dbPath, sendStoredOutbox: false, quiet: true, credentials });
  process.stdout.on('error', () => void stop(0));
  conn.on('message', (m: ChatMessage, info?: { missed?: boolean }) => {
    process.stdout.write(formatJsonLine(m, info?.missed ?? false) + '\n');
  });
  conn.on('notice', (text: string) => process.stderr.write(`lab93 tail: ${sanitizeLine(text)}\n`));
  conn.on('state', (s: string, detail?: string) => {
    if (s === 'offline') process.stderr.write(`lab93 tail: offline${detail ? ` (${sanitizeLine(detail)})` : ''}; reconnecting\n`);
  });
  let stopping = false;
  async function stop(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    await conn.close();
    process.exit(code);
  }
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  await conn.start();
}

// ---- command-line wiring ------------------------------------------------------------------

interface TargetFlags { address?: string; port?: string; name?: string; room?: string; passwordStdin?: boolean }

function target(f: TargetFlags): ClientTarget {
  return {
    host: f.address ?? DEFAULT_HOST,
    port: f.port === undefined ? DEFAULT_PORT : parsePort(f.port),
    username: resolveUsername(f.name),
    room: resolveRoom(f.room),
  };
}

/** --password-stdin: the whole of standard input is the password (one trailing newline dropped). */
async function withPassword<T extends ClientTarget>(t: T, f: TargetFlags): Promise<T> {
  if (!f.passwordStdin) return t;
  const password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('--password-stdin: standard input is empty');
  return { ...t, password };
}

/** --name and --room, for the root command (`-r -c`) and the client subcommands. */
export function addIdentityOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-n, --name <name>', 'your name in the chat (default: your login name)').env('LAB93_NAME'))
    .option('--password-stdin', 'a registered name: read its password from standard input (asked on the terminal otherwise; typed once, then a saved token is used)')
    .addOption(new Option('--room <room>', `room to start in (default ${DEFAULT_ROOM})`).env('LAB93_ROOM'));
}

function addTargetOptions(cmd: Command): Command {
  return addIdentityOptions(
    cmd
      .addOption(new Option('-a, --address <host>', `server to connect to (default ${DEFAULT_HOST})`).env('LAB93_ADDRESS'))
      .addOption(new Option('-p, --port <port>', `server port (default ${DEFAULT_PORT})`).env('LAB93_PORT')),
  );
}

/** `lab93 -r -c`: the root command's flags, already parsed. */
export async function startClientFromFlags(f: TargetFlags): Promise<never> {
  const t = target(f);
  // No -a (nor LAB93_ADDRESS): find the server on the LAN by mDNS (src/peer/find-server.ts).
  if (f.address === undefined) {
    const { findServerOnLan } = await import('../peer/find-server.js');
    const found = await findServerOnLan();
    return runClient(await withPassword({ ...t, host: found.host, port: found.port }, f));
  }
  return runClient(await withPassword(t, f));
}

/** Adds `connect`, `send` and `tail` to the program. */
export function registerClientCommands(program: Command): void {
  addIdentityOptions(
    program
      .command('connect')
      .description('join the room hosted on HOST (same as -r -c -a HOST -p PORT)')
      .argument('<host[:port]>', `server, port ${DEFAULT_PORT} unless given`)
      .addOption(new Option('-p, --port <port>', `server port when HOST has none (default ${DEFAULT_PORT})`).env('LAB93_PORT'))
      .addHelpText('after', '\nExamples:\n  lab93 connect lab-pc\n  lab93 connect 192.168.1.20:6000 --name ada --room physics\n  printf "hi\\n" | lab93 connect lab-pc   (pipe mode: one message per line)\n'),
  ).action(async (hostPort: string, f: TargetFlags) => {
    const { host, port } = parseHostPort(hostPort, f.port === undefined ? DEFAULT_PORT : parsePort(f.port));
    return runClient(await withPassword({ ...target(f), host, port }, f));
  });

  addTargetOptions(
    program
      .command('send')
      .description('post one message; exits 0 once the server has stored it')
      .argument('<text...>', 'the message ("-" reads it from standard input)')
      .option('--subject <subject>', 'a subject for the message')
      .option('--to <user>', 'a direct message to this user')
      .option('--timeout <seconds>', 'give up after this long (default 10)')
      .addHelpText('after', '\nExamples:\n  lab93 send -a lab-pc "build finished"\n  lab93 send -a lab-pc --subject CI --room builds "tests passed"\n  make 2>&1 | tail -5 | lab93 send -a lab-pc -\n'),
  ).action(async (words: string[], f: TargetFlags & { subject?: string; to?: string; timeout?: string }) => {
    let text = words.join(' ');
    if (text === '-' && f.passwordStdin) throw new UsageError('send: "-" and --password-stdin both want standard input; log in once with --password-stdin, the saved token does the rest');
    const t = await withPassword(target(f), f);
    if (text === '-') text = (await readAll(process.stdin)).replace(/\r?\n$/, '');
    if (text.trim() === '') throw new UsageError('send: the message is empty');
    const to = f.to === undefined ? null : checkTo(f.to);
    const timeoutMs = (f.timeout === undefined ? 10 : parsePositiveInt(f.timeout, '--timeout')) * 1000;
    process.exit(await sendOnce({ ...t, text, subject: f.subject ?? null, to, timeoutMs }));
  });

  addTargetOptions(
    program
      .command('tail')
      .description('print messages as JSON lines (the missed backlog first), until interrupted')
      .addHelpText('after', '\nEach line: {"id","uid","username","room","to","subject","content","timestamp","missed"}.\nExamples:\n  lab93 tail -a lab-pc\n  lab93 tail -a lab-pc --room lobby,physics | jq -r .content\n'),
  ).action(async (f: TargetFlags) => {
    const t = await withPassword(target({ ...f, room: undefined }), f);
    const rooms = (f.room ?? DEFAULT_ROOM).split(',').filter((r) => r !== '').map((r) => resolveRoom(r));
    await runTail({ ...t, rooms });
  });
}

function checkTo(user: string): string {
  try {
    return checkName(user, 'to', DEFAULT_LIMITS.maxNameLength);
  } catch (err) {
    throw new UsageError(`--to "${user}": ${(err as Error).message.replace(/^to: /, '')}`);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}
