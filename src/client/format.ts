/**
 * How messages look on a terminal and in a pipe. Pure functions: every field that came from the
 * network goes through sanitize() here, so no caller can forget it.
 */
import type { ChatMessage } from './backend.js';
import { safeJson, sanitize, sanitizeLine } from './sanitize.js';

export interface FormatOptions {
  /** The room the user is looking at: its name is not repeated on every line. */
  currentRoom: string;
  /** This user's name: direct messages to it read "bob → you". */
  me?: string;
  /** "now" for deciding whether a date is needed (Unix ms). */
  now?: number;
  /** ANSI colours (a TTY without NO_COLOR). */
  color?: boolean;
  /** Appended to the first line, e.g. " (queued)"; not sanitised, it is ours. */
  suffix?: string;
  /** Local time zone by default; tests pass 'UTC'. */
  timeZone?: string;
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

/** Continuation lines of multi-line content are indented under the first. */
export const CONTINUATION_INDENT = '      ';

/**
 * One message for the terminal: time, room when not the current one, sender (→ recipient for a
 * direct message), subject in brackets, content; further lines of the content indented.
 * Returns the text without a trailing newline.
 */
export function formatMessage(m: ChatMessage, o: FormatOptions): string {
  const time = paint(formatTime(m.timestamp, o.now, o.timeZone), 2, o.color);
  const user = sanitizeLine(m.username);
  let head = time + ' ';
  if (m.room !== o.currentRoom && m.to === null) head += paint(`#${sanitizeLine(m.room)}`, 1, o.color) + ' ';
  head += paint(user, nameColor(user), o.color);
  // Not logged into an account: anyone could have used this name.
  if (m.guest) head += paint(' (guest)', 2, o.color);
  if (m.to !== null) {
    const to = sanitizeLine(m.to);
    head += ` → ${o.me !== undefined && m.to === o.me ? 'you' : paint(to, nameColor(to), o.color)}`;
  }
  if (m.subject) head += ' ' + paint(`[${sanitizeLine(m.subject)}]`, 1, o.color);
  const lines = sanitize(m.content, { multiline: true }).split('\n');
  const first = `${head}: ${lines[0]}${o.suffix ?? ''}`;
  if (lines.length === 1) return first;
  return [first, ...lines.slice(1).map((l) => CONTINUATION_INDENT + l)].join('\n');
}

/** One message as exactly one line, for pipes: "12:03:04 lobby bob [subject]: text\ntext". */
export function formatPipeLine(m: ChatMessage, timeZone?: string): string {
  const t = new Date(m.timestamp * 1000);
  const hms = timeZone === 'UTC'
    ? `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`
    : `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  let head = `${hms} ${sanitizeLine(m.room)} ${sanitizeLine(m.username)}`;
  if (m.to !== null) head += ` → ${sanitizeLine(m.to)}`;
  if (m.subject) head += ` [${sanitizeLine(m.subject)}]`;
  // Backslashes are doubled so that a literal "\n" in the text stays distinguishable from a line break.
  const body = sanitize(m.content, { multiline: true }).replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return `${head}: ${body}`;
}

/** One message as one JSON line for `lab93 tail`. */
export function formatJsonLine(m: ChatMessage, missed: boolean): string {
  return safeJson({
    id: m.id, uid: m.uid, username: m.username, room: m.room, to: m.to, subject: m.subject,
    content: m.content, timestamp: m.timestamp, missed,
  });
}

/** The rule printed above the backlog received on connect. */
export function missedSeparator(n: number): string {
  return `── ${n} missed while you were away ──`;
}
