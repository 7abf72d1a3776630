import type { Logger } from 'pino';
import type { AuthGate } from '../auth/gate.js';
import type { MessageBus } from '../bus/types.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { MessageStore } from '../store/types.js';
import type { ServerOptions } from './config.js';
import type { Hub } from './hub.js';
import type { Session } from './session.js';

/**
 * Frame tracing for the teaching lab (src/teach/trace.ts, `lab93 server --trace`). Null when
 * off, so a server that does not trace pays one null check per frame.
 */
export interface TraceSink {
  frameIn(session: Session, line: Buffer): void;
  frameOut(session: Session, packet: object): void;
  error(session: Session, code: string, message: string): void;
  /** A connection refused before any session (server_busy, tls_required, not a protocol served here). */
  refused(address: string, code: string, message: string): void;
}

/** What handlers may use: no sockets, no listener, just the server's state and services. */
export interface ServerContext {
  readonly opts: ServerOptions;
  readonly store: MessageStore;
  readonly bus: MessageBus;
  readonly committer: GroupCommit;
  readonly hub: Hub<Session>;
  readonly log: Logger;
  readonly nodeId: string;
  /** Names, accounts and logins (src/auth): who a hello logs in as, who may receive a DM. */
  readonly auth: AuthGate<Session>;
  /** A reason to refuse a DM to a name (`no_key`: a broadcast peer has no key to seal it to), or null. */
  readonly directCheck: ((to: string) => string | null) | null;
  now(): number;
  readonly trace: TraceSink | null;
  /** Records that a user's client provably holds every message up to `id` (the catch-up cursor). */
  markDelivered(username: string, id: number): void;
  /** The user's cursor held in memory and not yet known to be stored, or null (read it before the store's). */
  heldCursor(username: string): number | null;
  /** Takes a session out of rooms and users, announcing presence where it was the last. */
  detach(session: Session): void;
  /** Puts a session in a room; announces presence when it is the user's first connection there. */
  enterRoom(session: Session, room: string): void;
  leaveRoom(session: Session, room: string): void;
}
