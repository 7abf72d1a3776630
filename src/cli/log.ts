/**
 * `lab93 log`: the operator's view of who posted what (docs/classic-board.md, "Who posted"):
 * every stored message with its time, peer address, username, room and text, newest last.
 * Reads the SQLite file directly and read-only, so it works while the server runs.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { serverDbPath } from '../config/paths.js';
import { pyReprStr } from '../protocol/pyrepr.js';
import { UsageError, parsePositiveInt } from './usage.js';

interface LogFlags { db?: string; limit: string; room?: string; remote?: string; json?: boolean }

interface Row {
  id: number; username: string; room: string; recipient: string | null; subject: string | null;
  content: string; ts: number; remote: string | null;
}

/** One line for a terminal: the text is quoted and escaped, so a posted escape sequence cannot move the cursor. */
export function formatLogLine(r: Row): string {
  const where = r.recipient === null ? r.room : `@${r.recipient}`;
  const subject = r.subject ? ` [${pyReprStr(r.subject)}]` : '';
  return `${new Date(r.ts * 1000).toISOString()}  #${r.id}  ${r.remote ?? '-'}  ${r.username} -> ${where}${subject}  ${pyReprStr(r.content)}`;
}

export function readLog(dbPath: string, f: { limit: number; room?: string; remote?: string }): Row[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (f.room !== undefined) {
      where.push('room = ? AND recipient IS NULL');
      args.push(f.room);
    }
    if (f.remote !== undefined) {
      // The address, with or without its port.
      where.push("(remote = ? OR remote LIKE ? ESCAPE '\\')");
      args.push(f.remote, f.remote.replace(/[\\%_]/g, (c) => '\\' + c) + ':%');
    }
    const sql = `SELECT id, username, room, recipient, subject, content, ts, remote FROM messages
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return (db.prepare(sql).all(...args, f.limit) as Row[]).reverse();
  } finally {
    db.close();
  }
}

function runLog(f: LogFlags): void {
  const path = f.db ?? serverDbPath();
  if (!existsSync(path)) throw new UsageError(`no database at ${path} (give one with --db)`);
  const rows = readLog(path, { limit: parsePositiveInt(f.limit, '-n/--limit'), ...(f.room !== undefined ? { room: f.room } : {}), ...(f.remote !== undefined ? { remote: f.remote } : {}) });
  const out = rows.map((r) =>
    f.json
      ? JSON.stringify({ id: r.id, time: new Date(r.ts * 1000).toISOString(), timestamp: r.ts, remote: r.remote, username: r.username, room: r.room, to: r.recipient, subject: r.subject, content: r.content })
      : formatLogLine(r),
  );
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}

export function registerLogCommand(program: Command): void {
  program
    .command('log')
    .description('show stored messages with time, sender address, username and room (for the operator)')
    .addOption(new Option('--db <path>', 'SQLite database (default $XDG_DATA_HOME/lab93/server.db)').env('LAB93_DB'))
    .option('-n, --limit <n>', 'how many of the newest messages', '50')
    .option('--room <room>', 'only room messages of this room')
    .option('--remote <address>', 'only messages from this address (with or without :port)')
    .option('--json', 'one JSON object per line')
    .action((f: LogFlags) => runLog(f));
}
