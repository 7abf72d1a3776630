/**
 * What every SQLite message store shares: opening (WAL, synchronous), migrations, and the read
 * side of MessageStore over a `messages` table with the standard columns, plus cursors. The
 * server's SqliteStore and a broadcast peer's PeerStore extend it; their tables differ only in
 * extra columns, and each brings its own append (the peer's also assigns mesh identities).
 */
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../config/paths.js';
import type { CatchUpQuery, DirectQuery, PruneQuery, StoredMessage, Synchronous } from './types.js';

export function openSqlite(path: string, synchronous: Synchronous = 'full'): Database.Database {
  // Created 0600 in a 0700 folder before SQLite opens it: SQLite gives -wal and -shm the mode of
  // the database file, so direct messages and senders' addresses stay private from the start.
  if (path !== ':memory:' && path !== '') ensurePrivateFile(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Schema migrations, applied in order; PRAGMA user_version records how many ran. */
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
 * Cursors carry when their user was last seen (Unix seconds), so that users gone for long can be
 * forgotten (MessageStore.pruneUsers). Added here rather than as a numbered migration because
 * the server's and the peer's stores number their migrations separately; rows that predate it
 * count as seen now.
 */
function ensureCursorSeen(db: Database.Database): void {
  const cols = db.prepare(`SELECT name FROM pragma_table_info('cursors')`).pluck().all() as string[];
  if (cols.includes('seen')) return;
  db.transaction(() => {
    db.exec(`ALTER TABLE cursors ADD COLUMN seen REAL NOT NULL DEFAULT 0`);
    db.prepare(`UPDATE cursors SET seen = ?`).run(Date.now() / 1000);
  })();
}

/** Opens a store file and brings its schema up to date. */
export function openStoreDb(path: string, synchronous: Synchronous, migrations: string[]): Database.Database {
  const db = openSqlite(path, synchronous);
  migrate(db, migrations);
  return db;
}

export abstract class SqliteStoreBase<M extends StoredMessage, R = unknown> {
  private readonly r;

  /** `columns`: the SELECT list that `fromRow` turns into a message. */
  constructor(
    readonly db: Database.Database,
    columns: string,
    protected readonly fromRow: (row: R) => M,
  ) {
    ensureCursorSeen(db);
    this.r = {
      lastId: db.prepare(`SELECT COALESCE(MAX(id), 0) FROM messages`).pluck(),
      count: db.prepare(`SELECT COUNT(*) FROM messages`).pluck(),
      catchUp: db.prepare(
        `SELECT ${columns} FROM messages
         WHERE id > @after AND id <= @upTo
           AND ((recipient IS NULL AND room IN (SELECT value FROM json_each(@rooms)))
                OR recipient = @user OR (recipient IS NOT NULL AND username = @user))
         ORDER BY id LIMIT @limit`,
      ),
      historyBefore: db.prepare(`SELECT ${columns} FROM messages WHERE room = ? AND recipient IS NULL AND id < ? ORDER BY id DESC LIMIT ?`),
      historyLatest: db.prepare(`SELECT ${columns} FROM messages WHERE room = ? AND recipient IS NULL ORDER BY id DESC LIMIT ?`),
      page: db.prepare(`SELECT ${columns} FROM messages WHERE room = ? AND recipient IS NULL AND id > ? ORDER BY id LIMIT ?`),
      // Through the recipient index: a first hello must cost the same however big the store is.
      direct: db.prepare(
        `SELECT ${columns} FROM messages
         WHERE recipient = @user AND id > @after AND id <= @upTo AND (@since IS NULL OR ts >= @since)
         ORDER BY id LIMIT @limit`,
      ),
      getCursor: db.prepare(`SELECT last_id FROM cursors WHERE username = ?`).pluck(),
      setCursor: db.prepare(
        `INSERT INTO cursors (username, last_id, seen) VALUES (?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET last_id = MAX(last_id, excluded.last_id), seen = MAX(seen, excluded.seen)`,
      ),
      touch: db.prepare(`UPDATE cursors SET seen = MAX(seen, @now) WHERE username IN (SELECT value FROM json_each(@online))`),
      prune: db.prepare(`DELETE FROM cursors WHERE seen < ?`),
    };
  }

  lastIdSync(): number {
    return this.r.lastId.get() as number;
  }
  historySync(room: string, before: number | null, limit: number): M[] {
    const rows = (before === null ? this.r.historyLatest.all(room, limit) : this.r.historyBefore.all(room, before, limit)) as R[];
    return rows.reverse().map(this.fromRow);
  }

  async lastId(): Promise<number> {
    return this.lastIdSync();
  }
  async count(): Promise<number> {
    return this.r.count.get() as number;
  }
  async catchUp(q: CatchUpQuery): Promise<M[]> {
    const rows = this.r.catchUp.all({ after: q.afterId, upTo: q.upToId, rooms: JSON.stringify(q.rooms), user: q.username, limit: q.limit }) as R[];
    return rows.map(this.fromRow);
  }
  async history(room: string, before: number | null, limit: number): Promise<M[]> {
    return this.historySync(room, before, limit);
  }
  async page(room: string, afterId: number, limit: number): Promise<M[]> {
    return (this.r.page.all(room, afterId, limit) as R[]).map(this.fromRow);
  }
  async directMessages(q: DirectQuery): Promise<M[]> {
    const rows = this.r.direct.all({ user: q.username, after: q.afterId, upTo: q.upToId, since: q.sinceTimestamp, limit: q.limit }) as R[];
    return rows.map(this.fromRow);
  }
  async getCursor(username: string): Promise<number | null> {
    return (this.r.getCursor.get(username) as number | undefined) ?? null;
  }
  async setCursors(entries: ReadonlyArray<readonly [string, number]>, seenAt = Date.now() / 1000): Promise<void> {
    this.db.transaction(() => {
      for (const [u, id] of entries) this.r.setCursor.run(u, id, seenAt);
    })();
  }
  async pruneUsers(q: PruneQuery): Promise<number> {
    return this.db.transaction(() => {
      if (q.online.length > 0) this.r.touch.run({ now: q.now, online: JSON.stringify(q.online) });
      return this.r.prune.run(q.before).changes;
    })();
  }
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
