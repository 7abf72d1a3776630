/**
 * Log lines for a person at a terminal (docs/operations.md, "Logs"). pino still builds each
 * event as one JSON line; this turns it into
 *
 *     14:02:11 connection opened  conn=c1 remote=127.0.0.1:51262 protocol=base64
 *     14:02:15 WARN [classic] classic connection refused  remote=10.0.0.9 why="64 connections from this address"
 *
 * the time, the level when it is not info, the component, the message, then the fields. The
 * `ready` event becomes the start line (where it listens, the database, the classic board,
 * the LAN, "Ctrl-C stops"); the start-up details it sums up are not printed again before it.
 *
 * Hand-written rather than pino-pretty: a fixed one-line layout, nothing loaded at run time, and
 * every value escaped. Fields carry what clients sent (user names, rooms), and a terminal obeys
 * the escape sequences it prints, so control, C1 and bidi characters are shown as escapes.
 */

export type LogFormat = 'json' | 'pretty';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '2', 20: '2', 40: '33', 50: '31', 60: '1;31' };
/** pino's own keys, and ours that are shown elsewhere on the line. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v', 'component']);
/**
 * Start-up details that the start line sums up: not printed before it. (They stay in the JSON
 * lines, where scripts and tests look for them, and print with -v.)
 */
const SUMMED_UP = new Set([
  'listening', 'store open', 'cluster store open', 'classic board listening',
  'announced on the LAN (mDNS, _lab93._tcp)', 'peer listening', 'discovery: on interface', 'web client listening',
]);

/** Characters a terminal would act on or draw misleadingly: C0 (tab and newline too), DEL, C1, bidi controls, lone surrogates. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text with every unsafe character written as an escape (`\n`, `\x1b`, `\u202e`). */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** A field's value: bare when it is one plain word, quoted and escaped otherwise. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[\p{L}\p{N}_.:@/+#~-]+$/u.test(v) ? v : `"${escapeText(v.replace(/[\\"]/g, '\\$&'))}"`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string' && typeof (v as { type?: unknown }).type === 'string') {
    // A serialised error: its message (and code) is what a person needs; the stack is in the JSON format.
    const e = v as { message: string; code?: unknown };
    return formatValue(e.code !== undefined ? `${String(e.code)}: ${e.message}` : e.message);
  }
  return escapeText(JSON.stringify(v) ?? String(v));
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The fields of the `ready` event (each command logs it once everything is up). */
export interface ReadyFields {
  role: 'server' | 'classic' | 'peer';
  /** host:port of the main listener. */
  listen: string;
  db?: string;
  /** Cluster: the shared store and bus (passwords already masked). */
  store?: string;
  bus?: string;
  /** server: the board is answered on the chat port; its own ports, if any. */
  classic?: boolean;
  classicPorts?: number[];
  /** server: announced with mDNS; peer: discovery on. */
  announce?: boolean;
  /** server: the web client's address (src/web), or false when it is off. */
  web?: string | false;
  discovery?: boolean;
  peer?: string;
  user?: string;
  peers?: string[];
}

/** The start line, e.g. `lab93 server on 0.0.0.0:5190 · database … · classic board on this port too · announced on the LAN · Ctrl-C stops`. */
export function startLine(r: ReadyFields): string {
  const parts: string[] = [];
  const s = (v: string): string => escapeText(v);
  if (r.role === 'server') parts.push(`lab93 server on ${s(r.listen)}`);
  else if (r.role === 'classic') parts.push(`lab93 classic board on ${s(r.listen)}`);
  else parts.push(`lab93 peer ${s(r.peer ?? '?')}${r.user ? ` (${s(r.user)})` : ''} on ${s(r.listen)}`);
  if (r.store !== undefined) parts.push(`store ${s(r.store)}, bus ${s(r.bus ?? 'in-process')}`);
  else if (r.db !== undefined) parts.push(`${r.role === 'peer' ? 'store' : 'database'} ${s(r.db)}`);
  if (r.role === 'server') {
    const own = (r.classicPorts ?? []).map((p) => `:${p}`).join(', ');
    if (r.classic === false) parts.push('classic board off');
    else parts.push(own ? `classic board on this port and on ${own}` : 'classic board on this port');
    if (r.web) parts.push(`web client at ${s(r.web)}`);
    parts.push(r.announce ? 'announced on the LAN' : 'not announced on the LAN');
  }
  if (r.role === 'peer') {
    parts.push(r.discovery ? 'finding peers on the LAN' : 'discovery off');
    if (r.peers && r.peers.length > 0) parts.push(`linking to ${r.peers.map(s).join(', ')}`);
  }
  parts.push('Ctrl-C stops');
  return parts.join(' · ');
}

export interface PrettyOptions {
  /** ANSI colours for the level and a dim time. */
  color?: boolean;
  /** Print the start-up details too (debug logging). */
  verbose?: boolean;
}

/**
 * Turns pino's JSON lines into readable ones. Stateful only in one respect: before the start
 * line, the details it sums up are held back.
 */
export class PrettyFormatter {
  private started = false;

  constructor(private readonly o: PrettyOptions = {}) {}

  /** One JSON line in, the text to print (with its newline) out, or '' for nothing. */
  format(line: string): string {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return escapeText(line.replace(/\n$/, '')) + '\n';
    }
    const level = typeof j.level === 'number' ? j.level : 30;
    const msg = typeof j.msg === 'string' ? j.msg : '';
    if (msg === 'ready' && level === 30) {
      this.started = true;
      const text = startLine(j as unknown as ReadyFields);
      return (this.o.color ? `\x1b[1m${text}\x1b[0m` : text) + '\n';
    }
    if (!this.started && level === 30 && !this.o.verbose && SUMMED_UP.has(msg)) return '';
    const out: string[] = [];
    const time = clock(typeof j.time === 'number' ? j.time : Date.now());
    out.push(this.o.color ? `\x1b[2m${time}\x1b[0m` : time);
    const label = LEVELS[level];
    if (label) out.push(this.o.color ? `\x1b[${COLORS[level]}m${label}\x1b[0m` : label);
    if (typeof j.component === 'string') out.push(`[${escapeText(j.component)}]`);
    if (msg) out.push(escapeText(msg));
    const fields: string[] = [];
    for (const [k, v] of Object.entries(j)) if (!HIDDEN.has(k)) fields.push(`${escapeText(k)}=${formatValue(v)}`);
    // Two spaces between the message and its fields: where one ends and the other begins.
    return out.join(' ') + (fields.length > 0 ? '  ' + fields.join(' ') : '') + '\n';
  }
}
