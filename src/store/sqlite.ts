/**
 * SQLite backend through better-sqlite3, in WAL mode. Its calls are synchronous; the interface
 * is async so that PostgreSQL fits behind it. A batch is one transaction, which with
 * synchronous=FULL costs one fsync however many messages it holds (group commit).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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

export class SqliteStore implements MessageStore {
  readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly byUid: Database.Statement;
  private readonly appendTx: (batch: NewMessage[]) => AppendResult[];
  private readonly stmts;

  constructor(path: string, synchronous: Synchronous = 'full') {
    this.db = openSqlite(path, synchronous);
    migrate(this.db, MIGRATIONS);
    const db = this.db;
    this.insert = db.prepare(
      `INSERT INTO messages (uid, username, room, recipient, subject, content, ts, remote)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username, uid) DO NOTHING`,
    );
    this.byUid = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE username = ? AND uid = ?`);
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
      setCursor: db.prepare(
        `INSERT INTO cursors (username, last_id) VALUES (?, ?)
         ON CONFLICT (username) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)`,
      ),
    };
    this.appendTx = db.transaction((batch: NewMessage[]) => {
      const out: AppendResult[] = new Array(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i]!;
        // run() and lastInsertRowid rather than RETURNING: no result row to build per message,
        // which is most of an insert's cost here (the batch is what gets fsynced, not the row).
        const info = this.insert.run(m.uid, m.username, m.room, m.to, m.subject, m.content, m.timestamp, m.remote ?? null);
        if (info.changes === 1) {
          const message: StoredMessage = { id: Number(info.lastInsertRowid), uid: m.uid, username: m.username, room: m.room, to: m.to, subject: m.subject, content: m.content, timestamp: m.timestamp, remote: m.remote ?? null };
          out[i] = { message, duplicate: false };
        } else {
          out[i] = { message: fromRow(this.byUid.get(m.username, m.uid) as Row), duplicate: true };
        }
      }
      return out;
    });
  }

  async append(batch: NewMessage[]): Promise<AppendResult[]> {
    return this.appendTx(batch);
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
    this.db.transaction(() => {
      for (const [u, id] of entries) this.stmts.setCursor.run(u, id);
    })();
  }
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
