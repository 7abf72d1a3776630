/**
 * The client's local SQLite history for one server (clientDbPath(host, port)): what was said,
 * the outbox of messages not acknowledged yet, and per user the last server id received, so that
 * only what was missed is asked for.
 *
 * The original client kept ~/.local/lab-93.db with username, subject, timestamp and message;
 * those columns keep their names here, next to id, room, "to" and uid.
 * WAL with synchronous=NORMAL: a commit survives the process being killed (only a power cut may
 * lose the last ones), and a pipe of many lines does not cost an fsync each.
 */
import type Database from 'better-sqlite3';
import { migrate, openSqlite } from '../store/sqlite.js';
import type { ChatMessage } from './backend.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE messages (
     seq       INTEGER PRIMARY KEY AUTOINCREMENT,
     id        INTEGER UNIQUE,          -- the server's id; NULL once the server's store was reset
     uid       TEXT,
     username  TEXT NOT NULL,
     subject   TEXT,
     timestamp REAL NOT NULL,           -- Unix seconds
     message   TEXT NOT NULL,           -- the content (the original's column name)
     room      TEXT NOT NULL,
     "to"      TEXT
   );
   CREATE INDEX messages_time ON messages(timestamp, seq);
   CREATE INDEX messages_room_time ON messages(room, timestamp, seq);
   CREATE TABLE outbox (
     uid      TEXT PRIMARY KEY,
     username TEXT NOT NULL,
     packet   TEXT NOT NULL,            -- the message packet as JSON, sent again as it is
     created  REAL NOT NULL
   );
   CREATE TABLE cursors (username TEXT PRIMARY KEY, last_id INTEGER NOT NULL);`,
  // Action lines (/me), a flag as on the server: 0 on rows written before it existed.
  `ALTER TABLE messages ADD COLUMN action INTEGER NOT NULL DEFAULT 0;`,
];

interface Row {
  id: number | null; uid: string | null; username: string; subject: string | null;
  timestamp: number; message: string; room: string; to: string | null; seq: number; action: number;
}

const COLS = `id, uid, username, subject, timestamp, message, room, "to", seq, action`;

function toChat(r: Row): ChatMessage {
  const m: ChatMessage = {
    key: r.id !== null ? `r:${r.id}` : `l:${r.seq}`,
    id: r.id, uid: r.uid, username: r.username, subject: r.subject, content: r.message,
    room: r.room, to: r.to, timestamp: r.timestamp,
  };
  if (r.action) m.action = true;
  return m;
}

/** A message packet waiting in the outbox. */
export interface OutboxEntry {
  uid: string;
  packet: { type: 'message'; uid: string; content: string; subject: string | null; room: string; to: string | null; action?: true };
  created: number;
}

export class LocalStore {
  readonly db: Database.Database;
  private readonly s;

  /** Opens (creating) the file; ":memory:" keeps nothing, for one-shot commands. */
  constructor(readonly path: string) {
    this.db = openSqlite(path, 'normal');
    migrate(this.db, MIGRATIONS);
    const db = this.db;
    this.s = {
      insert: db.prepare(
        `INSERT INTO messages (id, uid, username, subject, timestamp, message, room, "to", action)
         VALUES (@id, @uid, @username, @subject, @timestamp, @content, @room, @to, @action)
         ON CONFLICT (id) DO NOTHING`,
      ),
      has: db.prepare(`SELECT 1 FROM messages WHERE id = ?`).pluck(),
      recent: db.prepare(`SELECT ${COLS} FROM messages ORDER BY timestamp DESC, seq DESC LIMIT ?`),
      recentRoom: db.prepare(`SELECT ${COLS} FROM messages WHERE room = ? AND "to" IS NULL ORDER BY timestamp DESC, seq DESC LIMIT ?`),
      count: db.prepare(`SELECT COUNT(*) FROM messages`).pluck(),
      outboxAdd: db.prepare(`INSERT OR IGNORE INTO outbox (uid, username, packet, created) VALUES (?, ?, ?, ?)`),
      outboxDel: db.prepare(`DELETE FROM outbox WHERE uid = ?`),
      outboxAll: db.prepare(`SELECT uid, packet, created FROM outbox WHERE username = ? ORDER BY created, rowid`),
      getCursor: db.prepare(`SELECT last_id FROM cursors WHERE username = ?`).pluck(),
      setCursor: db.prepare(
        `INSERT INTO cursors (username, last_id) VALUES (?, ?)
         ON CONFLICT (username) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)`,
      ),
    };
  }

  /** Adds a message from the server (or our own, once acknowledged). False when its id is known already. */
  add(m: ChatMessage): boolean {
    const r = this.s.insert.run({ id: m.id, uid: m.uid, username: m.username, subject: m.subject, timestamp: m.timestamp, content: m.content, room: m.room, to: m.to, action: m.action ? 1 : 0 });
    return r.changes > 0;
  }

  /**
   * Adds many in one transaction (a history page, a batch of the backlog); returns the ones that
   * were new. With `cursorFor`, "new" is new to that user: also a message someone else using this
   * file stored first (a script and a person of one account share it), when its id is past the
   * user's cursor; and that user's cursor advances to the highest id of the batch in the same
   * transaction: the cursor never runs ahead of what is stored.
   */
  addMany(ms: ChatMessage[], cursorFor?: string): ChatMessage[] {
    return this.db.transaction(() => {
      const before = cursorFor === undefined ? null : this.lastSeen(cursorFor);
      const taken = new Set<number>();
      const fresh = ms.filter((m) => {
        const inserted = this.add(m);
        // The user's own messages are stored when acknowledged: never new again.
        const isNew = inserted || (cursorFor !== undefined && m.id !== null && m.username !== cursorFor && !taken.has(m.id) && (before === null || m.id > before));
        if (isNew && m.id !== null) taken.add(m.id);
        return isNew;
      });
      if (cursorFor !== undefined) {
        let top = -1;
        for (const m of ms) if (m.id !== null && m.id > top) top = m.id;
        if (top >= 0) this.s.setCursor.run(cursorFor, top);
      }
      return fresh;
    })();
  }

  has(id: number): boolean {
    return this.s.has.get(id) !== undefined;
  }

  /** The newest `limit` messages, oldest first. */
  recent(limit: number): ChatMessage[] {
    return (this.s.recent.all(limit) as Row[]).reverse().map(toChat);
  }

  /** The newest `limit` messages of a room (direct messages left out), oldest first. */
  recentRoom(room: string, limit: number): ChatMessage[] {
    return (this.s.recentRoom.all(room, limit) as Row[]).reverse().map(toChat);
  }

  count(): number {
    return this.s.count.get() as number;
  }

  // ---- outbox -----------------------------------------------------------------------------
  outboxAdd(username: string, e: OutboxEntry): void {
    this.s.outboxAdd.run(e.uid, username, JSON.stringify(e.packet), e.created);
  }

  outboxRemove(uid: string): void {
    this.s.outboxDel.run(uid);
  }

  /** This user's queued messages, oldest first. */
  outbox(username: string): OutboxEntry[] {
    return (this.s.outboxAll.all(username) as Array<{ uid: string; packet: string; created: number }>).map((r) => ({
      uid: r.uid,
      packet: JSON.parse(r.packet) as OutboxEntry['packet'],
      created: r.created,
    }));
  }

  /** Stores a message we sent, now acknowledged, and takes it out of the outbox, in one transaction. */
  acknowledge(m: ChatMessage): void {
    this.db.transaction(() => {
      this.add(m);
      if (m.uid !== null) this.s.outboxDel.run(m.uid);
    })();
  }

  // ---- cursor -----------------------------------------------------------------------------
  /** The highest server id this user's client provably holds everything up to, or null. */
  lastSeen(username: string): number | null {
    return (this.s.getCursor.get(username) as number | undefined) ?? null;
  }

  /** Advances (never lowers) the cursor. */
  setLastSeen(username: string, id: number): void {
    this.s.setCursor.run(username, id);
  }

  /**
   * The server's store was reset (its last id is below ours): its ids now name other messages.
   * Our rows are kept as history but lose their ids, so they neither dedupe nor collide with the
   * new ones, and every cursor goes back to 0: everything the new store holds is new to us.
   */
  serverReset(): void {
    this.db.transaction(() => {
      this.db.exec(`UPDATE messages SET id = NULL WHERE id IS NOT NULL; UPDATE cursors SET last_id = 0;`);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
