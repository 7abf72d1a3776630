/**
 * The message store interface. Every backend (SQLite now, PostgreSQL later) passes the shared
 * contract suite in test/contract/store-contract.ts, which encodes the protocol's promises:
 * ids increase, a repeated (username, uid) is stored once, acknowledged means stored,
 * catch-up returns exactly what was missed, history pages backwards.
 */
export interface NewMessage {
  uid: string | null;
  username: string;
  room: string;
  /** Recipient of a direct message, or null for a room message. */
  to: string | null;
  subject: string | null;
  content: string;
  /** Unix seconds (float) when the server accepted it. */
  timestamp: number;
  /** Peer address it came from, for the operator (never sent to clients). */
  remote?: string | null;
  /** Sent by a connection logged into the sender's account (docs/protocol.md, "Accounts"). */
  verified?: boolean;
  /**
   * A direct message to a registered account: only connections logged into that account may
   * receive it, live or in catch-up, even if the account is deleted and a guest takes the name.
   */
  toAccount?: boolean;
  /** An action line (`/me`); stored as a flag, absent (or false) on ordinary messages. */
  action?: boolean;
}

export interface StoredMessage extends NewMessage {
  id: number;
}

export interface AppendResult {
  message: StoredMessage;
  /** True when (username, uid) was stored before: `message` is then the original. */
  duplicate: boolean;
}

export interface CatchUpQuery {
  username: string;
  rooms: string[];
  /** Exclusive lower bound. */
  afterId: number;
  /** Inclusive upper bound (the last id when catch-up began). */
  upToId: number;
  limit: number;
}

/** Direct messages addressed to one user, for a user's first hello (docs/protocol.md, "Cursors"). */
export interface DirectQuery {
  username: string;
  /** Exclusive lower bound. */
  afterId: number;
  /** Inclusive upper bound. */
  upToId: number;
  /** Only messages stored at or after this time (Unix seconds); null for all. */
  sinceTimestamp: number | null;
  limit: number;
}

/** Which per-user rows to forget: those of users not seen since `before`, sparing `online`. */
export interface PruneQuery {
  /** Unix seconds: users last seen before this are forgotten. */
  before: number;
  /** Unix seconds: the time the `online` users are stamped as seen. */
  now: number;
  /** Users connected right now: stamped as seen, never pruned (another server may prune otherwise). */
  online: readonly string[];
}

export interface MessageStore {
  /** Stores a batch in one transaction; resolves only once it is durable. Results are in input order. */
  append(batch: NewMessage[]): Promise<AppendResult[]>;
  /** The highest id stored, 0 when empty. */
  lastId(): Promise<number>;
  /** Room messages of `rooms` plus direct messages to or from `username`, ascending by id. */
  catchUp(q: CatchUpQuery): Promise<StoredMessage[]>;
  /** The newest `limit` room messages with id < before (or the newest overall), ascending by id. */
  history(room: string, before: number | null, limit: number): Promise<StoredMessage[]>;
  /** Room messages with id > afterId, ascending, at most `limit`: for streaming a whole room. */
  page(room: string, afterId: number, limit: number): Promise<StoredMessage[]>;
  /** Number of stored messages. */
  count(): Promise<number>;
  /**
   * Every message with afterId < id <= upToId, any room or recipient, ascending, at most `limit`.
   * Optional: stores shared by a cluster (PostgreSQL) have it, and the cluster bus reads the
   * messages its wire lost or reordered from it (src/bus/sequencer.ts).
   */
  range?(afterId: number, upToId: number, limit: number): Promise<StoredMessage[]>;
  /** Direct messages to `username` (not from), ascending by id, at most `limit`. */
  directMessages(q: DirectQuery): Promise<StoredMessage[]>;
  getCursor(username: string): Promise<number | null>;
  /**
   * Moves each user's cursor forward (never back) and stamps those users as seen at `seenAt`
   * (Unix seconds; default now): a cursor row is the user's "last seen" too.
   */
  setCursors(entries: ReadonlyArray<readonly [string, number]>, seenAt?: number): Promise<void>;
  /**
   * Forgets the per-user rows (cursors) of users not seen since `q.before`, after stamping the
   * `q.online` users as seen. Returns how many users were forgotten.
   */
  pruneUsers(q: PruneQuery): Promise<number>;
  close(): Promise<void>;
}

export type Synchronous = 'full' | 'normal' | 'off';

export interface StoreConfig {
  driver: 'sqlite' | 'postgres';
  /** SQLite file path (":memory:" for tests) or PostgreSQL connection string (postgres://…, `?schema=` allowed). */
  path: string;
  /** SQLite's synchronous setting: "full" makes an acknowledgement mean "on disk". */
  synchronous?: Synchronous;
  /** PostgreSQL: schema holding the tables (overrides `?schema=` in the URL; default "public"). */
  schema?: string;
  /** PostgreSQL: pooled connections (default 10). */
  poolSize?: number;
  /** PostgreSQL: where connection trouble is reported. */
  log?: import('pino').Logger;
}
