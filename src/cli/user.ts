/**
 * `lab93 user add|passwd|del|list|logout`: accounts in the server's database (`--db`, or a
 * cluster's `--store postgres://…`), safe to run while the server runs: the server notices
 * within a few seconds and ends the sessions a change revokes (docs/operations.md, "Accounts").
 * Passwords come from a prompt that does not echo, or from standard input with
 * `--password-stdin`; they are never printed or logged.
 */
import { Command, Option } from 'commander';
import { createAccountStore } from '../auth/index.js';
import { DEFAULT_AUTH_OPTIONS } from '../auth/config.js';
import { checkUsername } from '../auth/names.js';
import { hashPassword } from '../auth/password.js';
import type { AccountStore } from '../auth/types.js';
import { serverDbPath } from '../config/paths.js';
import { DEFAULT_LIMITS } from '../protocol/limits.js';
import { MAX_PASSWORD_LENGTH } from '../protocol/packets.js';
import { ProtocolError } from '../protocol/errors.js';
import { UsageError } from './usage.js';

interface UserFlags {
  db?: string;
  store?: string;
  operator?: boolean;
  passwordStdin?: boolean;
}

/** Where the command writes: injectable so tests run it in-process. */
export interface UserIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const defaultIo = (): UserIo => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

/** A failure the user can act on: one line, exit status 1. */
class UserError extends Error {}

function name(raw: string): ReturnType<typeof checkUsername> {
  try {
    return checkUsername(raw, DEFAULT_LIMITS.maxNameLength, 'NAME');
  } catch (err) {
    if (err instanceof ProtocolError) throw new UsageError(err.message);
    throw err;
  }
}

async function open(f: UserFlags): Promise<AccountStore> {
  if (f.store !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(f.store)) throw new UsageError(`--store takes a postgres:// URL, not "${f.store}"`);
    return createAccountStore({ driver: 'postgres', path: f.store });
  }
  return createAccountStore({ driver: 'sqlite', path: f.db ?? serverDbPath() });
}

/** Reads all of standard input; one trailing newline is not part of the password. */
async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Asks for a password on the terminal without echoing it (raw mode, as ssh and sudo do).
 * Backspace edits, Enter ends, Ctrl-C and Ctrl-D give up.
 */
export function askHidden(prompt: string, io: Pick<UserIo, 'stdin' | 'stderr'>): Promise<string> {
  const { stdin } = io;
  return new Promise((resolve, reject) => {
    io.stderr.write(prompt);
    let typed = '';
    stdin.setRawMode?.(true);
    stdin.resume();
    const done = (err: Error | null): void => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004') return done(new UserError('no password given'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The new password: from standard input, or asked twice on the terminal. */
async function newPassword(who: string, f: UserFlags, io: UserIo): Promise<string> {
  let pw: string;
  if (f.passwordStdin) pw = await readAll(io.stdin);
  else if (io.stdin.isTTY) {
    pw = await askHidden(`New password for ${who}: `, io);
    if ((await askHidden('Again: ', io)) !== pw) throw new UserError('the passwords do not match');
  } else throw new UsageError('no terminal to ask for the password on: pipe it in with --password-stdin');
  const min = DEFAULT_AUTH_OPTIONS.minPasswordLength;
  if ([...pw].length < min) throw new UserError(`the password must have at least ${min} characters`);
  if (pw.length > MAX_PASSWORD_LENGTH) throw new UserError(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  return pw;
}

/** Runs one command on the store; resolves to the exit status (0, or 1 with one line on stderr). */
async function run(f: UserFlags, io: UserIo, fn: (store: AccountStore) => Promise<string>): Promise<number> {
  const store = await open(f);
  try {
    io.stdout.write(`${await fn(store)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.stderr.write(`lab93: ${err.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

/** The account of that name (in any case), or a UserError naming what was asked for. */
async function existing(store: AccountStore, n: { key: string; name: string }): Promise<{ name: string }> {
  const a = await store.get(n.key);
  if (!a) throw new UserError(`there is no account named ${n.name}`);
  return a;
}

export async function userAdd(raw: string, f: UserFlags, io: UserIo = defaultIo()): Promise<number> {
  const n = name(raw);
  // Before asking for a password: no typing for a name that cannot be had.
  return run(f, io, async (store) => {
    const taken = (await store.get(n.key)) ?? (await store.bySkeleton(n.skeleton));
    if (taken) throw new UserError(taken.key === n.key ? `${taken.name} is registered already` : `${n.name} looks like the registered name ${taken.name}`);
    const hash = await hashPassword(await newPassword(n.name, f, io));
    const r = await store.create({ ...n, passwordHash: hash, operator: f.operator === true, createdAt: Date.now() });
    if (r === 'taken') throw new UserError(`${n.name} (or a look-alike) was registered meanwhile`);
    return `added ${n.name}${f.operator ? ' (operator)' : ''}`;
  });
}

export async function userPasswd(raw: string, f: UserFlags, io: UserIo = defaultIo()): Promise<number> {
  const n = name(raw);
  return run(f, io, async (store) => {
    const a = await existing(store, n);
    const hash = await hashPassword(await newPassword(a.name, f, io));
    if (!(await store.setPassword(n.key, hash))) throw new UserError(`there is no account named ${n.name}`);
    return `password changed for ${a.name}; its tokens are revoked and its open sessions end`;
  });
}

export async function userDel(raw: string, f: UserFlags, io: UserIo = defaultIo()): Promise<number> {
  const n = name(raw);
  return run(f, io, async (store) => {
    const a = await existing(store, n);
    if (!(await store.delete(n.key))) throw new UserError(`there is no account named ${n.name}`);
    return `deleted ${a.name}; its open sessions end`;
  });
}

export async function userLogout(raw: string, f: UserFlags, io: UserIo = defaultIo()): Promise<number> {
  const n = name(raw);
  return run(f, io, async (store) => {
    const a = await existing(store, n);
    const revoked = await store.revokeTokens(n.key);
    if (revoked < 0) throw new UserError(`there is no account named ${n.name}`);
    return `${a.name}: ${revoked} token${revoked === 1 ? '' : 's'} revoked; its open sessions end`;
  });
}

export async function userList(f: UserFlags, io: UserIo = defaultIo()): Promise<number> {
  return run(f, io, async (store) => {
    const all = await store.list();
    if (all.length === 0) return 'no accounts';
    const rows = all.map((a) => [a.name, a.operator ? 'operator' : '', new Date(a.createdAt).toISOString().slice(0, 10), String(a.tokens)]);
    const head = ['NAME', 'ROLE', 'CREATED', 'TOKENS'];
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]!].length)));
    return [head, ...rows].map((r) => r.map((c, i) => c + ' '.repeat(width[i]! - [...c].length)).join('  ').trimEnd()).join('\n');
  });
}

function exit(status: number): void {
  if (status !== 0) process.exitCode = status;
}

function addStoreOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--db <path>', 'the server\'s SQLite database (default $XDG_DATA_HOME/lab93/server.db)').env('LAB93_DB'))
    .addOption(new Option('--store <url>', 'a cluster\'s PostgreSQL store, postgres://user@host/db[?schema=s]').env('LAB93_STORE'));
}

export function registerUserCommand(program: Command): void {
  const user = program.command('user').description('manage accounts in the server database (the server may be running)');
  const withPassword = (cmd: Command): Command => addStoreOptions(cmd).option('--password-stdin', 'read the password from standard input instead of asking');
  withPassword(user.command('add <name>').description('register an account; asks for its password'))
    .option('--operator', 'mark the account as an operator (for moderation)')
    .action(async (n: string, f: UserFlags) => exit(await userAdd(n, f)));
  withPassword(user.command('passwd <name>').description('set a new password; revokes the account\'s tokens'))
    .action(async (n: string, f: UserFlags) => exit(await userPasswd(n, f)));
  addStoreOptions(user.command('del <name>').description('delete an account and its tokens')).action(async (n: string, f: UserFlags) => exit(await userDel(n, f)));
  addStoreOptions(user.command('list').description('list the accounts')).action(async (f: UserFlags) => exit(await userList(f)));
  addStoreOptions(user.command('logout <name>').description('revoke every token of an account and end its sessions')).action(async (n: string, f: UserFlags) => exit(await userLogout(n, f)));
}
