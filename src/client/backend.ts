/**
 * What the terminal UI talks to. Two backends implement it: the repeater connection
 * (src/client/connection.ts, a client of a lab93 server) and the broadcast peer
 * (src/peer/, serverless). The UI never sees a socket.
 */
import type { EventEmitter } from 'node:events';

/** A chat message as the UI shows it. */
export interface ChatMessage {
  /** Stable identity for dedupe and display: the server id ("r:<id>") or the peer message id. */
  key: string;
  /** The server's id in repeater mode; null in broadcast mode. */
  id: number | null;
  uid: string | null;
  username: string;
  subject: string | null;
  content: string;
  room: string;
  to: string | null;
  /** Unix seconds. */
  timestamp: number;
  /** Sent by a guest on a server where accounts are in use (the UI marks it). */
  guest?: boolean;
  /** An action line (`/me waves`): shown as "* alice waves". Absent on ordinary messages. */
  action?: boolean;
}

export interface OutgoingMessage {
  content: string;
  subject?: string | null;
  room: string;
  to?: string | null;
  action?: boolean;
}

/** One of our messages not acknowledged yet (`/outbox`). */
export interface QueuedMessage {
  uid: string;
  content: string;
  subject: string | null;
  room: string;
  to: string | null;
  action: boolean;
  /** When it was typed, Unix seconds. */
  created: number;
  /** On the wire and waiting for its ack (cannot be taken back), rather than waiting to be sent. */
  sending: boolean;
}

/** A room on the server and how many people are in it (`/rooms`). */
export interface RoomInfo {
  room: string;
  users: number;
}

export type BackendState = 'connecting' | 'online' | 'offline';

export interface ScanEntry {
  name: string;
  host: string;
  port: number;
  mode: 'repeater' | 'broadcast';
  lastSeen: number;
  connected: boolean;
}

/**
 * Events (EventEmitter):
 * - 'message' (m: ChatMessage, info: { missed: boolean }): a message from someone else (or from
 *   this user's other connections); `missed` for the backlog received on (re)connect.
 *   Each message is emitted once, ever: the backend dedupes by key.
 * - 'acked' (uid: string, m: ChatMessage, info?: { recipientSeen?: boolean }): one of our messages
 *   is stored; for a direct message, `recipientSeen: false` when the server has never seen the
 *   recipient's name (a typo, most likely: the message waits for that name).
 * - 'failed' (uid: string, reason: string): one of our messages was refused for good (too large,
 *   a bad field…) and dropped from the queue; pendingCount() no longer counts it. Optional:
 *   a backend that never refuses need not emit it.
 * - 'presence' (p: { room: string; username: string; status: 'online' | 'offline' })
 * - 'state' (state: BackendState, detail?: string): connection state changed.
 * - 'synced' (info: { missed: number }): the backlog after a (re)connect is complete.
 * - 'notice' (text: string): something the user should read (a server error, a warning).
 * - 'fatal' (reason: string): the backend gave up for good and will not reconnect (the address
 *   answers, but it is not a lab93 chat server); queued messages stay queued. Optional.
 */
export interface ChatBackend extends EventEmitter {
  readonly kind: 'repeater' | 'broadcast';
  readonly username: string;
  readonly state: BackendState;
  start(): Promise<void>;
  /** Queues a message (kept across outages and restarts) and returns its uid. */
  send(m: OutgoingMessage): string;
  /** Messages queued but not acknowledged yet. */
  pendingCount(): number;
  /** The queued messages, oldest first. Optional (a backend that stores at once has none to show). */
  queued?(): QueuedMessage[];
  /**
   * Takes a queued message back: 'dropped'; 'sending' when it is on the wire already (it may be
   * stored any moment, so it cannot be taken back); 'gone' when it is not queued (any more).
   */
  dropQueued?(uid: string): 'dropped' | 'sending' | 'gone';
  /** The rooms with people in them, most populated first, and how many more were left out. */
  listRooms?(): Promise<{ rooms: RoomInfo[]; more: number }>;
  /** Goes on under another name (reconnecting as it); only with nothing queued. */
  rename?(username: string): void;
  join(room: string): Promise<void>;
  leave(room: string): Promise<void>;
  who(room: string): Promise<string[]>;
  /** The newest `limit` messages of a room, from the server or the local store. */
  history(room: string, limit: number): Promise<ChatMessage[]>;
  /** The newest `limit` messages kept locally: shown at start, even when offline. */
  recent(limit: number): ChatMessage[];
  /** Broadcast mode (and repeater discovery): an active look for instances on the LAN. */
  scan?(): Promise<ScanEntry[]>;
  /** Broadcast mode: the peers connected now (`refused`: what each link was refused, counted). */
  /** Broadcast mode: `/trust NAME NUMBER` confirms a name's key; returns what to tell the user. */
  trust?(name: string, number: string): string;
  peers?(): Array<{ name: string; address: string; users: string[]; refused?: string; fingerprint?: string }>;
  /**
   * Stop and go on reading from the network, for a front end whose output is behind (a pipe
   * read slowly): what arrives then waits in the kernel instead of in our memory. Optional.
   */
  pauseInbound?(): void;
  resumeInbound?(): void;
  close(): Promise<void>;
}
