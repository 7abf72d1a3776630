/**
 * Slash commands of the terminal client: parsing only (pure), so it is unit-tested apart from
 * the terminal. `//text` sends "/text" as a message.
 */
import { checkName } from '../../protocol/packets.js';
import { DEFAULT_LIMITS } from '../../protocol/limits.js';

export type Command =
  | { kind: 'empty' }
  | { kind: 'say'; text: string }
  | { kind: 'quit' }
  | { kind: 'help' }
  | { kind: 'subject'; subject: string; text: string }
  | { kind: 'topic'; subject: string | null }
  | { kind: 'join'; room: string }
  | { kind: 'leave'; room: string | null }
  | { kind: 'msg'; to: string; text: string }
  | { kind: 'me'; text: string }
  | { kind: 'nick'; name: string }
  | { kind: 'rooms' }
  | { kind: 'outbox' }
  /** `n` counts from 1, in the order /outbox lists. */
  | { kind: 'outbox-drop'; n: number }
  | { kind: 'who'; room: string | null }
  | { kind: 'history'; limit: number }
  | { kind: 'scan' }
  | { kind: 'peers' }
  | { kind: 'trust'; name: string; number: string }
  /** A known command used wrongly: `message` says how to use it. */
  | { kind: 'usage'; command: string; message: string }
  | { kind: 'unknown'; name: string };

export const HISTORY_DEFAULT = 20;
export const HISTORY_MAX = 1000;

/** The help text, one command a line (/help). */
export const HELP_LINES: readonly string[] = [
  'Type a line and press Enter to send it to the current room. Commands:',
  '  /join <room>              join a room and make it the current one',
  '  /leave                    leave the current room',
  '  /rooms                    the rooms on the server and how many are in each',
  '  /msg <user> <text>        a direct message',
  '  /me <action>              an action line: "/me waves" shows "* you waves"',
  '  /subject <subject> <text> one message with a subject ("quotes" for spaces)',
  '  /topic <subject>          a subject for the following messages; /topic alone clears it',
  '  /who                      who is in the current room',
  '  /history [n]              the last n messages of the room (default 20)',
  '  /outbox                   your messages not delivered yet; /outbox drop <n> cancels one',
  '  /nick <name>              go on under another name (reconnects)',
  '  /scan, /peers             find instances and peers on the LAN (broadcast mode)',
  '  /trust <user> <number>    broadcast mode: confirm who <user> is by their safety number',
  '  /help                     this text',
  '  /quit                     leave (Ctrl-D or Ctrl-C too)',
  'Start a message with // to send a line that begins with /.',
];

const ALIASES: Record<string, string> = {
  q: 'quit', exit: 'quit', h: 'help', '?': 'help', j: 'join', part: 'leave', m: 'msg', query: 'msg', w: 'who', hist: 'history',
  list: 'rooms', action: 'me', name: 'nick', queue: 'outbox',
};

/** Splits the first word off: `[word, rest]`, rest without its leading spaces. */
function firstWord(s: string): [string, string] {
  const t = s.replace(/^\s+/, '');
  const i = t.search(/\s/);
  return i === -1 ? [t, ''] : [t.slice(0, i), t.slice(i).replace(/^\s+/, '')];
}

/** A subject in quotes ("…" or '…') may hold spaces; otherwise it is one word. */
function takeSubject(s: string): [string, string] | null {
  const t = s.replace(/^\s+/, '');
  const q = t[0];
  if (q === '"' || q === "'") {
    const end = t.indexOf(q, 1);
    if (end === -1) return null;
    return [t.slice(1, end), t.slice(end + 1).replace(/^\s+/, '')];
  }
  return firstWord(t);
}

function validName(value: string, field: string, max: number): string | null {
  try {
    checkName(value, field, max);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function parseCommand(input: string): Command {
  const line = input.replace(/\s+$/, '');
  if (line.trim() === '') return { kind: 'empty' };
  if (!line.startsWith('/')) return { kind: 'say', text: line };
  if (line.startsWith('//')) return { kind: 'say', text: line.slice(1) };
  const [rawName, rest] = firstWord(line.slice(1));
  const name = ALIASES[rawName.toLowerCase()] ?? rawName.toLowerCase();
  const usage = (message: string): Command => ({ kind: 'usage', command: name, message });
  switch (name) {
    case 'quit':
      return { kind: 'quit' };
    case 'help':
      return { kind: 'help' };
    case 'subject': {
      const parts = takeSubject(rest);
      if (!parts || parts[0] === '' || parts[1] === '') return usage('usage: /subject <subject> <message>  (quote a subject with spaces: /subject "lab 3" done?)');
      return { kind: 'subject', subject: parts[0], text: parts[1] };
    }
    case 'topic': {
      const subject = rest.trim();
      if (subject === '') return { kind: 'topic', subject: null };
      return { kind: 'topic', subject: subject.replace(/^(["'])(.*)\1$/, '$2') };
    }
    case 'join': {
      const [room, extra] = firstWord(rest);
      if (room === '' || extra !== '') return usage('usage: /join <room>  (one word)');
      const err = validName(room.replace(/^#/, ''), 'room', DEFAULT_LIMITS.maxRoomLength);
      if (err) return usage(`/join: ${err}`);
      return { kind: 'join', room: room.replace(/^#/, '') };
    }
    case 'leave': {
      const [room, extra] = firstWord(rest);
      if (extra !== '') return usage('usage: /leave  (leaves the current room)');
      return { kind: 'leave', room: room === '' ? null : room.replace(/^#/, '') };
    }
    case 'msg': {
      const [to, text] = firstWord(rest);
      if (to === '' || text === '') return usage('usage: /msg <user> <text>');
      const err = validName(to, 'user', DEFAULT_LIMITS.maxNameLength);
      if (err) return usage(`/msg: ${err}`);
      return { kind: 'msg', to, text };
    }
    case 'me': {
      if (rest.trim() === '') return usage('usage: /me <action>  (e.g. /me waves)');
      return { kind: 'me', text: rest };
    }
    case 'nick': {
      const [nick, extra] = firstWord(rest);
      if (nick === '' || extra !== '') return usage('usage: /nick <name>  (one word)');
      const err = validName(nick, 'name', DEFAULT_LIMITS.maxNameLength);
      if (err) return usage(`/nick: ${err}`);
      return { kind: 'nick', name: nick };
    }
    case 'rooms':
      if (rest !== '') return usage('usage: /rooms  (lists the rooms on the server; /join <room> enters one)');
      return { kind: 'rooms' };
    case 'outbox': {
      if (rest === '') return { kind: 'outbox' };
      const [verb, arg] = firstWord(rest);
      const n = Number(arg);
      if (verb.toLowerCase() !== 'drop' || !Number.isInteger(n) || n < 1) return usage('usage: /outbox  (lists what waits), /outbox drop <n>  (cancels message n)');
      return { kind: 'outbox-drop', n };
    }
    case 'who': {
      const [room] = firstWord(rest);
      return { kind: 'who', room: room === '' ? null : room.replace(/^#/, '') };
    }
    case 'history': {
      if (rest === '') return { kind: 'history', limit: HISTORY_DEFAULT };
      const n = Number(rest);
      if (!Number.isInteger(n) || n < 1) return usage('usage: /history [n]  (n a whole number, at least 1)');
      return { kind: 'history', limit: Math.min(n, HISTORY_MAX) };
    }
    case 'scan':
      return { kind: 'scan' };
    case 'peers':
      return { kind: 'peers' };
    case 'trust': {
      const [name, number] = firstWord(rest);
      if (name === '' || number === '') return usage('usage: /trust <user> <safety number or fingerprint>');
      return { kind: 'trust', name, number };
    }
    default:
      return { kind: 'unknown', name: rawName };
  }
}
