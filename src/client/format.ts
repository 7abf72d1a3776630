/**
 * How messages look on a terminal and in a pipe. Pure functions: every field that came from the
 * network goes through sanitize() here, so no caller can forget it.
 */
import type { ChatMessage } from './backend.js';
import { safeJson, sanitize, sanitizeLine } from './sanitize.js';
import { textWidth, wrapText } from './ui/width.js';

export interface FormatOptions {
  /** The room the user is looking at: its name is not repeated on every line. */
  currentRoom: string;
  /** This user's name: direct messages to it read "bob → you". */
  me?: string;
  /** "now" for deciding whether a date is needed (Unix ms). */
  now?: number;
  /** ANSI colours (a TTY without NO_COLOR). */
  color?: boolean;
  /** Plain text appended to the message, e.g. " (delivered)"; dimmed with colours. */
  suffix?: string;
  /** Local time zone by default; tests pass 'UTC'. */
  timeZone?: string;
  /** Terminal columns: long lines are wrapped to it, under the text. Unset: no wrapping. */
  width?: number;
  /** A direct message to the user, or a mention of their name: shown in bold (with colours). */
  highlight?: boolean;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** "12:03", or "2024-05-01 12:03" when the message is not from today. */
export function formatTime(unixSeconds: number, now: number = Date.now(), timeZone?: string): string {
  const parts = (ms: number): { y: number; mo: number; d: number; h: number; mi: number } => {
    if (timeZone === 'UTC') {
      const t = new Date(ms);
      return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes() };
    }
    const t = new Date(ms);
    return { y: t.getFullYear(), mo: t.getMonth() + 1, d: t.getDate(), h: t.getHours(), mi: t.getMinutes() };
  };
  const m = parts(unixSeconds * 1000);
  const n = parts(now);
  const hm = `${pad(m.h)}:${pad(m.mi)}`;
  if (m.y === n.y && m.mo === n.mo && m.d === n.d) return hm;
  return `${m.y}-${pad(m.mo)}-${pad(m.d)} ${hm}`;
}

const COLORS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];
function paint(text: string, code: number | string, on: boolean | undefined): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}
/** A stable colour per name, so a speaker is recognisable at a glance. */
function nameColor(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return COLORS[h % COLORS.length]!;
}

/** Continuation rows never start further right than this (a long head would leave no room). */
const MAX_INDENT = 30;

/**
 * One message for the terminal: time, room when not the current one, sender (→ recipient for a
 * direct message), subject in brackets, content. An action (`/me`) reads "* bob waves". Further
 * lines of the content, and the rows of a line longer than `width`, start under the first
 * character of the text, not under the time. Returns the text without a trailing newline.
 */
export function formatMessage(m: ChatMessage, o: FormatOptions): string {
  const plainTime = formatTime(m.timestamp, o.now, o.timeZone);
  const user = sanitizeLine(m.username);
  let head = paint(plainTime, 2, o.color) + ' ';
  let plainHead = plainTime + ' ';
  if (m.room !== o.currentRoom && m.to === null) {
    const room = `#${sanitizeLine(m.room)}`;
    head += paint(room, 1, o.color) + ' ';
    plainHead += room + ' ';
  }
  if (m.action) {
    head += '* ';
    plainHead += '* ';
  }
  head += paint(user, o.highlight ? `1;7;${nameColor(user)}` : nameColor(user), o.color);
  plainHead += user;
  // Not logged into an account: anyone could have used this name.
  if (m.guest) {
    head += paint(' (guest)', 2, o.color);
    plainHead += ' (guest)';
  }
  if (m.to !== null) {
    const to = sanitizeLine(m.to);
    const shown = o.me !== undefined && m.to === o.me ? 'you' : to;
    head += ` → ${shown === 'you' ? 'you' : paint(to, nameColor(to), o.color)}`;
    plainHead += ` → ${shown}`;
  }
  if (m.subject) {
    const subject = `[${sanitizeLine(m.subject)}]`;
    head += ' ' + paint(subject, 1, o.color);
    plainHead += ' ' + subject;
  }
  const sep = m.action ? ' ' : ': ';
  head += sep;
  plainHead += sep;
  const indentWidth = Math.min(textWidth(plainHead), MAX_INDENT, o.width !== undefined ? Math.floor(o.width / 2) : MAX_INDENT);
  const indent = ' '.repeat(indentWidth);
  const lines = sanitize(m.content, { multiline: true }).split('\n');
  if (o.suffix) lines[lines.length - 1] += o.suffix;
  const rows: string[] = [];
  lines.forEach((line, i) => {
    const first = i === 0 ? textWidth(plainHead) : indentWidth;
    const parts = o.width === undefined ? [line] : wrapText(line, o.width - first, o.width - indentWidth);
    parts.forEach((part, j) => rows.push(i === 0 && j === 0 ? part : indent + part));
  });
  // The suffix is ours: dimmed, so it is not read as part of the message (when it was not wrapped apart).
  const last = rows.length - 1;
  const dim = o.color === true && o.suffix !== undefined && o.suffix !== '' && rows[last]!.endsWith(o.suffix);
  if (dim) rows[last] = rows[last]!.slice(0, -o.suffix!.length);
  let body = rows.join('\n');
  if (o.highlight) body = paint(body, 1, o.color);
  if (dim) body += paint(o.suffix!, 2, true);
  return head + body;
}

/** Whether `content` mentions `name` as a word of its own (case-insensitive): "alice:", "@alice", not "malice". */
export function mentions(content: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escaped}($|[^\\p{L}\\p{N}_])`, 'iu').test(content);
}

/** One message as exactly one line, for pipes: "12:03:04 lobby bob [subject]: text\ntext". */
export function formatPipeLine(m: ChatMessage, timeZone?: string): string {
  const t = new Date(m.timestamp * 1000);
  const hms = timeZone === 'UTC'
    ? `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`
    : `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  let head = `${hms} ${sanitizeLine(m.room)} ${m.action ? '* ' : ''}${sanitizeLine(m.username)}`;
  if (m.to !== null) head += ` → ${sanitizeLine(m.to)}`;
  if (m.subject) head += ` [${sanitizeLine(m.subject)}]`;
  // Backslashes are doubled so that a literal "\n" in the text stays distinguishable from a line break.
  const body = sanitize(m.content, { multiline: true }).replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return `${head}${m.action ? ' ' : ': '}${body}`;
}

/** One message as one JSON line for `lab93 tail`. */
export function formatJsonLine(m: ChatMessage, missed: boolean): string {
  return safeJson({
    id: m.id, uid: m.uid, username: m.username, room: m.room, to: m.to, subject: m.subject,
    content: m.content, timestamp: m.timestamp, missed, action: m.action === true,
  });
}

/**
 * The rule printed above the backlog received on connect: on the first connection of a session
 * it is what was said while the user was away; on a reconnect the user was there all along, and
 * these messages only waited out the outage.
 */
export function missedSeparator(n: number, reconnect = false): string {
  return reconnect ? `── ${n} delivered after reconnecting ──` : `── ${n} missed while you were away ──`;
}
