/**
 * SQLite backend through better-sqlite3, in WAL mode. Its calls are synchronous; the interface
 * is async so that PostgreSQL fits behind it. A batch is one transaction, which with
 * synchronous=FULL costs one fsync however many messages it holds (group commit).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WriterReply, WriterRequest } from './sqlite-writer.js';
import type { AppendResult, CatchUpQuery, MessageStore, NewMessage, StoredMessage, Synchronous } from './types.js';

/** Schema migrations, applied in order; PRAGMA user_version records how many ran. */
const MIGRATIONS: string[] = [
  `CREATE TABLE messages (
     id        INTEGER PRIMARY KEY AUTOINCREMENT,
     uid       TEXT,
     username  TEXT NOT NULL,
     room      TEXT NOT NULL,
     recipient TEXT,
     subject   TEXT,
     content   TEXT NOT NULL,
     ts        REAL NOT NULL,
     remote    TEXT
   );
   CREATE UNIQUE INDEX messages_user_uid ON messages(username, uid);
   CREATE INDEX messages_room ON messages(room, id) WHERE recipient IS NULL;
   CREATE INDEX messages_recipient ON messages(recipient, id) WHERE recipient IS NOT NULL;
   CREATE TABLE cursors (username TEXT PRIMARY KEY, last_id INTEGER NOT NULL);`,
];

const COLUMNS = 'id, uid, username, room, recipient, subject, content, ts, remote';

interface Row {
  id: number; uid: string | null; username: string; room: string; recipient: string | null;
  subject: string | null; content: string; ts: number; remote: string | null;
}

function fromRow(r: Row): StoredMessage {
  return { id: r.id, uid: r.uid, username: r.username, room: r.room, to: r.recipient, subject: r.subject, content: r.content, timestamp: r.ts, remote: r.remote };
}

export function openSqlite(path: string, synchronous: Synchronous = 'full'): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.pragma('busy_timeout = 5000');
  return db;
}

export function migrate(db: Database.Database, migrations: string[]): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * The writing half of the store: an append batch or a cursor update, each one transaction (with
 * synchronous=FULL, one fsync). Used inline, and by the writer thread on its own connection.
 */
export function writeStatements(db: Database.Database): {
  append(batch: NewMessage[]): AppendResult[];
  setCursors(entries: ReadonlyArray<readonly [string, number]>): void;
} {
  const insert = db.prepare(
    `INSERT INTO messages (uid, username, room, recipient, subject, content, ts, remote)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username, uid) DO NOTHING`,
  );
  const byUid = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE username = ? AND uid = ?`);
  const setCursor = db.prepare(
    `INSERT INTO cursors (username, last_id) VALUES (?, ?)
     ON CONFLICT (username) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)`,
  );
  const append = db.transaction((batch: NewMessage[]) => {
    const out: AppendResult[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i]!;
      // run() and lastInsertRowid rather than RETURNING: no result row to build per message,
      // which is most of an insert's cost here (the batch is what gets fsynced, not the row).
      const info = insert.run(m.uid, m.username, m.room, m.to, m.subject, m.content, m.timestamp, m.remote ?? null);
      if (info.changes === 1) {
        const message: StoredMessage = { id: Number(info.lastInsertRowid), uid: m.uid, username: m.username, room: m.room, to: m.to, subject: m.subject, content: m.content, timestamp: m.timestamp, remote: m.remote ?? null };
        out[i] = { message, duplicate: false };
      } else {
        out[i] = { message: fromRow(byUid.get(m.username, m.uid) as Row), duplicate: true };
      }
    }
    return out;
  });
  const setCursors = db.transaction((entries: ReadonlyArray<readonly [string, number]>) => {
    for (const [u, id] of entries) setCursor.run(u, id);
  });
  return { append: (batch) => append(batch), setCursors: (entries) => setCursors(entries) };
}

/**
 * Runs the store's writes on a worker thread (src/store/sqlite-writer.ts) with a connection of
 * its own. Why: better-sqlite3 is synchronous, so inline a commit's fsync stops the event loop,
 * and with it every delivery to every client, for as long as the disk takes (profiles showed
 * the server idle in fsync for much of a fan-out run). On its own thread the fsync overlaps with
 * reading, parsing and fan-out; an append still resolves only once its transaction is on disk.
 */
class WriterThread {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;
  private closing = false;
  private readonly exited: Promise<void>;

  constructor(path: string, synchronous: Synchronous) {
    const workerData = { path, synchronous };
    // From source (tests, `node --import tsx`), the worker needs tsx's loader registered itself.
    if (import.meta.url.endsWith('.ts')) {
      const file = new URL('./sqlite-writer.ts', import.meta.url).href;
      const tsx = import.meta.resolve('tsx/esm/api');
      this.worker = new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(file)}); })`, { eval: true, workerData });
    } else {
      this.worker = new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData });
    }
    // Idle, the thread must not keep the process alive; while a write is pending it must.
    this.worker.unref();
    this.worker.on('message', (r: WriterReply) => {
      const p = this.pending.get(r.seq);
      if (!p) return;
      this.pending.delete(r.seq);
      if (this.pending.size === 0 && !this.closing) this.worker.unref();
      if (r.error) p.reject(Object.assign(new Error(r.error.message), r.error.code !== undefined ? { code: r.error.code } : {}));
      else p.resolve(r.result);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.fail(new Error('the SQLite writer thread exited'));
        resolve();
      }),
    );
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  call<T>(op: WriterRequest['op'], arg: unknown): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const seq = ++this.seq;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ seq, op, arg } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.worker.ref(); // until it has exited
    if (!this.failed) await this.call('close', null).catch(() => undefined);
    await this.exited;
  }
}

export class SqliteStore implements MessageStore {
  readonly db: Database.Database;
  private readonly write: ReturnType<typeof writeStatements>;
  private readonly writer: WriterThread | null;
  private readonly stmts;

  /**
   * A file database with synchronous=FULL writes on a thread of its own (see WriterThread);
   * `:memory:` (one connection only) and the other settings write inline, as does
   * `writerThread: false`.
   */
  constructor(path: string, synchronous: Synchronous = 'full', opts: { writerThread?: boolean } = {}) {
    this.db = openSqlite(path, synchronous);
    migrate(this.db, MIGRATIONS);
    const db = this.db;
    this.write = writeStatements(db);
    this.writer = path !== ':memory:' && (opts.writerThread ?? synchronous === 'full') ? new WriterThread(path, synchronous) : null;
    this.stmts = {
      lastId: db.prepare(`SELECT COALESCE(MAX(id), 0) AS id FROM messages`).pluck(),
      count: db.prepare(`SELECT COUNT(*) FROM messages`).pluck(),
      catchUp: db.prepare(
        `SELECT ${COLUMNS} FROM messages
         WHERE id > @after AND id <= @upTo
           AND ((recipient IS NULL AND room IN (SELECT value FROM json_each(@rooms)))
                OR recipient = @user OR (recipient IS NOT NULL AND username = @user))
         ORDER BY id LIMIT @limit`,
      ),
      historyBefore: db.prepare(
        `SELECT ${COLUMNS} FROM messages WHERE room = ? AND recipient IS NULL AND id < ? ORDER BY id DESC LIMIT ?`,
      ),
      historyLatest: db.prepare(
        `SELECT ${COLUMNS} FROM messages WHERE room = ? AND recipient IS NULL ORDER BY id DESC LIMIT ?`,
      ),
      page: db.prepare(`SELECT ${COLUMNS} FROM messages WHERE room = ? AND recipient IS NULL AND id > ? ORDER BY id LIMIT ?`),
      getCursor: db.prepare(`SELECT last_id FROM cursors WHERE username = ?`).pluck(),
    };
  }

  async append(batch: NewMessage[]): Promise<AppendResult[]> {
    return this.writer ? this.writer.call<AppendResult[]>('append', batch) : this.write.append(batch);
  }
  async lastId(): Promise<number> {
    return this.stmts.lastId.get() as number;
  }
  async count(): Promise<number> {
    return this.stmts.count.get() as number;
  }
  async catchUp(q: CatchUpQuery): Promise<StoredMessage[]> {
    const rows = this.stmts.catchUp.all({ after: q.afterId, upTo: q.upToId, rooms: JSON.stringify(q.rooms), user: q.username, limit: q.limit }) as Row[];
    return rows.map(fromRow);
  }
  async history(room: string, before: number | null, limit: number): Promise<StoredMessage[]> {
    const rows = (before === null ? this.stmts.historyLatest.all(room, limit) : this.stmts.historyBefore.all(room, before, limit)) as Row[];
    return rows.reverse().map(fromRow);
  }
  async page(room: string, afterId: number, limit: number): Promise<StoredMessage[]> {
    return (this.stmts.page.all(room, afterId, limit) as Row[]).map(fromRow);
  }
  async getCursor(username: string): Promise<number | null> {
    return (this.stmts.getCursor.get(username) as number | undefined) ?? null;
  }
  async setCursors(entries: ReadonlyArray<readonly [string, number]>): Promise<void> {
    // Through the writer too: two connections writing would wait on each other's locks.
    if (this.writer) await this.writer.call('cursors', entries);
    else this.write.setCursors(entries);
  }
  async close(): Promise<void> {
    if (this.writer) await this.writer.close();
    if (this.db.open) this.db.close();
  }
}
