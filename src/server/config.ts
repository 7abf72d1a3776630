import { DEFAULT_LIMITS, type Limits } from '../protocol/limits.js';
import { DEFAULT_FD_OPTIONS, type FdOptions } from './connection-budget.js';

/** Everything the repeater server can be told; validated once by the CLI, then frozen. */
export interface ServerOptions extends FdOptions {
  limits: Limits;
  /** Pending output per connection before it is cut off as a slow reader. */
  maxSendQueue: number;
  /** Messages of one connection waiting for their commit before we stop reading it. */
  maxInflight: number;
  /** Sustained messages per second per connection (0 = no limit) and the burst above it. */
  ratePerSecond: number;
  rateBurst: number;
  /** Error frames a connection may earn before it is closed. */
  maxErrors: number;
  /** Caps on connections, lowered further by the open-file limit (connection-budget.ts). */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  helloTimeoutMs: number;
  /** Silence before the server pings; twice this and the connection is closed. */
  idleTimeoutMs: number;
  /** After deliveries, how long before a ping asks the client for a receipt (advances its cursor). */
  receiptPingMs: number;
  /** How often the per-user delivery cursors are written to the store. */
  cursorFlushMs: number;
  /** Messages per catch-up page (a page is sent, then we wait for the socket to drain). */
  catchUpPage: number;
  /** A user not seen for this long is forgotten (its cursor): 0 keeps every user for ever. */
  userRetentionMs: number;
  /** How often users gone longer than userRetentionMs are looked for. */
  pruneIntervalMs: number;
  serverName: string;
}

export const DEFAULT_SERVER_OPTIONS: Readonly<ServerOptions> = Object.freeze({
  limits: DEFAULT_LIMITS,
  ...DEFAULT_FD_OPTIONS,
  maxSendQueue: 1024 * 1024,
  maxInflight: 1000,
  ratePerSecond: 50,
  rateBurst: 200,
  maxErrors: 20,
  maxConnections: 50_000,
  maxConnectionsPerAddress: 1000,
  helloTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  receiptPingMs: 15_000,
  cursorFlushMs: 1000,
  catchUpPage: 2000,
  userRetentionMs: 90 * 24 * 3600 * 1000,
  pruneIntervalMs: 3600 * 1000,
  serverName: 'lab93',
});

export function serverOptions(overrides: Partial<ServerOptions> = {}): ServerOptions {
  return Object.freeze({ ...DEFAULT_SERVER_OPTIONS, ...overrides, limits: Object.freeze({ ...DEFAULT_LIMITS, ...(overrides.limits ?? {}) }) });
}
