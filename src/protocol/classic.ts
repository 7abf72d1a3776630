/**
 * The classic board's "%" protocol as a pure codec (docs/classic-board.md): bytes in, requests
 * out, answers as bytes. No socket, store or clock here.
 *
 * A request is everything up to its `%`; `%` (0x25) never occurs inside a multi-byte UTF-8
 * sequence, so requests are cut on bytes and only a POST's text is decoded.
 */
import { pyReprTuple } from './pyrepr.js';

/** 4000 bytes or more without a `%` overload the buffer (the original's rule). */
export const CLASSIC_MAX_PENDING = 4000;
/** The original server's port. */
export const CLASSIC_DEFAULT_PORT = 8080;

const PERCENT = 0x25;
const LF = 0x0a;
const CR = 0x0d;

/** The bytes after any leading CR and LF. */
export function trimLeadingNewlines(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && (b[i] === LF || b[i] === CR)) i++;
  return i === 0 ? b : b.subarray(i);
}

/** The answers, as the original spells them where it had one (docs/classic-board.md, "Answers"). */
export const ANSWERS = Object.freeze({
  posted: 'MSGPosting Message!%',
  keepAlive: 'MSGKeep-Alive On%',
  unknown: 'ERRUnknown Command%',
  overloaded: 'ERRBuffer Overloaded%',
  timeout: 'ERRTimeout!%',
  invalidUtf8: 'ERRInvalid UTF-8%',
  tooManyRequests: 'ERRToo Many Requests%',
  tooManyConnections: 'ERRToo Many Connections%',
  boardFull: 'ERRBoard Full%',
  serverError: 'ERRServer Error%',
});
export type AnswerName = keyof typeof ANSWERS;

export interface SplitResult {
  /** Complete requests, without their `%`, in arrival order. */
  requests: Buffer[];
  /** True once 4000 bytes have come without a `%`: nothing more is read after that. */
  overloaded: boolean;
}

/**
 * Cuts a byte stream into `%`-terminated requests, whatever the read boundaries. Partial
 * requests are kept as a list of chunks (no copying per read), joined once their `%` comes.
 */
export class ClassicSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private over = false;
  private trim = false;

  constructor(private readonly maxPending = CLASSIC_MAX_PENDING) {}

  /** Bytes of the unterminated request waiting for its `%`. */
  get pending(): number {
    return this.partBytes;
  }

  get overloaded(): boolean {
    return this.over;
  }

  /** The bytes of the unterminated request, copied (for the trace: a request that never got its `%`). */
  peek(): Buffer {
    return Buffer.concat(this.parts, this.partBytes);
  }

  /**
   * From now on, line breaks before a request are dropped (KEEP% mode, so requests can be typed
   * into nc one per line); a pending request made only of line breaks is dropped too.
   */
  trimNewlines(): void {
    this.trim = true;
    if (this.parts.length > 0) {
      const rest = trimLeadingNewlines(Buffer.concat(this.parts, this.partBytes));
      this.parts = rest.length > 0 ? [rest] : [];
      this.partBytes = rest.length;
    }
  }

  push(chunk: Buffer): SplitResult {
    const requests: Buffer[] = [];
    if (this.over) return { requests, overloaded: true };
    let start = 0;
    for (;;) {
      if (this.trim && this.partBytes === 0) while (start < chunk.length && (chunk[start] === LF || chunk[start] === CR)) start++;
      const end = chunk.indexOf(PERCENT, start);
      const segment = end === -1 ? chunk.length - start : end - start;
      // Byte-exact rule, independent of read sizes: the 4000th byte without a `%` overloads.
      if (this.partBytes + segment >= this.maxPending) {
        this.over = true;
        this.parts = [];
        this.partBytes = 0;
        return { requests, overloaded: true };
      }
      if (end === -1) {
        if (segment > 0) {
          this.parts.push(chunk.subarray(start));
          this.partBytes += segment;
        }
        return { requests, overloaded: false };
      }
      const tail = chunk.subarray(start, end);
      if (this.parts.length === 0) requests.push(tail);
      else {
        this.parts.push(tail);
        requests.push(Buffer.concat(this.parts, this.partBytes + segment));
        this.parts = [];
        this.partBytes = 0;
      }
      start = end + 1;
    }
  }
}

export type ClassicRequest =
  | { type: 'post'; text: string }
  /** `GET%` (anything but digits between GET and % is ignored), or `GET<n>%`: only the newest n. */
  | { type: 'get'; newest: number | null }
  | { type: 'keep' }
  | { type: 'invalid-utf8' }
  | { type: 'unknown' };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function startsWith(b: Buffer, ascii: string): boolean {
  if (b.length < ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** Reads one request (its bytes without the `%`). Commands are case-sensitive, as in the original. */
export function parseRequest(body: Buffer): ClassicRequest {
  if (startsWith(body, 'POST')) {
    try {
      return { type: 'post', text: utf8.decode(body.subarray(4)) };
    } catch {
      return { type: 'invalid-utf8' };
    }
  }
  if (startsWith(body, 'GET')) {
    const rest = body.subarray(3);
    if (rest.length > 0 && rest.length <= 15 && rest.every((c) => c >= 0x30 && c <= 0x39)) {
      return { type: 'get', newest: Number(rest.toString('latin1')) };
    }
    return { type: 'get', newest: null };
  }
  if (body.length === 4 && startsWith(body, 'KEEP')) return { type: 'keep' };
  return { type: 'unknown' };
}

/** The bytes of a fixed answer. */
export function answer(name: AnswerName): Buffer {
  return Buffer.from(ANSWERS[name], 'latin1');
}

/**
 * GET's answer `MSG[(1, 'a'), (2, 'b')]%`, in pieces so a long list can be streamed:
 * `listStart`, then `listItem` per row (the first without a separator), then `listEnd`.
 */
export const listStart = 'MSG[';
export const listEnd = ']%';
export function listItem(id: number, text: string, first: boolean): string {
  return (first ? '' : ', ') + pyReprTuple(id, text);
}

/** The whole GET answer for rows already in hand. */
export function encodeList(rows: Iterable<readonly [number, string]>): Buffer {
  let out = listStart;
  let first = true;
  for (const [id, text] of rows) {
    out += listItem(id, text, first);
    first = false;
  }
  return Buffer.from(out + listEnd, 'utf8');
}
