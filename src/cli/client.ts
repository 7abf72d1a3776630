/**
 * The repeater client on the command line: `lab93 -r -c -a HOST` / `lab93 connect HOST[:PORT]`
 * (the chat UI), `lab93 send` (post one message, exit once acknowledged) and `lab93 tail`
 * (messages as JSON lines). Registered by main.ts.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Command, Option } from 'commander';
import type { ChatMessage } from '../client/backend.js';
import { CLIENT_DEFAULTS, RepeaterConnection, type RepeaterOptions } from '../client/connection.js';
import { ClientCredentials, checkLogin, tokenPath } from '../client/credentials.js';
import { formatJsonLine } from '../client/format.js';
import { sanitizeLine } from '../client/sanitize.js';
import { describeTrust, type ClientTlsOptions, type TrustEvent } from '../client/transport.js';
import { runChatUi } from '../client/ui/index.js';
import { pacedWriter } from '../client/ui/pipe.js';
import { clientDbPath } from '../config/paths.js';
import { createLogger } from '../log/index.js';
import { DEFAULT_LIMITS, DEFAULT_PORT, DEFAULT_ROOM } from '../protocol/limits.js';
import { checkName } from '../protocol/packets.js';
import { DEFAULT_SERVER_PACKET_LIMITS } from '../protocol/server-packets.js';
import { REFUSED, describeNetError } from '../client/wrong-server.js';
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
  /** --max-frame, --max-text: what the client accepts from the server. */
  limits?: ClientLimits;
  /** TLS and how to trust the server (--tls, --ca, a discovered server's fingerprint); null: plain. */
  tls?: Omit<ClientTlsOptions, 'onTrust'> | null;
  /** A password given up front (`--password-stdin`); otherwise asked on the terminal when needed. */
  password?: string;
}

export interface ClientLimits {
  maxFrameBytes?: number;
  maxTextBytes?: number;
}

/**
 * The connection options every client command shares: its limits, and a debug log on stderr
 * when LAB93_LOG_LEVEL=debug (faults while handling the server's data, with their stack).
 */
function connectionOptions(t: ClientTarget): Partial<RepeaterOptions> {
  const o: Partial<RepeaterOptions> = {};
  if (t.limits?.maxFrameBytes !== undefined) o.maxFrameBytes = t.limits.maxFrameBytes;
  if (t.limits?.maxTextBytes !== undefined) o.packetLimits = { maxTextBytes: t.limits.maxTextBytes };
  const level = process.env.LAB93_LOG_LEVEL;
  if (level === 'debug' || level === 'trace') o.log = createLogger({ level, name: 'lab93-client' });
  return o;
}

/**
 * The saved token for this server and name, checked with one quiet hello before the chat
 * starts (over TLS when the chat is); a registered name without a working token gets the
 * password asked once (or taken from --password-stdin). A refusal that a password cannot fix
 * ends the command with its reason.
 */
export async function logIn(t: ClientTarget, err: NodeJS.WritableStream = process.stderr): Promise<ClientCredentials> {
  const credentials = new ClientCredentials(tokenPath(t.host, t.port), t.username, t.password);
  const tty = process.stdin.isTTY === true && t.password === undefined;
  // Nothing to offer and nobody to ask: the chat connection's own hello says whether a guest may
  // use the name (and stops with the reason when not), without an extra connection.
  if (!tty && t.password === undefined && credentials.token === null) return credentials;
  const r = await checkLogin({
    host: t.host, port: t.port, username: t.username, credentials, tls: t.tls ?? null,
    askPassword: (prompt) => (tty ? askHidden(prompt, { stdin: process.stdin, stderr: err }).catch(() => null) : Promise.resolve(null)),
  });
  if (r.ok || r.code === 'offline' || r.code === 'timeout') return credentials;
  const hint = (r.code === 'auth_required' || r.code === 'auth_failed') && !tty ? ' (give the password with --password-stdin)' : '';
  throw new UsageError(`cannot log in as ${t.username}: ${r.message}${hint}`);
}

/** A refusal the user must act on: the connection will not get better by retrying. */
function isRefusal(ev: TrustEvent): boolean {
  return ev.kind !== 'pinned';
}

/** `host:port`, with brackets around an IPv6 address. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** How the chat UI behaves: --no-bell, and pipe mode's --timeout. */
export interface ChatUiFlags {
  bell?: boolean;
  /** Pipe mode: seconds an unreachable server is waited for once the input has ended (0: for ever). */
  timeoutSeconds?: number;
}

/** Pipe mode waits this long for an unreachable server once its input has ended (--timeout). */
export const PIPE_TIMEOUT_SECONDS = 30;

/** The interactive client (or pipe mode when stdin is not a terminal). Exits the process. */
export async function runClient(t: ClientTarget, ui: ChatUiFlags = {}): Promise<never> {
  // A script's connection (pipe mode) is quiet: nobody sees "deploybot is here / is gone".
  const pipe = !(process.stdin.isTTY && process.stdout.isTTY);
  const credentials = await logIn(t);
  let warned = false;
  const conn: RepeaterConnection = new RepeaterConnection({
    ...connectionOptions(t),
    host: t.host, port: t.port, username: t.username, rooms: [t.room], quiet: pipe, credentials,
    ...(t.tls ? {
      tls: {
        ...t.tls,
        onTrust: (ev) => {
          // The status line repeats the short reason at every retry; the loud text once.
          if (isRefusal(ev) && warned) return;
          if (isRefusal(ev)) warned = true;
          // One notice per line: the screen prints each notice as a single line.
          for (const line of describeTrust(ev).split('\n')) conn.emit('notice', line);
        },
      },
    } : {}),
  });
  // `lab93 connect host | head -3`: the reader went away; queued messages stay in the outbox.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const timeout = ui.timeoutSeconds ?? PIPE_TIMEOUT_SECONDS;
  const code = await runChatUi(conn, {
    room: t.room, pipe, address: hostPort(t.host, t.port), title: `lab93 · ${t.username}@${hostPort(t.host, t.port)} · repeater`,
    ...(ui.bell === false ? { bell: false } : {}), ...(timeout > 0 ? { unreachableTimeoutMs: timeout * 1000 } : {}),
  });
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
  let refused: ((why: string) => void) | null = null;
  const tls: ClientTlsOptions | null = o.tls ? {
    ...o.tls,
    onTrust: (ev) => {
      err.write(`lab93 send: ${describeTrust(ev)}\n`);
      if (isRefusal(ev)) refused?.('the server\'s certificate was refused');
    },
  } : null;
  const credentials = await logIn(o, err);
  const conn = new RepeaterConnection({ ...connectionOptions(o), host: o.host, port: o.port, username: o.username, rooms: [o.room], dbPath: ':memory:', sendStoredOutbox: false, backoffMaxMs: 2000, quiet: true, tls, credentials });
  let lastProblem = '';
  conn.on('state', (s: string, detail?: string) => {
    if (s === 'offline' && detail) lastProblem = detail;
  });
  conn.on('notice', (t: string) => {
    lastProblem = t;
  });
  const where = hostPort(o.host, o.port);
  const result = await new Promise<{ ok: true; id: number | null } | { ok: false; why: string }>((resolve) => {
    let uid = '';
    const timer = setTimeout(() => {
      resolve({ ok: false, why: `not acknowledged by ${where} within ${Math.round(o.timeoutMs / 1000)} s${lastProblem ? ` (${sanitizeLine(describeNetError(lastProblem))})` : ''}` });
    }, o.timeoutMs);
    refused = (why) => {
      clearTimeout(timer);
      resolve({ ok: false, why });
    };
    // The server refused the name or the credentials: waiting will not change that.
    conn.on('notice', (t: string) => {
      if (!t.startsWith('cannot log in')) return;
      clearTimeout(timer);
      resolve({ ok: false, why: sanitizeLine(t) });
    });
    // Nothing will answer there now (refused, no such host): say so at once, not after the timeout.
    conn.on('state', (s: string, detail?: string) => {
      if (s !== 'offline' || detail === undefined || !REFUSED.has(detail)) return;
      clearTimeout(timer);
      resolve({ ok: false, why: `cannot connect to ${where}: ${describeNetError(detail)}` });
    });
    conn.on('fatal', (reason: string) => {
      clearTimeout(timer);
      resolve({ ok: false, why: sanitizeLine(reason) });
    });
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

/** A first `lab93 tail` prints this many of the newest messages of each room (--last). */
export const TAIL_LAST_DEFAULT = 20;

/**
 * Prints every message received as a JSON line, until a signal: on later runs, first what arrived
 * since the previous run ended (`missed`); on the first run (no cursor yet), the newest `last`
 * messages of each room. Stops at once with status 1 when the server cannot be reached at the
 * start, or is not a lab93 server; once it has been connected, it reconnects by itself.
 */
export async function runTail(t: ClientTarget & { rooms: string[]; last?: number }): Promise<void> {
  // Its own cursor file: a tail running in the background must not mark messages as seen for
  // the interactive client of the same user.
  const dbPath = clientDbPath(t.host, t.port).replace(/\.db$/, '.tail.db');
  const tls: ClientTlsOptions | null = t.tls ? {
    ...t.tls,
    onTrust: (ev) => {
      process.stderr.write(`lab93 tail: ${describeTrust(ev)}\n`);
      if (isRefusal(ev)) void stop(1);
    },
  } : null;
  const credentials = await logIn(t);
  const conn = new RepeaterConnection({ ...connectionOptions(t), host: t.host, port: t.port, username: t.username, rooms: t.rooms, dbPath, sendStoredOutbox: false, quiet: true, tls, credentials });
  const firstRun = conn.store.lastSeen(t.username) === null;
  process.stdout.on('error', () => void stop(0));
  const print = pacedWriter(process.stdout, conn);
  const show = (m: ChatMessage, missed: boolean): void => print(formatJsonLine(m, missed) + '\n');
  // First run: the backlog (relative to a cursor this tail never had) is replaced by the rooms'
  // newest messages; live ones wait until those are printed, so the output stays in id order.
  let held: ChatMessage[] | null = firstRun ? [] : null;
  conn.on('message', (m: ChatMessage, info?: { missed?: boolean }) => {
    if (held === null) return show(m, info?.missed ?? false);
    if (!info?.missed) held.push(m);
  });
  conn.once('synced', () => {
    if (held === null) return;
    void firstRunBacklog(conn, t.rooms, t.last ?? TAIL_LAST_DEFAULT).then((recent) => {
      const printed = new Set<number>();
      for (const m of recent) {
        if (m.id !== null) printed.add(m.id);
        show(m, true);
      }
      for (const m of held ?? []) if (m.id === null || !printed.has(m.id)) show(m, false);
      held = null;
    });
  });
  let connected = false;
  const where = hostPort(t.host, t.port);
  conn.on('notice', (text: string) => process.stderr.write(`lab93 tail: ${sanitizeLine(text)}\n`));
  conn.on('fatal', (reason: string) => {
    process.stderr.write(`lab93 tail: ${sanitizeLine(reason)}\n`);
    void stop(1);
  });
  conn.on('state', (s: string, detail?: string) => {
    if (s === 'online') connected = true;
    if (s !== 'offline' || stopping) return;
    if (!connected && detail !== undefined && REFUSED.has(detail)) {
      process.stderr.write(`lab93 tail: cannot connect to ${where}: ${describeNetError(detail)}\n`);
      return void stop(1);
    }
    process.stderr.write(`lab93 tail: offline${detail ? ` (${sanitizeLine(describeNetError(detail))})` : ''}; reconnecting\n`);
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

/** The newest `last` messages of each room, merged in id order (a failed room is left out, with a notice). */
async function firstRunBacklog(conn: RepeaterConnection, rooms: string[], last: number): Promise<ChatMessage[]> {
  if (last === 0) return [];
  const all: ChatMessage[] = [];
  for (const room of rooms) {
    try {
      all.push(...(await conn.history(room, last)));
    } catch (err) {
      process.stderr.write(`lab93 tail: the history of #${sanitizeLine(room)} could not be read (${sanitizeLine((err as Error).message)})\n`);
    }
  }
  return all.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

// ---- command-line wiring ------------------------------------------------------------------

interface TargetFlags {
  address?: string; port?: string; name?: string; room?: string; maxFrame?: string; maxText?: string; tls?: boolean; ca?: string; passwordStdin?: boolean;
  /** -p was typed (not LAB93_PORT): it may not contradict a port in the address. */
  portTyped?: boolean;
}
interface UiFlags { bell?: boolean; timeout?: string }

/** HOST or HOST:PORT; a port in the address wins over LAB93_PORT, and must agree with a typed -p. */
function resolveAddress(address: string | undefined, port: string | undefined, portTyped = false): { host: string; port: number } {
  const fallback = port === undefined ? DEFAULT_PORT : parsePort(port);
  if (address === undefined) return { host: DEFAULT_HOST, port: fallback };
  const hp = parseHostPort(address, fallback);
  if (hp.host === '') throw new UsageError(`the address "${address}" has no host`);
  if (portTyped && hp.port !== fallback) throw new UsageError(`${address} and -p ${port} name two ports: give the port once`);
  return hp;
}

function target(f: TargetFlags): ClientTarget {
  const limits: ClientLimits = {};
  if (f.maxFrame !== undefined) limits.maxFrameBytes = atLeast(f.maxFrame, '--max-frame', 1024);
  if (f.maxText !== undefined) limits.maxTextBytes = atLeast(f.maxText, '--max-text', 1);
  return { ...resolveAddress(f.address, f.port, f.portTyped), username: resolveUsername(f.name), room: resolveRoom(f.room), limits, tls: clientTlsFromFlags(f) };
}

/** --tls and --ca (which implies --tls): null for plaintext. */
export function clientTlsFromFlags(f: { tls?: boolean; ca?: string }): Omit<ClientTlsOptions, 'onTrust'> | null {
  if (f.ca !== undefined) {
    let ca: string;
    try {
      ca = readFileSync(f.ca, 'utf8');
    } catch (err) {
      throw new UsageError(`--ca ${f.ca}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca ${f.ca}: not a PEM certificate`);
    return { ca };
  }
  return f.tls ? {} : null;
}

/** --tls and --ca, for the root command (`-r -c`) and the client subcommands. */
export function addClientTlsOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--tls', 'connect over TLS (a self-signed server is pinned on first use)').env('LAB93_TLS'))
    .addOption(new Option('--ca <file>', 'with TLS: trust only certificates from this CA (PEM); implies --tls').env('LAB93_CA'));
}

/** --password-stdin: the whole of standard input is the password (one trailing newline dropped). */
async function withPassword<T extends ClientTarget>(t: T, f: TargetFlags): Promise<T> {
  if (!f.passwordStdin) return t;
  const password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('--password-stdin: standard input is empty');
  return { ...t, password };
}

/** The flags of `cmd` with `portTyped` set when -p came from the command line. */
function withSource<F extends TargetFlags>(f: F, cmd: Command): F {
  return { ...f, portTyped: cmd.getOptionValueSource('port') === 'cli' };
}

function uiFlags(f: UiFlags): ChatUiFlags {
  return { ...(f.bell === false ? { bell: false } : {}), ...(f.timeout !== undefined ? { timeoutSeconds: parsePositiveInt(f.timeout, '--timeout') } : {}) };
}

function atLeast(value: string, flag: string, min: number): number {
  const n = parsePositiveInt(value, flag);
  if (n < min) throw new UsageError(`${flag} must be at least ${min}, not "${value}"`);
  return n;
}

const MIB = 1024 * 1024;

/** What the client accepts from a server: the same flags for connect, send and tail (docs/security.md, "The terminal client"). */
function addClientLimitOptions(cmd: Command): Command {
  return cmd
    .option('--max-frame <bytes>', `longest line accepted from the server (default ${CLIENT_DEFAULTS.maxFrameBytes / MIB} MiB)`)
    .option('--max-text <bytes>', `longest message text or subject accepted from the server (default ${DEFAULT_SERVER_PACKET_LIMITS.maxTextBytes / MIB} MiB)`);
}

/** What --name and --room mean for a command: joining, posting or following differ. */
export interface IdentityHelp {
  name?: string;
  room?: string;
}

/** --name and --room, for the root command (`-r -c`, `-b`) and the client subcommands. */
export function addIdentityOptions(cmd: Command, help: IdentityHelp = {}): Command {
  return cmd
    .addOption(new Option('-n, --name <name>', `${help.name ?? 'your name in the chat'} (default: your login name)`).env('LAB93_NAME'))
    .option('--password-stdin', 'a registered name: read its password from standard input (asked on the terminal otherwise; typed once, then a saved token is used)')
    .addOption(new Option('--room <room>', `${help.room ?? 'room to start in'} (default ${DEFAULT_ROOM})`).env('LAB93_ROOM'));
}

/** The interactive client's own flags (root command and `connect`). */
export function addChatUiOptions(cmd: Command): Command {
  return cmd.option('--no-bell', 'do not ring the terminal bell for direct messages and mentions of your name');
}

function addTargetOptions(cmd: Command, help: IdentityHelp, verb: string): Command {
  return addClientTlsOptions(addClientLimitOptions(addIdentityOptions(
    cmd
      .addOption(new Option('-a, --address <host[:port]>', `server to ${verb}, HOST or HOST:PORT (default ${DEFAULT_HOST})`).env('LAB93_ADDRESS'))
      .addOption(new Option('-p, --port <port>', `server port when the address has none (default ${DEFAULT_PORT})`).env('LAB93_PORT')),
    help,
  )));
}

/** `lab93 -r -c`: the root command's flags, already parsed. */
export async function startClientFromFlags(f: TargetFlags & UiFlags): Promise<never> {
  const t = target(f);
  // No -a (nor LAB93_ADDRESS): find the server on the LAN by mDNS (src/peer/find-server.ts).
  if (f.address === undefined) {
    const { findServerOnLan } = await import('../peer/find-server.js');
    // A server that announces a certificate is dialled over TLS and must present it.
    const found = await findServerOnLan({ tls: t.tls ?? null });
    return runClient(await withPassword({ ...t, host: found.host, port: found.port, tls: found.tls }, f), uiFlags(f));
  }
  return runClient(await withPassword(t, f), uiFlags(f));
}

/** Adds `connect`, `send` and `tail` to the program. */
export function registerClientCommands(program: Command): void {
  addClientTlsOptions(addChatUiOptions(addClientLimitOptions(addIdentityOptions(
    program
      .command('connect')
      .description('join the room hosted on HOST (same as -r -c -a HOST -p PORT)')
      .argument('<host[:port]>', `server, port ${DEFAULT_PORT} unless given`)
      .addOption(new Option('-p, --port <port>', `server port when HOST has none (default ${DEFAULT_PORT})`).env('LAB93_PORT'))
      .option('--timeout <seconds>', `piped input: once it has ended, how long an unreachable server is waited for before exiting 1 (default ${PIPE_TIMEOUT_SECONDS}; 0 waits for ever)`)
      .addHelpText('after', '\nExamples:\n  lab93 connect lab-pc\n  lab93 connect 192.168.1.20:6000 --name ada --room physics\n  lab93 connect lab-pc --tls           (TLS; the server\'s certificate is pinned on first use)\n  printf "hi\\n" | lab93 connect lab-pc   (pipe mode: one message per line)\n'),
  )))).action(async (hostPort: string, flags: TargetFlags & UiFlags, cmd: Command) => {
    const f = withSource(flags, cmd);
    return runClient(await withPassword(target({ ...f, address: hostPort }), f), uiFlags(f));
  });

  addTargetOptions(
    program
      .command('send')
      .summary('post one message, exit 0 once it is stored')
      .description('post one message; exits 0 once the server has stored it, 1 at once if nothing answers there')
      .argument('<text...>', 'the message ("-" reads it from standard input)')
      .option('--subject <subject>', 'a subject for the message')
      .option('--to <user>', 'a direct message to this user instead of the room')
      .option('--timeout <seconds>', 'give up when not acknowledged within this long (default 10)')
      .addHelpText('after', '\nExamples:\n  lab93 send -a lab-pc "build finished"\n  lab93 send -a lab-pc:6000 --subject CI --room builds "tests passed"\n  make 2>&1 | tail -5 | lab93 send -a lab-pc -\n'),
    { name: 'name to post as', room: 'room to post to' },
    'post to',
  ).action(async (words: string[], flags: TargetFlags & { subject?: string; to?: string; timeout?: string }, cmd: Command) => {
    const f = withSource(flags, cmd);
    const t = await withPassword(target(f), f);
    let text = words.join(' ');
    if (text === '-') text = (await readAll(process.stdin)).replace(/\r?\n$/, '');
    if (text.trim() === '') throw new UsageError('send: the message is empty');
    const to = f.to === undefined ? null : checkTo(f.to);
    const timeoutMs = (f.timeout === undefined ? 10 : parsePositiveInt(f.timeout, '--timeout')) * 1000;
    process.exit(await sendOnce({ ...t, text, subject: f.subject ?? null, to, timeoutMs }));
  });

  addTargetOptions(
    program
      .command('tail')
      .summary('print messages as JSON lines, until interrupted')
      .description(`print messages as JSON lines until interrupted: first the newest ${TAIL_LAST_DEFAULT} of each room (first run) or what arrived since the last run, then each new one`)
      .option('--last <n>', `first run only: how many of each room's newest messages to print first (default ${TAIL_LAST_DEFAULT}; 0 starts from now)`)
      .addHelpText('after', '\nEach line: {"id","uid","username","room","to","subject","content","timestamp","missed","action"}.\nLater runs print what arrived since the previous one ended (missed: true), then follow.\nExamples:\n  lab93 tail -a lab-pc\n  lab93 tail -a lab-pc:6000 --room lobby,physics | jq -r .content\n'),
    { name: 'name to read as (its direct messages are included)', room: 'rooms to follow, comma-separated' },
    'follow',
  ).action(async (flags: TargetFlags & { last?: string }, cmd: Command) => {
    const f = withSource(flags, cmd);
    const t = await withPassword(target({ ...f, room: undefined }), f);
    const rooms = (f.room ?? DEFAULT_ROOM).split(',').filter((r) => r !== '').map((r) => resolveRoom(r));
    await runTail({ ...t, rooms, ...(f.last !== undefined ? { last: parsePositiveInt(f.last, '--last') } : {}) });
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
