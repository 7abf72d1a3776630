/**
 * The account store interface. Accounts live in the server's database, beside the messages but
 * in tables of their own (`accounts`, `account_tokens`, `auth_meta`) with their own migration
 * counter, so the message store's schema version is untouched. Every backend (SQLite,
 * PostgreSQL) passes the contract suite in test/contract/account-store-contract.ts.
 */

/** What the server and `lab93 user list` may know of an account (never the hash). */
export interface Account {
  /** The name as registered (NFKC), as shown in messages. */
  name: string;
  /** Case-folded name: the identity (see names.ts). */
  key: string;
  /** TR39 skeleton: unique too, so no two accounts look alike. */
  skeleton: string;
  operator: boolean;
  /** Unix milliseconds. */
  createdAt: number;
  /**
   * Bumped by a new password, by `user logout` and at creation: a session logged in under an
   * older generation is ended by the server (src/auth/gate.ts).
   */
  generation: number;
  /** Live tokens (not revoked). */
  tokens: number;
}

export interface NewAccount {
  name: string;
  key: string;
  skeleton: string;
  /** The PHC string from password.ts. */
  passwordHash: string;
  operator: boolean;
  createdAt: number;
}

export interface AccountStore {
  /** Creates an account; 'taken' when its key or skeleton is already registered. */
  create(a: NewAccount): Promise<'ok' | 'taken'>;
  /** The account with this key, with its password hash. */
  get(key: string): Promise<(Account & { passwordHash: string }) | null>;
  /** The account whose skeleton this is (a look-alike of the name asked about). */
  bySkeleton(skeleton: string): Promise<Account | null>;
  list(): Promise<Account[]>;
  /** Sets a new password hash, revokes every token and bumps the generation; false when no such account. */
  setPassword(key: string, passwordHash: string): Promise<boolean>;
  setOperator(key: string, operator: boolean): Promise<boolean>;
  /** Deletes the account and its tokens; false when there was none. */
  delete(key: string): Promise<boolean>;
  /** Stores a token hash for the account, keeping at most `keep` newest tokens. */
  addToken(key: string, tokenHash: string, now: number, keep: number): Promise<void>;
  /** The account key a token hash belongs to (and records its use), or null. */
  useToken(tokenHash: string, now: number): Promise<string | null>;
  /** Revokes every token of the account and bumps its generation; the number revoked, or -1 when no such account. */
  revokeTokens(key: string): Promise<number>;
  /**
   * A counter bumped by every change to accounts or tokens, so a server can poll it cheaply and
   * reload only when another process (`lab93 user …`, another server of a cluster) changed something.
   */
  version(): Promise<number>;
  close(): Promise<void>;
}

export interface AccountStoreConfig {
  driver: 'sqlite' | 'postgres' | 'memory';
  /** SQLite file (the server's --db) or PostgreSQL URL (`?schema=` allowed). */
  path?: string;
  /** PostgreSQL schema (overrides `?schema=`). */
  schema?: string;
}
