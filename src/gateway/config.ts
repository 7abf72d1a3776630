import { DEFAULT_FD_OPTIONS, type FdOptions } from '../server/connection-budget.js';

/**
 * What the classic board can be told (docs/classic-board.md, "Limits and timeouts"); validated
 * by the CLI, then frozen.
 */
export interface ClassicOptions extends FdOptions {
  /** Room where classic posts go and whose messages GET lists. */
  room: string;
  /** How long an unterminated request (or a connection that sent nothing) is waited for before ERRTimeout!%. */
  requestTimeoutMs: number;
  /** After KEEP%: silence before the server closes an idle connection. */
  idleTimeoutMs: number;
  /** After the server's last answer: how long it lets the client close before it drops the socket. */
  lingerMs: number;
  /** Open classic connections in all, and from one address (the open-file limit may lower both: connection-budget.ts). */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Requests per second from one address (0 = no limit), and the burst allowed above that rate. */
  ratePerSecond: number;
  rateBurst: number;
  /** Messages the store may hold before POST answers ERRBoard Full% (0 = no limit). */
  maxMessages: number;
  /**
   * `GET%` lists only the newest this many messages (0: the whole board, as the original did).
   * Beside a busy chat the whole board is long, and the original client reads 1,024 bytes: it
   * would only ever see the oldest posts. `GET<n>%` asks for a number of its own.
   */
  window: number;
  /**
   * `GET%` also keeps its answer within this many bytes, dropping the oldest of the window
   * (0: no byte bound). 1024 makes every answer fit the original client's single read; the
   * newest message is listed even when it alone is longer.
   */
  windowBytes: number;
  /** Rows per store read while GET streams a long board. */
  pageSize: number;
  /** Requests read ahead of their answers before the connection stops reading. */
  maxQueuedRequests: number;
}

export const DEFAULT_CLASSIC_OPTIONS: Readonly<ClassicOptions> = Object.freeze({
  room: 'lobby',
  requestTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  lingerMs: 5_000,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 64,
  ratePerSecond: 50,
  rateBurst: 200,
  maxMessages: 1_000_000,
  window: 20,
  windowBytes: 0,
  pageSize: 500,
  maxQueuedRequests: 256,
  // Used by `lab93 classic` alone; inside `lab93 server` the server's budget counts for both.
  ...DEFAULT_FD_OPTIONS,
});

export function classicOptions(overrides: Partial<ClassicOptions> = {}): Readonly<ClassicOptions> {
  const o = { ...DEFAULT_CLASSIC_OPTIONS };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return Object.freeze(o);
}
