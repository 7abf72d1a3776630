/**
 * Accounts in the server's SQLite file (the same `--db` as the messages), in tables of their
 * own. The message store counts its migrations in PRAGMA user_version; ours are counted in
 * `auth_meta` so the two never step on each other, whichever opens the file first.
 * A connection of its own (WAL lets `lab93 user add` write while the server runs).
 */
import type Database from 'better-sqlite3';
import { openSqlite } from '../store/sqlite-base.js';
import type { Account, AccountStore, NewAccount } from './types.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE accounts (
     key        TEXT PRIMARY KEY,
     name       TEXT NOT NULL,
     skeleton   TEXT NOT NULL UNIQUE,
     password   TEXT NOT NULL,
     operator   INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     generation INTEGER NOT NULL DEFAULT 1
   );
   CREATE TABLE account_tokens (
     hash        TEXT PRIMARY KEY,
     account_key TEXT NOT NULL,
     created_at  INTEGER NOT NULL,
     used_at     INTEGER
   );
   CREATE INDEX account_tokens_key ON account_tokens(account_key, created_at);
   INSERT INTO auth_meta (k, v) VALUES ('version', 0);`,
];

interface Row {
  key: string; name: string; skeleton: string; password: string; operator: number; created_at: number; generation: number; tokens: number;
}

const SELECT = `SELECT a.key, a.name, a.skeleton, a.password, a.operator, a.created_at, a.generation,
                       (SELECT COUNT(*) FROM account_tokens t WHERE t.account_key = a.key) AS tokens
                FROM accounts a`;

function fromRow(r: Row): Account {
  return { name: r.name, key: r.key, skeleton: r.skeleton, operator: r.operator === 1, createdAt: r.created_at, generation: r.generation, tokens: r.tokens };
}

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS auth_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`);
  db.transaction(() => {
    const done = (db.prepare(`SELECT v FROM auth_meta WHERE k = 'schema'`).pluck().get() as number | undefined) ?? 0;
    for (let v = done; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.prepare(`INSERT INTO auth_meta (k, v) VALUES ('schema', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`).run(MIGRATIONS.length);
  }).immediate();
}

export class SqliteAccountStore implements AccountStore {
  private readonly db: Database.Database;
  private readonly q;

  /** Opens (and migrates) the accounts tables in the SQLite file at `path`. */
  constructor(path: string) {
    this.db = openSqlite(path, 'full');
    migrate(this.db);
    const db = this.db;
    this.q = {
      get: db.prepare(`${SELECT} WHERE a.key = ?`),
      bySkeleton: db.prepare(`${SELECT} WHERE a.skeleton = ?`),
      list: db.prepare(`${SELECT} ORDER BY a.key`),
      insert: db.prepare(`INSERT INTO accounts (key, name, skeleton, password, operator, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
      setPassword: db.prepare(`UPDATE accounts SET password = ?, generation = generation + 1 WHERE key = ?`),
      setOperator: db.prepare(`UPDATE accounts SET operator = ? WHERE key = ?`),
      delete: db.prepare(`DELETE FROM accounts WHERE key = ?`),
      bumpGeneration: db.prepare(`UPDATE accounts SET generation = generation + 1 WHERE key = ?`),
      dropTokens: db.prepare(`DELETE FROM account_tokens WHERE account_key = ?`),
      addToken: db.prepare(`INSERT INTO account_tokens (hash, account_key, created_at) SELECT ?, key, ? FROM accounts WHERE key = ?`),
      trimTokens: db.prepare(
        `DELETE FROM account_tokens WHERE account_key = @key AND hash NOT IN
           (SELECT hash FROM account_tokens WHERE account_key = @key ORDER BY rowid DESC LIMIT @keep)`,
      ),
      useToken: db.prepare(`UPDATE account_tokens SET used_at = ? WHERE hash = ? RETURNING account_key`).pluck(),
      version: db.prepare(`SELECT v FROM auth_meta WHERE k = 'version'`).pluck(),
      bump: db.prepare(`UPDATE auth_meta SET v = v + 1 WHERE k = 'version'`),
    };
  }

  /** Runs a change and bumps the version counter in one transaction. */
  private change<T>(fn: () => T): T {
    return this.db.transaction(() => {
      const out = fn();
      this.q.bump.run();
      return out;
    }).immediate();
  }

  async create(a: NewAccount): Promise<'ok' | 'taken'> {
    return this.change(() => (this.q.insert.run(a.key, a.name, a.skeleton, a.passwordHash, a.operator ? 1 : 0, a.createdAt).changes === 1 ? 'ok' : 'taken'));
  }

  async get(key: string): Promise<(Account & { passwordHash: string }) | null> {
    const r = this.q.get.get(key) as Row | undefined;
    return r ? { ...fromRow(r), passwordHash: r.password } : null;
  }

  async bySkeleton(skeleton: string): Promise<Account | null> {
    const r = this.q.bySkeleton.get(skeleton) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  async list(): Promise<Account[]> {
    return (this.q.list.all() as Row[]).map(fromRow);
  }

  async setPassword(key: string, passwordHash: string): Promise<boolean> {
    return this.change(() => {
      if (this.q.setPassword.run(passwordHash, key).changes === 0) return false;
      this.q.dropTokens.run(key);
      return true;
    });
  }

  async setOperator(key: string, operator: boolean): Promise<boolean> {
    return this.change(() => this.q.setOperator.run(operator ? 1 : 0, key).changes === 1);
  }

  async delete(key: string): Promise<boolean> {
    return this.change(() => {
      this.q.dropTokens.run(key);
      return this.q.delete.run(key).changes === 1;
    });
  }

  async addToken(key: string, tokenHash: string, now: number, keep: number): Promise<void> {
    this.change(() => {
      this.q.addToken.run(tokenHash, now, key);
      this.q.trimTokens.run({ key, keep: Math.max(keep, 0) });
    });
  }

  async useToken(tokenHash: string, now: number): Promise<string | null> {
    // Not a change others need to reload for: no version bump.
    return (this.q.useToken.get(now, tokenHash) as string | undefined) ?? null;
  }

  async revokeTokens(key: string): Promise<number> {
    return this.change(() => {
      if (this.q.bumpGeneration.run(key).changes === 0) return -1;
      return this.q.dropTokens.run(key).changes;
    });
  }

  async version(): Promise<number> {
    return this.q.version.get() as number;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
