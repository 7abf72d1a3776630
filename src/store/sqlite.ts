/**
 * SQLite backend through better-sqlite3, in WAL mode. Its calls are synchronous; the interface
 * is async so that PostgreSQL fits behind it. A batch is one transaction, which with
 * synchronous=FULL costs one fsync however many messages it holds (group commit).
 */
import type Database from 'better-sqlite3';
import { SqliteStoreBase, openStoreDb } from './sqlite-base.js';
import type { AppendResult, MessageStore, NewMessage, StoredMessage, Synchronous } from './types.js';

export { openSqlite, migrate } from './sqlite-base.js';

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
  // Accounts (src/auth): who was logged in when it was sent. Existing rows become guests' messages.
  `ALTER TABLE messages ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE messages ADD COLUMN to_account INTEGER NOT NULL DEFAULT 0;`,
  // Action lines (`/me`): a flag, 0 on every row written before it existed.
  `ALTER TABLE messages ADD COLUMN action INTEGER NOT NULL DEFAULT 0;`,
];

const COLUMNS = 'id, uid, username, room, recipient, subject, content, ts, remote, verified, to_account, action';

interface Row {
  id: number; uid: string | null; username: string; room: string; recipient: string | null;
  subject: string | null; content: string; ts: number; remote: string | null; verified: number; to_account: number; action: number;
}

function fromRow(r: Row): StoredMessage {
  const m: StoredMessage = { id: r.id, uid: r.uid, username: r.username, room: r.room, to: r.recipient, subject: r.subject, content: r.content, timestamp: r.ts, remote: r.remote, verified: r.verified === 1, toAccount: r.to_account === 1 };
  if (r.action) m.action = true;
  return m;
}

export class SqliteStore extends SqliteStoreBase<StoredMessage, Row> implements MessageStore {
  private readonly insert: Database.Statement;
  private readonly byUid: Database.Statement;
  private readonly appendTx: (batch: NewMessage[]) => AppendResult[];

  constructor(path: string, synchronous: Synchronous = 'full') {
    super(openStoreDb(path, synchronous, MIGRATIONS), COLUMNS, fromRow);
    const db = this.db;
    this.insert = db.prepare(
      `INSERT INTO messages (uid, username, room, recipient, subject, content, ts, remote, verified, to_account, action)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username, uid) DO NOTHING`,
    );
    this.byUid = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE username = ? AND uid = ?`);
    this.appendTx = db.transaction((batch: NewMessage[]) => {
      const out: AppendResult[] = new Array(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i]!;
        // run() and lastInsertRowid rather than RETURNING: no result row to build per message,
        // which is most of an insert's cost here (the batch is what gets fsynced, not the row).
        const verified = m.verified === true;
        const toAccount = m.toAccount === true;
        const info = this.insert.run(m.uid, m.username, m.room, m.to, m.subject, m.content, m.timestamp, m.remote ?? null, verified ? 1 : 0, toAccount ? 1 : 0, m.action ? 1 : 0);
        if (info.changes === 1) {
          const message: StoredMessage = { id: Number(info.lastInsertRowid), uid: m.uid, username: m.username, room: m.room, to: m.to, subject: m.subject, content: m.content, timestamp: m.timestamp, remote: m.remote ?? null, verified, toAccount };
          if (m.action) message.action = true;
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
}
