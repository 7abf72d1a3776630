/**
 * Accounts in the cluster's PostgreSQL database (the servers' `--store`), in the same schema as
 * the messages but in tables of their own, with their own migration counter (`auth_meta`), so
 * the message store's `schema_version` is untouched. Same semantics as SqliteAccountStore: the
 * contract suite in test/contract/account-store-contract.ts runs against both.
 *
 * Loaded only by createAccountStore() when the driver is 'postgres'.
 */
import pg from 'pg';
import { lockAndCreateSchema, openPool, parsePostgresUrl, quoteIdent, transaction } from '../store/postgres.js';
import type { Account, AccountStore, NewAccount } from './types.js';

function migrations(s: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.accounts (
       key        TEXT PRIMARY KEY,
       name       TEXT NOT NULL,
       skeleton   TEXT NOT NULL UNIQUE,
       password   TEXT NOT NULL,
       operator   BOOLEAN NOT NULL DEFAULT false,
       created_at BIGINT NOT NULL,
       generation INTEGER NOT NULL DEFAULT 1
     );
     CREATE TABLE IF NOT EXISTS ${s}.account_tokens (
       id          BIGSERIAL,
       hash        TEXT PRIMARY KEY,
       account_key TEXT NOT NULL REFERENCES ${s}.accounts(key) ON DELETE CASCADE,
       created_at  BIGINT NOT NULL,
       used_at     BIGINT
     );
     CREATE INDEX IF NOT EXISTS account_tokens_key ON ${s}.account_tokens (account_key, created_at);
     INSERT INTO ${s}.auth_meta (k, v) VALUES ('version', 0) ON CONFLICT DO NOTHING;`,
  ];
}

interface Row {
  key: string; name: string; skeleton: string; password: string; operator: boolean; created_at: number; generation: number; tokens: number;
}

function fromRow(r: Row): Account {
  return { name: r.name, key: r.key, skeleton: r.skeleton, operator: r.operator, createdAt: r.created_at, generation: r.generation, tokens: r.tokens };
}

export interface PostgresAccountStoreOptions {
  /** postgres:// URL; a `?schema=` parameter is honoured. */
  connectionString: string;
  schema?: string;
  poolSize?: number;
}

export class PostgresAccountStore implements AccountStore {
  private closed = false;
  private readonly sql;

  private constructor(private readonly pool: pg.Pool, private readonly schema: string) {
    const s = quoteIdent(schema);
    const select = `SELECT a.key, a.name, a.skeleton, a.password, a.operator, a.created_at, a.generation,
                           (SELECT COUNT(*) FROM ${s}.account_tokens t WHERE t.account_key = a.key)::int AS tokens
                    FROM ${s}.accounts a`;
    this.sql = {
      get: `${select} WHERE a.key = $1`,
      bySkeleton: `${select} WHERE a.skeleton = $1`,
      list: `${select} ORDER BY a.key`,
      insert: `INSERT INTO ${s}.accounts (key, name, skeleton, password, operator, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      setPassword: `UPDATE ${s}.accounts SET password = $2, generation = generation + 1 WHERE key = $1`,
      setOperator: `UPDATE ${s}.accounts SET operator = $2 WHERE key = $1`,
      delete: `DELETE FROM ${s}.accounts WHERE key = $1`,
      bumpGeneration: `UPDATE ${s}.accounts SET generation = generation + 1 WHERE key = $1`,
      dropTokens: `DELETE FROM ${s}.account_tokens WHERE account_key = $1`,
      addToken: `INSERT INTO ${s}.account_tokens (hash, account_key, created_at) SELECT $1, key, $2 FROM ${s}.accounts WHERE key = $3`,
      trimTokens: `DELETE FROM ${s}.account_tokens WHERE account_key = $1 AND hash NOT IN
                     (SELECT hash FROM ${s}.account_tokens WHERE account_key = $1 ORDER BY id DESC LIMIT $2)`,
      useToken: `UPDATE ${s}.account_tokens SET used_at = $2 WHERE hash = $1 RETURNING account_key`,
      version: `SELECT v FROM ${s}.auth_meta WHERE k = 'version'`,
      bump: `UPDATE ${s}.auth_meta SET v = v + 1 WHERE k = 'version'`,
    };
  }

  static async open(o: PostgresAccountStoreOptions): Promise<PostgresAccountStore> {
    const url = parsePostgresUrl(o.connectionString);
    const schema = o.schema ?? url.schema ?? 'public';
    const pool = openPool(url.connectionString, o.poolSize ?? 4, 5000, 'lab93-accounts');
    const store = new PostgresAccountStore(pool, schema);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const s = quoteIdent(this.schema);
    const all = migrations(s);
    await transaction(this.pool, async (c) => {
      // The message store's lock: a server and `lab93 user` starting together create the schema once.
      await lockAndCreateSchema(c, this.schema);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.auth_meta (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`);
      const { rows } = await c.query<{ v: number }>(`SELECT v FROM ${s}.auth_meta WHERE k = 'schema'`);
      const done = rows[0]?.v ?? 0;
      for (let v = done; v < all.length; v++) await c.query(all[v]!);
      await c.query(`INSERT INTO ${s}.auth_meta (k, v) VALUES ('schema', $1) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, [all.length]);
    });
  }

  /** A change and the version bump in one transaction. */
  private change<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, async (c) => {
      const out = await fn(c);
      await c.query(this.sql.bump);
      return out;
    });
  }

  async create(a: NewAccount): Promise<'ok' | 'taken'> {
    return this.change(async (c) => {
      const r = await c.query(this.sql.insert, [a.key, a.name, a.skeleton, a.passwordHash, a.operator, a.createdAt]);
      return r.rowCount === 1 ? 'ok' : 'taken';
    });
  }

  async get(key: string): Promise<(Account & { passwordHash: string }) | null> {
    const r = (await this.pool.query<Row>(this.sql.get, [key])).rows[0];
    return r ? { ...fromRow(r), passwordHash: r.password } : null;
  }

  async bySkeleton(skeleton: string): Promise<Account | null> {
    const r = (await this.pool.query<Row>(this.sql.bySkeleton, [skeleton])).rows[0];
    return r ? fromRow(r) : null;
  }

  async list(): Promise<Account[]> {
    return (await this.pool.query<Row>(this.sql.list)).rows.map(fromRow);
  }

  async setPassword(key: string, passwordHash: string): Promise<boolean> {
    return this.change(async (c) => {
      if ((await c.query(this.sql.setPassword, [key, passwordHash])).rowCount === 0) return false;
      await c.query(this.sql.dropTokens, [key]);
      return true;
    });
  }

  async setOperator(key: string, operator: boolean): Promise<boolean> {
    return this.change(async (c) => (await c.query(this.sql.setOperator, [key, operator])).rowCount === 1);
  }

  async delete(key: string): Promise<boolean> {
    // The tokens go with the account (ON DELETE CASCADE).
    return this.change(async (c) => (await c.query(this.sql.delete, [key])).rowCount === 1);
  }

  async addToken(key: string, tokenHash: string, now: number, keep: number): Promise<void> {
    await this.change(async (c) => {
      await c.query(this.sql.addToken, [tokenHash, now, key]);
      await c.query(this.sql.trimTokens, [key, Math.max(keep, 0)]);
    });
  }

  async useToken(tokenHash: string, now: number): Promise<string | null> {
    const r = await this.pool.query<{ account_key: string }>(this.sql.useToken, [tokenHash, now]);
    return r.rows[0]?.account_key ?? null;
  }

  async revokeTokens(key: string): Promise<number> {
    return this.change(async (c) => {
      if ((await c.query(this.sql.bumpGeneration, [key])).rowCount === 0) return -1;
      return (await c.query(this.sql.dropTokens, [key])).rowCount ?? 0;
    });
  }

  async version(): Promise<number> {
    return (await this.pool.query<{ v: number }>(this.sql.version)).rows[0]?.v ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
