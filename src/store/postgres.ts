/**
 * PostgreSQL backend, for a cluster of lab93 servers sharing one room (docs/cluster.md).
 * Same semantics as SqliteStore (the contract suite in test/contract/store-contract.ts):
 * increasing ids, a repeated (username, uid) stored once and answered with the original row,
 * one transaction per batch (GroupCommit batches into it), cursors that only move forward.
 *
 * This module is loaded only by createStore() when the driver is 'postgres', so `pg` never
 * loads on the default (SQLite) path.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { AppendResult, CatchUpQuery, DirectQuery, MessageStore, NewMessage, PruneQuery, StoredMessage } from './types.js';

export interface PostgresStoreOptions {
  /** libpq-style URL, e.g. postgres://lab93@db-host:5432/lab93 (a `schema` query parameter is taken out first). */
  connectionString: string;
  /** Schema holding the tables; created when missing. Default "public". */
  schema?: string;
  /** Pooled connections per server (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before an operation fails (default 5000 ms). */
  connectTimeoutMs?: number;
  log?: Logger;
}

const COLUMNS = 'id, uid, username, room, recipient, subject, content, ts, remote, verified, to_account, action';

interface Row {
  id: number; uid: string | null; username: string; room: string; recipient: string | null;
  subject: string | null; content: string; ts: number; remote: string | null; verified: boolean; to_account: boolean; action: boolean;
}

function fromRow(r: Row): StoredMessage {
  const m: StoredMessage = { id: r.id, uid: r.uid, username: r.username, room: r.room, to: r.recipient, subject: r.subject, content: r.content, timestamp: r.ts, remote: r.remote, verified: r.verified, toAccount: r.to_account };
  if (r.action) m.action = true;
  return m;
}

/** Quotes an identifier (schema names come from configuration). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Migrations, applied in order; `schema_version` records how many ran. Each statement is also
 * idempotent on its own (IF NOT EXISTS), so a half-applied manual run does no harm.
 * Ids come from an explicit sequence, like BIGSERIAL, but append() draws them itself (see there).
 */
function migrations(s: string): string[] {
  return [
    `CREATE SEQUENCE IF NOT EXISTS ${s}.message_ids;
     CREATE TABLE IF NOT EXISTS ${s}.messages (
       id        BIGINT PRIMARY KEY DEFAULT nextval(${quoteLiteral(`${s}.message_ids`)}),
       uid       TEXT,
       username  TEXT NOT NULL,
       room      TEXT NOT NULL,
       recipient TEXT,
       subject   TEXT,
       content   TEXT NOT NULL,
       ts        DOUBLE PRECISION NOT NULL,
       remote    TEXT
     );
     ALTER SEQUENCE ${s}.message_ids OWNED BY ${s}.messages.id;
     -- NULL uids are distinct in a unique index: messages without uid are never deduplicated.
     CREATE UNIQUE INDEX IF NOT EXISTS messages_user_uid ON ${s}.messages (username, uid);
     CREATE INDEX IF NOT EXISTS messages_room ON ${s}.messages (room, id) WHERE recipient IS NULL;
     CREATE INDEX IF NOT EXISTS messages_recipient ON ${s}.messages (recipient, id) WHERE recipient IS NOT NULL;
     CREATE INDEX IF NOT EXISTS messages_dm_sender ON ${s}.messages (username, id) WHERE recipient IS NOT NULL;
     CREATE TABLE IF NOT EXISTS ${s}.cursors (username TEXT PRIMARY KEY, last_id BIGINT NOT NULL);`,
    // When each user was last seen (Unix seconds), for pruneUsers; existing rows count as seen now.
    `ALTER TABLE ${s}.cursors ADD COLUMN IF NOT EXISTS seen DOUBLE PRECISION NOT NULL DEFAULT 0;
     UPDATE ${s}.cursors SET seen = EXTRACT(EPOCH FROM now()) WHERE seen = 0;`,
    // Accounts (src/auth): who was logged in when it was sent. Existing rows become guests' messages.
    `ALTER TABLE ${s}.messages ADD COLUMN IF NOT EXISTS verified BOOLEAN NOT NULL DEFAULT false;
     ALTER TABLE ${s}.messages ADD COLUMN IF NOT EXISTS to_account BOOLEAN NOT NULL DEFAULT false;`,
    // Action lines (`/me`): a flag, false on every row written before it existed.
    `ALTER TABLE ${s}.messages ADD COLUMN IF NOT EXISTS action BOOLEAN NOT NULL DEFAULT false;`,
  ];
}

/** A pool whose BIGINTs arrive as numbers and whose broken idle connections are dropped, not fatal. Shared with src/auth/postgres.ts. */
export function openPool(connectionString: string, max: number, connectTimeoutMs: number, applicationName: string, log?: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: applicationName,
    // Ids and counts are BIGINT (int8), which pg hands over as strings; ours stay far below 2^53.
    types: { getTypeParser: ((oid: number, format?: string) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as never },
  });
  // An idle pooled connection that breaks (server restart) must not crash the process:
  // the pool drops it and the next query opens a new one.
  pool.on('error', (err) => log?.warn({ err: err.message }, 'postgres: idle connection lost'));
  return pool;
}

/** Runs `fn` in one transaction on a pooled connection; a connection that broke is destroyed, not pooled again. */
export async function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const c = await pool.connect();
  // A checked-out client whose connection dies emits 'error' besides failing its query; the
  // pool listens only while a client is idle, and an unheard 'error' would end the process.
  let lost: Error | null = null;
  const onError = (err: Error): void => {
    lost = err;
  };
  c.on('error', onError);
  try {
    await c.query(begin);
    const out = await fn(c);
    await c.query('COMMIT');
    c.off('error', onError);
    c.release();
    return out;
  } catch (err) {
    // A broken connection is destroyed (release with an error) instead of going back to the pool.
    const broken = lost !== null || (await c.query('ROLLBACK').then(() => false, () => true));
    c.off('error', onError);
    c.release(broken ? (err as Error) : undefined);
    throw err;
  }
}

/**
 * Inside a migration's transaction: serialises on a lock named after the schema (two servers,
 * or a server and `lab93 user`, starting together), then creates the schema when missing.
 */
export async function lockAndCreateSchema(c: pg.PoolClient, schema: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`lab93:${schema}`]);
  // Only when missing: CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT EXISTS.
  const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount === 0) await c.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
}

/** Splits `?schema=` off a connection URL; the rest goes to pg unchanged. */
export function parsePostgresUrl(url: string): { connectionString: string; schema?: string } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  return schema ? { connectionString: u.toString(), schema } : { connectionString: u.toString() };
}

export class PostgresStore implements MessageStore {
  private closed = false;
  private readonly s: string;
  private readonly sql;

  private constructor(private readonly pool: pg.Pool, readonly schema: string) {
    const s = (this.s = quoteIdent(schema));
    this.sql = {
      // EXCLUSIVE blocks other appends (every writer of this table) but not plain SELECTs.
      begin: `BEGIN; LOCK TABLE ${s}.messages IN EXCLUSIVE MODE`,
      existing: `SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')} FROM ${s}.messages m
                 JOIN unnest($1::text[], $2::text[]) AS k(username, uid) ON m.username = k.username AND m.uid = k.uid`,
      ids: `SELECT nextval(${quoteLiteral(`${s}.message_ids`)}) AS id FROM generate_series(1, $1::int)`,
      insert: `INSERT INTO ${s}.messages (id, uid, username, room, recipient, subject, content, ts, remote, verified, to_account, action)
               SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::text[], $10::bool[], $11::bool[], $12::bool[])`,
      lastId: `SELECT COALESCE(MAX(id), 0)::int8 AS id FROM ${s}.messages`,
      count: `SELECT COUNT(*)::int8 AS n FROM ${s}.messages`,
      catchUp: `SELECT ${COLUMNS} FROM ${s}.messages
                WHERE id > $1 AND id <= $2
                  AND ((recipient IS NULL AND room = ANY($3::text[])) OR recipient = $4 OR (recipient IS NOT NULL AND username = $4))
                ORDER BY id LIMIT $5`,
      historyBefore: `SELECT ${COLUMNS} FROM ${s}.messages WHERE room = $1 AND recipient IS NULL AND id < $2 ORDER BY id DESC LIMIT $3`,
      historyLatest: `SELECT ${COLUMNS} FROM ${s}.messages WHERE room = $1 AND recipient IS NULL ORDER BY id DESC LIMIT $2`,
      page: `SELECT ${COLUMNS} FROM ${s}.messages WHERE room = $1 AND recipient IS NULL AND id > $2 ORDER BY id LIMIT $3`,
      range: `SELECT ${COLUMNS} FROM ${s}.messages WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3`,
      direct: `SELECT ${COLUMNS} FROM ${s}.messages
               WHERE recipient = $1 AND id > $2 AND id <= $3 AND ($4::float8 IS NULL OR ts >= $4::float8)
               ORDER BY id LIMIT $5`,
      getCursor: `SELECT last_id FROM ${s}.cursors WHERE username = $1`,
      setCursors: `INSERT INTO ${s}.cursors (username, last_id, seen) SELECT u, l, $3::float8 FROM unnest($1::text[], $2::int8[]) AS t(u, l)
                   ON CONFLICT (username) DO UPDATE SET last_id = GREATEST(${s}.cursors.last_id, excluded.last_id),
                                                        seen = GREATEST(${s}.cursors.seen, excluded.seen)`,
      // Rows locked in username order, as setCursors does, so two servers pruning cannot deadlock.
      touch: `UPDATE ${s}.cursors SET seen = GREATEST(seen, $1::float8)
              WHERE username IN (SELECT username FROM ${s}.cursors WHERE username = ANY($2::text[]) ORDER BY username FOR UPDATE)`,
      prune: `DELETE FROM ${s}.cursors WHERE seen < $1::float8`,
    };
  }

  /** Connects, creates the schema and tables when missing, and returns a ready store. */
  static async open(o: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = o.schema ?? 'public';
    const pool = openPool(o.connectionString, o.poolSize ?? 10, o.connectTimeoutMs ?? 5000, 'lab93', o.log);
    const store = new PostgresStore(pool, schema);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const s = this.s;
    const all = migrations(s);
    await this.tx(async (c) => {
      await lockAndCreateSchema(c, this.schema);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version INT NOT NULL)`);
      const { rows } = await c.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${s}.schema_version`);
      for (let v = rows[0]!.v; v < all.length; v++) {
        await c.query(all[v]!);
        await c.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [v + 1]);
      }
    });
  }

  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return transaction(this.pool, fn, begin);
  }

  /**
   * One transaction per batch. Ids are drawn under a table lock that every append takes, so ids
   * are committed in increasing order across the whole cluster: when a reader sees id N, every
   * id below N that will ever exist is already visible. Catch-up relies on that: it streams
   * (since, lastId] and drops live messages at or below lastId; with plain concurrent BIGSERIAL
   * inserts, a smaller id could commit after a larger one was read and be lost to both paths.
   * The lock costs one commit at a time cluster-wide, which group commit turns into batches.
   */
  async append(batch: NewMessage[]): Promise<AppendResult[]> {
    if (batch.length === 0) return [];
    return this.tx(async (c) => {
      const out: AppendResult[] = new Array(batch.length);
      // (username, uid) -> index of its first occurrence in this batch, or the stored original.
      const key = (u: string, uid: string): string => `${u.length}:${u}${uid}`;
      const firstInBatch = new Map<string, number>();
      const keyUsers: string[] = [];
      const keyUids: string[] = [];
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i]!;
        if (m.uid === null) continue;
        const k = key(m.username, m.uid);
        if (firstInBatch.has(k)) continue;
        firstInBatch.set(k, i);
        keyUsers.push(m.username);
        keyUids.push(m.uid);
      }
      const stored = new Map<string, StoredMessage>();
      if (keyUsers.length > 0) {
        const { rows } = await c.query<Row>(this.sql.existing, [keyUsers, keyUids]);
        for (const r of rows) stored.set(key(r.username, r.uid!), fromRow(r));
      }
      const fresh: number[] = [];
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i]!;
        if (m.uid !== null && (stored.has(key(m.username, m.uid)) || firstInBatch.get(key(m.username, m.uid)) !== i)) continue;
        fresh.push(i);
      }
      if (fresh.length > 0) {
        const { rows } = await c.query<{ id: number }>(this.sql.ids, [fresh.length]);
        const ids = rows.map((r) => r.id).sort((a, b) => a - b);
        const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], [], [], []];
        fresh.forEach((i, j) => {
          const m = batch[i]!;
          const message: StoredMessage = { id: ids[j]!, uid: m.uid, username: m.username, room: m.room, to: m.to, subject: m.subject, content: m.content, timestamp: m.timestamp, remote: m.remote ?? null, verified: m.verified === true, toAccount: m.toAccount === true };
          if (m.action) message.action = true;
          out[i] = { message, duplicate: false };
          const vals = [message.id, m.uid, m.username, m.room, m.to, m.subject, m.content, m.timestamp, message.remote, message.verified, message.toAccount, m.action === true];
          for (let k = 0; k < vals.length; k++) cols[k]!.push(vals[k]);
        });
        await c.query(this.sql.insert, cols);
      }
      for (let i = 0; i < batch.length; i++) {
        if (out[i]) continue;
        const m = batch[i]!;
        const k = key(m.username, m.uid!);
        out[i] = { message: stored.get(k) ?? out[firstInBatch.get(k)!]!.message, duplicate: true };
      }
      return out;
    }, this.sql.begin);
  }

  async lastId(): Promise<number> {
    return (await this.pool.query<{ id: number }>(this.sql.lastId)).rows[0]!.id;
  }

  async count(): Promise<number> {
    return (await this.pool.query<{ n: number }>(this.sql.count)).rows[0]!.n;
  }

  async catchUp(q: CatchUpQuery): Promise<StoredMessage[]> {
    const { rows } = await this.pool.query<Row>(this.sql.catchUp, [q.afterId, q.upToId, q.rooms, q.username, q.limit]);
    return rows.map(fromRow);
  }

  async history(room: string, before: number | null, limit: number): Promise<StoredMessage[]> {
    const { rows } = before === null
      ? await this.pool.query<Row>(this.sql.historyLatest, [room, limit])
      : await this.pool.query<Row>(this.sql.historyBefore, [room, before, limit]);
    return rows.reverse().map(fromRow);
  }

  async page(room: string, afterId: number, limit: number): Promise<StoredMessage[]> {
    return (await this.pool.query<Row>(this.sql.page, [room, afterId, limit])).rows.map(fromRow);
  }

  async range(afterId: number, upToId: number, limit: number): Promise<StoredMessage[]> {
    return (await this.pool.query<Row>(this.sql.range, [afterId, upToId, limit])).rows.map(fromRow);
  }

  async directMessages(q: DirectQuery): Promise<StoredMessage[]> {
    const { rows } = await this.pool.query<Row>(this.sql.direct, [q.username, q.afterId, q.upToId, q.sinceTimestamp, q.limit]);
    return rows.map(fromRow);
  }

  async getCursor(username: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ last_id: number }>(this.sql.getCursor, [username]);
    return rows[0]?.last_id ?? null;
  }

  async setCursors(entries: ReadonlyArray<readonly [string, number]>, seenAt = Date.now() / 1000): Promise<void> {
    // One row per user (ON CONFLICT may not touch a row twice), sorted so that two servers
    // flushing overlapping users lock the rows in the same order and cannot deadlock.
    const best = new Map<string, number>();
    for (const [u, id] of entries) best.set(u, Math.max(id, best.get(u) ?? id));
    if (best.size === 0) return;
    const users = [...best.keys()].sort();
    await this.pool.query(this.sql.setCursors, [users, users.map((u) => best.get(u)!), seenAt]);
  }

  async pruneUsers(q: PruneQuery): Promise<number> {
    return this.tx(async (c) => {
      if (q.online.length > 0) await c.query(this.sql.touch, [q.now, q.online]);
      return (await c.query(this.sql.prune, [q.before])).rowCount ?? 0;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
