/**
 * Every limit in one table: its component, the option it sets, its flag, its unit and what it
 * defends (docs/security.md, "Limits", is checked against this table by a test). Defaults are
 * read from the components' DEFAULT_* options objects, never copied here. The command line
 * builds its flags from the table (src/cli/limit-flags.ts).
 *
 * Adding a component: add it to `Component` and to `DEFAULTS`, then its rows.
 */
import { DEFAULT_CLASSIC_OPTIONS } from '../gateway/config.js';
import { DEFAULT_PEER_OPTIONS } from '../peer/config.js';
import { DEFAULT_FD_OPTIONS } from '../server/connection-budget.js';
import { DEFAULT_SERVER_OPTIONS } from '../server/config.js';

/**
 * server: the chat server (`lab93 server`); classic: the classic board (`lab93 classic`, and
 * `lab93 server` with a `classic-` prefix); process: the whole process, both alike; peer: a
 * broadcast peer (`lab93 peer`, `lab93 -b`).
 */
export type Component = 'server' | 'classic' | 'process' | 'peer';

/** The commands that take limit flags; the root command (`lab93 -r/-b …`) takes them as `server` does, and the peer's. */
export type LimitCommand = 'server' | 'classic' | 'peer';

/** Options objects by component; a row's `key` is a path in its component's object. */
const DEFAULTS: Record<Component, object> = {
  server: DEFAULT_SERVER_OPTIONS,
  classic: DEFAULT_CLASSIC_OPTIONS,
  process: DEFAULT_FD_OPTIONS,
  peer: DEFAULT_PEER_OPTIONS,
};

/** How a flag is written; options hold milliseconds where the flag says seconds or days. */
export type Unit = 'bytes' | 'characters' | 'count' | 'seconds' | 'days' | 'percent' | 'per second';

export interface LimitRow {
  component: Component;
  /** Path of the option in the component's options object ("limits.maxFrameBytes"). */
  key: string;
  /** The flag without its dashes (and without the `classic-` prefix `lab93 server` adds). */
  flag: string;
  unit: Unit;
  /** Smallest and largest values the flag accepts (in the flag's unit). */
  min: number;
  max?: number;
  /** What 0 means when it is allowed and special ("no limit", "never"). */
  zero?: string;
  /** The flag's --help text (the default is added). */
  help: string;
  /** What the limit defends against (docs/security.md). */
  defends: string;
}

const row = (component: Component, key: string, flag: string, unit: Unit, min: number, help: string, defends: string, extra: Partial<LimitRow> = {}): LimitRow =>
  ({ component, key, flag, unit, min, help, defends, ...extra });

export const LIMIT_ROWS: readonly LimitRow[] = Object.freeze([
  // ---- the chat server --------------------------------------------------------------------
  row('server', 'limits.maxFrameBytes', 'max-frame', 'bytes', 512, 'longest frame line', 'memory: a line is refused as soon as it passes the limit, before it is complete'),
  row('server', 'limits.maxContentBytes', 'max-content', 'bytes', 1, 'longest message content (UTF-8)', 'the store and every receiver from huge messages'),
  row('server', 'limits.maxNameLength', 'max-name', 'characters', 1, 'longest username (and `to`)', 'screens, logs and the store from names that push everything else away'),
  row('server', 'limits.maxRoomLength', 'max-room-name', 'characters', 1, 'longest room name', 'screens, logs and the store from endless room names'),
  row('server', 'limits.maxSubjectLength', 'max-subject', 'characters', 1, 'longest subject', 'screens and the store from huge subjects'),
  row('server', 'limits.maxUidLength', 'max-uid', 'characters', 36, 'longest message uid', 'the uid index of the store'),
  row('server', 'limits.maxRoomsPerConnection', 'max-rooms', 'count', 1, 'rooms one connection may join', 'memory and fan-out work per connection'),
  row('server', 'limits.maxHistoryLimit', 'max-history', 'count', 1, 'messages one history request may ask for', 'memory: one request reading the whole store'),
  row('server', 'maxSendQueue', 'send-queue', 'bytes', 1024, 'pending output before a slow reader is cut off', 'memory held for a client that does not read'),
  row('server', 'maxInflight', 'max-inflight', 'count', 1, 'messages of one connection awaiting their commit before it is read no more', 'memory of one connection writing faster than the disk'),
  row('server', 'ratePerSecond', 'rate', 'per second', 0, 'messages per second per connection', 'the store and everyone\'s screen from one flooding connection', { zero: 'no limit' }),
  row('server', 'rateBurst', 'burst', 'count', 1, 'messages allowed in a burst above the rate', 'the same, while letting a client send its outbox at once'),
  row('server', 'maxErrors', 'max-errors', 'count', 1, 'error answers a connection may earn before it is closed', 'CPU and logs from a connection sending garbage'),
  row('server', 'maxConnections', 'max-connections', 'count', 1, 'connections in all (lowered by the open-file limit)', 'the memory and descriptors of the process'),
  row('server', 'maxConnectionsPerAddress', 'max-connections-per-address', 'count', 1, 'connections from one address (lowered by --max-address-share)', 'everyone else from one host taking all the connections'),
  row('server', 'helloTimeoutMs', 'hello-timeout', 'seconds', 0, 'time allowed before hello', 'descriptors held by connections that never say hello'),
  row('server', 'idleTimeoutMs', 'idle-timeout', 'seconds', 0, 'silence before a ping; twice this closes', 'descriptors held by clients gone without a word'),
  row('server', 'catchUpPage', 'catch-up-page', 'count', 1, 'messages per catch-up page (the next is read once the socket drained)', 'memory of a long catch-up, and the other clients while it streams'),
  row('server', 'userRetentionMs', 'user-retention', 'days', 0, 'forget the cursor of a user not seen this long', 'the store from growing with every name ever used', { zero: 'never' }),
  // ---- the process (chat server and classic board share one descriptor table) -------------
  row('process', 'fdReserve', 'fd-reserve', 'count', 0, 'open files kept for the store, listeners and logs', 'the store and listeners when connections take every other descriptor'),
  row('process', 'addressSharePercent', 'max-address-share', 'percent', 1, 'largest share of the connection descriptors one address may hold', 'other hosts from one host filling the descriptor table', { max: 100 }),
  // ---- the classic board ------------------------------------------------------------------
  row('classic', 'requestTimeoutMs', 'request-timeout', 'seconds', 0, 'wait for the rest of a cut-off request, then ERRTimeout!%', 'descriptors held by half-sent requests'),
  row('classic', 'idleTimeoutMs', 'idle-timeout', 'seconds', 0, 'close a KEEP% connection idle this long', 'descriptors held by idle keep-alive connections'),
  row('classic', 'lingerMs', 'linger', 'seconds', 0, 'after the last answer, time for the client to close before the socket is dropped', 'descriptors held by clients that never close'),
  row('classic', 'maxConnections', 'max-connections', 'count', 1, 'open board connections in all', 'the memory and descriptors of the process'),
  row('classic', 'maxConnectionsPerAddress', 'max-connections-per-address', 'count', 1, 'open board connections from one address', 'everyone else from one host taking all the board connections'),
  row('classic', 'ratePerSecond', 'rate', 'per second', 0, 'board requests per second per address', 'the store and CPU from one flooding host', { zero: 'no limit' }),
  row('classic', 'rateBurst', 'burst', 'count', 1, 'board requests allowed in a burst above the rate', 'the same, while letting a page of requests through at once'),
  row('classic', 'maxMessages', 'max-messages', 'count', 0, 'stored messages before POST answers ERRBoard Full%', 'the disk', { zero: 'no limit' }),
  row('classic', 'window', 'window', 'count', 0, 'GET% lists the newest n messages, oldest first', 'the original client, which reads 1,024 bytes once, from seeing only the oldest posts of a busy board; rows read per GET', { zero: 'the whole board' }),
  row('classic', 'windowBytes', 'window-bytes', 'bytes', 0, 'GET% keeps its answer within this many bytes (1024 fits the original client)', 'clients that read one fixed-size buffer from a cut-off list', { zero: 'no bound' }),
  row('classic', 'pageSize', 'page-size', 'count', 1, 'rows read at a time while GET streams a long board', 'memory of one GET of a long board'),
  row('classic', 'maxQueuedRequests', 'max-queued-requests', 'count', 1, 'requests read ahead of their answers before the connection is read no more', 'memory of a client pipelining requests it does not read the answers of'),
  // ---- a broadcast peer (flags of `lab93 peer` and `lab93 -b`; unique next to the server's, since the root command takes both) ----
  row('peer', 'maxStore', 'max-store', 'count', 0, 'messages kept; past it the oldest of other peers are pruned to 95 %, never your own', 'the disk filled through the mesh', { zero: 'no limit' }),
  row('peer', 'maxFirstSeq', 'max-first-seq', 'count', 0, 'highest seq at which an origin heard of through others may start', 'an origin silenced by a claim far ahead of it', { zero: 'no limit' }),
  row('peer', 'historyWindow', 'history-window', 'count', 0, 'messages of the past a newcomer receives', 'the link and the newcomer\'s store from a whole history at once', { zero: 'none' }),
  row('peer', 'linkTimeoutMs', 'link-timeout', 'seconds', 0, 'silence before a peer link is given up (a ping goes out every third of it)', 'links to peers gone without a word'),
  row('peer', 'linkMessageRate', 'link-message-rate', 'per second', 0, 'messages one link may bring a second, all origins together, before it is slowed down (bursts of 10 × that)', 'one link storing messages faster than the disk should take them', { zero: 'no limit' }),
  row('peer', 'linkBytesPerMinute', 'link-bytes-per-minute', 'bytes', 0, 'bytes of frames one link may send a minute before it is slowed down', 'disk and bandwidth spent by one link', { zero: 'no limit' }),
  row('peer', 'linkNewOriginsPerMinute', 'link-new-origins', 'count', 0, 'origins never seen before that one link may bring a minute before it is slowed down', 'the have map grown without bound by fresh origins', { zero: 'no limit' }),
  row('peer', 'originRate', 'origin-rate', 'per second', 0, 'new messages of a link\'s own origin a second before it is slowed down', 'everyone\'s screen and store from one peer flooding as itself', { zero: 'no limit' }),
  row('peer', 'originBurst', 'origin-burst', 'count', 1, 'messages of a link\'s own origin allowed in a burst above the rate', 'the same, while letting a peer send what it wrote offline at once'),
  row('peer', 'frameRate', 'link-frame-rate', 'per second', 0, 'frames of any kind one link may send a second before it is slowed down', 'CPU spent on one link\'s frames', { zero: 'no limit' }),
  row('peer', 'frameBurst', 'link-frame-burst', 'count', 1, 'frames allowed in a burst above the frame rate', 'the same, while letting a history page through at once'),
  row('peer', 'maxErrors', 'link-max-errors', 'count', 1, 'bad frames and refused messages one link may send before it is closed', 'CPU and logs from a link sending garbage or forgeries'),
  row('peer', 'maxSendQueue', 'link-send-queue', 'bytes', 1024, 'pending output before a peer that does not read is cut off (it catches up when it returns)', 'memory held for a peer that does not read'),
]);

/** The rows of one component. */
export function limitRows(component: Component): LimitRow[] {
  return LIMIT_ROWS.filter((r) => r.component === component);
}

/** The flag as a command takes it: `lab93 server` prefixes the classic board's with `classic-`. */
export function flagName(r: LimitRow, command: LimitCommand): string {
  return `--${command === 'server' && r.component === 'classic' ? 'classic-' : ''}${r.flag}`;
}

/** Environment variable of a classic board flag (LAB93_CLASSIC_RATE); other limits have none. */
export function envName(r: LimitRow): string | undefined {
  return r.component === 'classic' ? `LAB93_CLASSIC_${r.flag.toUpperCase().replace(/-/g, '_')}` : undefined;
}

const MS_PER: Partial<Record<Unit, number>> = { seconds: 1000, days: 86_400_000 };

/** The option's value from its component's defaults, in the flag's unit. */
export function defaultValue(r: LimitRow): number {
  let v: unknown = DEFAULTS[r.component];
  for (const part of r.key.split('.')) v = (v as Record<string, unknown>)[part];
  if (typeof v !== 'number') throw new Error(`limits table: ${r.component}.${r.key} is not a number in its defaults`);
  return v / (MS_PER[r.unit] ?? 1);
}

/** A value in the flag's unit as docs/security.md and --help show it: "64 KiB", "10 s", "90 days". */
export function formatValue(r: LimitRow, v: number): string {
  switch (r.unit) {
    case 'bytes':
      if (v >= 1 << 20 && v % (1 << 20) === 0) return `${v / (1 << 20)} MiB`;
      if (v >= 1024 && v % 1024 === 0) return `${v / 1024} KiB`;
      return `${v} bytes`;
    case 'seconds':
      return `${v} s`;
    case 'days':
      return `${v} days`;
    case 'percent':
      return `${v} %`;
    case 'characters':
      return `${v} characters`;
    case 'per second':
      return `${v} per second`;
    case 'count':
      return String(v);
  }
}

export function formatDefault(r: LimitRow): string {
  return formatValue(r, defaultValue(r));
}

/**
 * Reads a flag's text into the option's value (milliseconds for seconds and days), or says in
 * one line what is wrong with it.
 */
export function parseLimit(r: LimitRow, text: string, flag: string): { ok: true; value: number } | { ok: false; message: string } {
  const n = Number(text);
  const fractional = r.unit === 'seconds' || r.unit === 'days';
  const valid = text.trim() !== '' && Number.isFinite(n) && (fractional || Number.isInteger(n));
  if (r.unit === 'seconds' && !(valid && n > 0)) return { ok: false, message: `${flag} must be a number of seconds above 0, not "${text}"` };
  if (r.unit === 'days' && !(valid && n >= 0)) return { ok: false, message: `${flag} must be a number of days, 0 for ${r.zero ?? 'none'}, not "${text}"` };
  if (!valid || n < 0) return { ok: false, message: `${flag} must be a whole number, not "${text}"` };
  if (n < r.min || (r.max !== undefined && n > r.max)) {
    return { ok: false, message: `${flag} must be ${r.max !== undefined ? `from ${r.min} to ${r.max}` : `at least ${r.min}`}, not "${text}"` };
  }
  return { ok: true, value: Math.round(n * (MS_PER[r.unit] ?? 1)) };
}

/** Sets a row's option in a (partial) options object, creating `limits` for the protocol limits. */
export function setOption(target: Record<string, unknown>, r: LimitRow, value: number): void {
  const parts = r.key.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts.at(-1)!] = value;
}
