/**
 * What answered when the address is not a lab93 chat server (issue 11, item 5): a user who points
 * `lab93 connect` at the classic board's port, a web server or an SSH port must be told so once,
 * not left reconnecting forever with the message stuck in the outbox. Pure.
 *
 * A lab93 server answers `hello` with base64 frames (`ey…\n`). The classic board waits for a `%`
 * that never comes and, after its request timeout, answers `ERRTimeout!%` and closes; a web server
 * answers `HTTP/1.1 400`; an SSH server greets with `SSH-2.0-…`; an echo service sends our hello
 * back.
 */
import { sanitizeLine } from './sanitize.js';

/** "it answered like the classic board", for `HOST:PORT is not a lab93 chat server (…)`. */
export function describeWrongServer(answer: Buffer, sent: Buffer): string {
  const text = answer.toString('latin1');
  if (/^(MSG|ERR)[^%]*%/.test(text)) return 'it answered like the classic board';
  if (/^HTTP\/\d/.test(text)) return 'it answered like a web server';
  if (text.startsWith('SSH-')) return 'it answered like an SSH server';
  const n = Math.min(answer.length, sent.length);
  if (n > 0 && answer.subarray(0, n).equals(sent.subarray(0, n))) return 'it sent back what it was sent';
  const shown = sanitizeLine(answer.toString('utf8')).replace(/\s+/g, ' ').trim().slice(0, 40);
  return shown === '' ? 'it answered with bytes that are not lab93 frames' : `it answered "${shown}"`;
}

/** The whole line: `lab-pc:8080 is not a lab93 chat server (it answered like the classic board)`. */
export function wrongServerLine(host: string, port: number, answer: Buffer, sent: Buffer): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${h}:${port} is not a lab93 chat server (${describeWrongServer(answer, sent)})`;
}

/** Socket error codes a person can read: "connection refused", not ECONNREFUSED. */
const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens on that port',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be looked up (no DNS?)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
};

/** Codes that say at once that nothing will answer there now: `send` and `tail` stop on them. */
export const REFUSED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

export function describeNetError(code: string): string {
  return NET_ERRORS[code] ?? code;
}
