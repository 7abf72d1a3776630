/**
 * How many connections the process may hold, derived from its open-file limit, so that one
 * address can never take the descriptors everyone else needs (docs/operations.md, "Open files";
 * docs/security.md, "Limits").
 *
 * The formula, with L the open-file limit (RLIMIT_NOFILE; Node raises the soft limit to the hard
 * one at start, so L is what /proc/self/limits shows once we run):
 *
 *   connection fds  C = max(L - fdReserve, floor(L / 2))
 *   total           = min(maxConnections, C)
 *   per address     = min(maxConnectionsPerAddress, max(1, floor(C * addressSharePercent / 100)))
 *
 * fdReserve keeps descriptors for what is not a connection (the store and its WAL, listeners,
 * mDNS, a PostgreSQL pool, stdio); addressSharePercent is the most of C one address may hold,
 * so the others always keep the rest. When L cannot be read (not Linux), the configured caps
 * apply as they are.
 */
import { openSync, closeSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/** The process-wide part of the limits: it applies to the chat server and the classic board alike. */
export interface FdOptions {
  /** Descriptors kept for everything that is not a connection. */
  fdReserve: number;
  /** The largest share (percent) of the connection descriptors one address may hold. */
  addressSharePercent: number;
}

export const DEFAULT_FD_OPTIONS: Readonly<FdOptions> = Object.freeze({
  fdReserve: 64,
  addressSharePercent: 25,
});

/**
 * The open-file limit in force (the soft one), from /proc/self/limits; null when it cannot be
 * read or is unlimited. `read` is injected by tests.
 */
export function readFdLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | null {
  let text: string;
  try {
    text = read();
  } catch {
    return null;
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export interface ConnectionCaps {
  /** Connections the process may hold in all. */
  maxConnections: number;
  /** Connections one address may hold. */
  maxConnectionsPerAddress: number;
  /** The open-file limit they were derived from, or null when unknown. */
  fdLimit: number | null;
  /** Descriptors available to connections (C above), or null when unknown. */
  connectionFds: number | null;
  /** True when the open-file limit lowered the configured total (worth a warning at start). */
  lowered: boolean;
}

/** Applies the formula above to the configured caps. */
export function connectionCaps(configured: { maxConnections: number; maxConnectionsPerAddress: number }, fdLimit: number | null, fd: FdOptions): ConnectionCaps {
  if (fdLimit === null) return { ...pick(configured), fdLimit: null, connectionFds: null, lowered: false };
  const c = Math.max(fdLimit - fd.fdReserve, Math.floor(fdLimit / 2));
  const total = Math.min(configured.maxConnections, c);
  const perAddress = Math.min(configured.maxConnectionsPerAddress, Math.max(1, Math.floor((c * fd.addressSharePercent) / 100)));
  return { maxConnections: total, maxConnectionsPerAddress: perAddress, fdLimit, connectionFds: c, lowered: total < configured.maxConnections };
}

function pick(c: { maxConnections: number; maxConnectionsPerAddress: number }): { maxConnections: number; maxConnectionsPerAddress: number } {
  return { maxConnections: c.maxConnections, maxConnectionsPerAddress: c.maxConnectionsPerAddress };
}

/**
 * Below this many connections the open-file limit is worth a warning at start: a lab of 30 with a
 * client, a script and a browser tab each stays far under it, a LAN event may not. Above it, the
 * lowered cap is only in the `listening` line: warning on every machine whose limit is under the
 * configured 50,000 would teach people to ignore the line.
 */
export const LOW_FD_CONNECTIONS = 4096;

/** One readable line for the log when the open-file limit bounds the connections to few. */
export function lowFdWarning(caps: ConnectionCaps, configuredTotal: number): string | null {
  if (!caps.lowered || caps.maxConnections >= LOW_FD_CONNECTIONS) return null;
  return `open-file limit is ${caps.fdLimit}: at most ${caps.maxConnections} connections (${caps.maxConnectionsPerAddress} per address) instead of ${configuredTotal}; ` +
    'raise it with ulimit -n or LimitNOFILE= (docs/operations.md, "Open files")';
}

/** `::ffff:10.0.0.1` is 10.0.0.1: one address, one count. */
export function addressOf(socket: Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export type Refusal = 'total' | 'address';

/**
 * Counts the connections the process holds, in all and per address, against its caps. The chat
 * server owns one; the classic board's own listener admits through the same one, since both
 * draw on the same descriptor table.
 */
export class ConnectionBudget {
  private readonly perAddress = new Map<string, number>();
  private count = 0;

  constructor(readonly caps: ConnectionCaps) {}

  get total(): number {
    return this.count;
  }

  from(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Counts a new connection, or says which cap refuses it (and counts nothing). */
  admit(address: string): Refusal | null {
    if (this.count >= this.caps.maxConnections) return 'total';
    const n = this.perAddress.get(address) ?? 0;
    if (n >= this.caps.maxConnectionsPerAddress) return 'address';
    this.perAddress.set(address, n + 1);
    this.count++;
    return null;
  }

  /** A counted connection closed. */
  release(address: string): void {
    const n = this.perAddress.get(address);
    if (n === undefined) return;
    this.count--;
    if (n <= 1) this.perAddress.delete(address);
    else this.perAddress.set(address, n - 1);
  }
}

/**
 * Whether the process can open one more descriptor: 'EMFILE'/'ENFILE' when it cannot. libuv
 * hides EMFILE on accept (it closes a spare descriptor, accepts and drops the waiting
 * connections, and reports nothing), so this probe is how the server notices and logs it.
 */
export function probeFds(open: () => number = () => openSync('/dev/null', 'r')): 'ok' | 'EMFILE' | 'ENFILE' {
  try {
    closeSync(open());
    return 'ok';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? code : 'ok';
  }
}
